"""The LSTM surrogate: reads the first part of a learning curve and forecasts quantiles of Dice at any larger size.

A small uni-directional LSTM reads the observed points in order of size, each as features of (log n, Dice, step
from the previous point); a head takes its final state and a query size ``log(n_query / n_last)`` and returns
quantiles of Dice at that size. Quantiles are monotone by construction (softplus increments on the logit scale,
anchored at the last observed Dice) and stay in [0, 1]. It is trained with the pinball loss on synthetic curves from
:mod:`samplecast.forecast.prior` (and optionally measured curves), and its intervals can carry a split-conformal
calibration learned on held-out real curves.

The shipped model lives in ``samplecast/assets/``: ``surrogate.pt`` (a state dict, loaded with
``torch.load(..., weights_only=True)``) and ``surrogate.json`` (architecture, training settings, calibration).

Example:
    >>> from samplecast.forecast.surrogate import LSTMForecaster
    >>> f = LSTMForecaster().fit([16, 80, 160], [0.45, 0.61, 0.68])
    >>> q = f.predict_quantiles([400, 800])
    >>> q.shape, bool((q[:, 1:] >= q[:, :-1]).all())
    ((2, 7), True)
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from samplecast.curves import Curve, check_points, load_curves
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.calibration import IntervalCalibration, interpolate_levels
from samplecast.forecast.prior import CurveBank, bank_from_curves, sample_prior

#: Quantile levels the network is trained on; other levels are interpolated (:func:`interpolate_levels`).
TRAIN_LEVELS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98)
#: Features per observed point (see :func:`encode_points`).
N_FEATURES = 6
#: Fewest observed points the surrogate forecasts from.
MIN_POINTS = 2
#: Weight in the loss of targets at or before the last observed size, relative to forecasts beyond it.
INSIDE_WEIGHT = 0.25
_EPS = 1e-3


@dataclass(frozen=True)
class SurrogateConfig:
    """Architecture of the surrogate network (stored in its JSON so weights load into the right shape).

    Args:
        hidden: LSTM state size.
        layers: stacked LSTM layers.
        head_width: width of the head's hidden layers.
        levels: the trained quantile levels, increasing.
    """

    hidden: int = 128
    layers: int = 2
    head_width: int = 128
    levels: tuple[float, ...] = TRAIN_LEVELS

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 1 or self.head_width < 1:
            raise ValueError("hidden, layers and head_width must be positive, "
                             f"got {self.hidden}, {self.layers}, {self.head_width}")
        if list(self.levels) != sorted(set(self.levels)) or not 0 < self.levels[0] or not self.levels[-1] < 1:
            raise ValueError(f"levels must be increasing and inside (0, 1), got {self.levels}")
        if 0.5 not in self.levels:
            raise ValueError("levels must include the median, 0.5")


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run (stored in the model's JSON, so a run can be repeated).

    Args:
        epochs: passes over the corpus; each pass shows every curve once, cut at a random prefix.
        batch_size: curves per optimisation step.
        lr: peak learning rate of AdamW (one-cycle schedule).
        weight_decay: AdamW weight decay.
        seed: seed of the initialisation and of the prefixes drawn.
        threads: CPU threads torch may use; one is fastest for a model this small (more threads mostly wait on
            each other, and on a shared machine slow down by orders of magnitude).
    """

    epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.threads < 1:
            raise ValueError("epochs, batch_size, threads must be positive integers and lr positive")


class SurrogateNet(nn.Module):
    """LSTM over observed points plus a quantile head queried at any size.

    Args:
        config: the architecture.

    Shapes: ``features (B, L, N_FEATURES)`` padded after each curve's ``lengths (B,)`` points; ``last (B, 2)`` the
    last observed (log n, Dice); ``query (B, Q)`` values of ``log(n_query / n_last)``. Returns Dice quantiles
    ``(B, Q, len(levels))``, non-decreasing along the last axis.
    """

    def __init__(self, config: SurrogateConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(N_FEATURES, config.hidden, num_layers=config.layers, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(config.hidden + 4, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, len(config.levels)),
        )

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor,
                query: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(features)
        final = states[torch.arange(states.shape[0]), lengths - 1]  # (B, H): state after each curve's last point
        anchor = torch.logit(last[:, 1].clamp(_EPS, 1 - _EPS))  # (B,)
        q = query.unsqueeze(-1)  # (B, Q, 1)
        context = torch.stack([last[:, 0] / 8.0, last[:, 1]], dim=-1).unsqueeze(1).expand(-1, q.shape[1], -1)
        inputs = torch.cat([final.unsqueeze(1).expand(-1, q.shape[1], -1), q / 3.0, (q / 3.0) ** 2, context], -1)
        raw = self.head(inputs)  # (B, Q, K)
        steps = torch.nn.functional.softplus(raw[..., 1:])
        logits = anchor[:, None, None] + raw[..., :1] + torch.cat([torch.zeros_like(raw[..., :1]),
                                                                   torch.cumsum(steps, -1)], -1)
        return torch.sigmoid(logits)


def encode_points(n: np.ndarray, dice: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of observed points, ``(B, L, N_FEATURES)``, and the last point's ``(log n, Dice)``, ``(B, 2)``.

    Per point: ``log(n / n_last) / 3``, ``log(n) / 8``, Dice, the step in log n from the previous point, the change
    in Dice from it (both 0 at the first point), and a first-point flag. Padding (beyond ``lengths``) is zeroed.
    """
    log_n = np.log(np.where(np.isfinite(n), n, 1.0))
    d = np.nan_to_num(dice)
    rows = np.arange(len(lengths))
    last_log_n, last_dice = log_n[rows, lengths - 1], d[rows, lengths - 1]
    step = np.diff(log_n, axis=1, prepend=log_n[:, :1])
    change = np.diff(d, axis=1, prepend=d[:, :1])
    first = np.zeros_like(d)
    first[:, 0] = 1.0
    features = np.stack([(log_n - last_log_n[:, None]) / 3.0, log_n / 8.0, d, step, change, first], axis=-1)
    valid = np.arange(n.shape[1])[None, :] < lengths[:, None]
    features[~valid] = 0.0
    return features.astype(np.float32), np.stack([last_log_n, last_dice], -1).astype(np.float32)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 levels: torch.Tensor) -> torch.Tensor:
    """Weighted mean pinball (quantile) loss: ``pred (B, Q, K)``, ``target, weight (B, Q)``, ``levels (K,)``."""
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(levels * diff, (levels - 1) * diff).mean(-1)
    return (loss * weight).sum() / weight.sum().clamp_min(1e-8)


@dataclass
class Surrogate:
    """A trained surrogate: the network, its settings and (optionally) the conformal calibration of its intervals.

    Args:
        net: the network, in eval mode.
        training: how it was trained (``TrainingConfig`` fields plus corpus description), for the record.
        calibration: interval widening learned on held-out curves, or ``None``.
    """

    net: SurrogateNet
    training: dict = field(default_factory=dict)
    calibration: IntervalCalibration | None = None

    @property
    def levels(self) -> tuple[float, ...]:
        return self.net.config.levels

    def raw_quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Uncalibrated quantiles at the trained levels for one observed curve: ``(len(query), len(levels))``."""
        features, last = encode_points(n[None, :], dice[None, :], np.array([len(n)]))
        log_ratio = np.log(query) - last[0, 0]
        with torch.inference_mode():
            out = self.net(torch.from_numpy(features), torch.tensor([len(n)]), torch.from_numpy(last),
                           torch.from_numpy(log_ratio.astype(np.float32))[None, :])
        return out[0].double().numpy()

    def quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray,
                  levels: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``query`` given the observed curve, calibrated where a calibration is stored."""
        values = self.raw_quantiles(n, dice, query)
        if self.calibration is not None:
            values = self.calibration.apply(self.levels, values, np.log(query / n[-1]))
        return tidy_quantiles(interpolate_levels(self.levels, values, levels))

    def with_calibration(self, calibration: IntervalCalibration | None) -> Surrogate:
        """The same network with another calibration (``None`` for the raw intervals)."""
        return Surrogate(self.net, self.training, calibration)

    def describe(self) -> dict:
        """Everything but the weights, as written to the JSON beside them."""
        return {
            "format": "samplecast-surrogate/1",
            "architecture": {**asdict(self.net.config), "levels": list(self.levels), "features": N_FEATURES},
            "training": self.training,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


def new_surrogate(config: SurrogateConfig | None = None, seed: int = 0) -> Surrogate:
    """An untrained surrogate with reproducibly initialised weights."""
    torch.manual_seed(seed)
    return Surrogate(SurrogateNet(config or SurrogateConfig()).eval())


def save_surrogate(surrogate: Surrogate, path: str | Path) -> Path:
    """Write the weights to ``path`` (a ``.pt`` state dict) and the settings to the ``.json`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(surrogate.net.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps(surrogate.describe(), indent=2) + "\n")
    return path


def shipped_weights() -> Path:
    """Path of the surrogate weights shipped with samplecast."""
    return Path(str(resources.files("samplecast") / "assets" / "surrogate.pt"))


def load_surrogate(path: str | Path | None = None) -> Surrogate:
    """Load a surrogate from a ``.pt`` file and its ``.json`` (default: the shipped one). Cached per path.

    Raises:
        InputError: when a file is missing or is not a surrogate written by :func:`save_surrogate`.
    """
    return _load(str(Path(path).resolve() if path is not None else shipped_weights()))


@lru_cache(maxsize=8)
def _load(path: str) -> Surrogate:
    weights, meta_path = Path(path), Path(path).with_suffix(".json")
    problems = [f"{p}: file not found" for p in (weights, meta_path) if not p.exists()]
    if problems:
        raise InputError(problems + [f"{weights}: a surrogate is a .pt file with a .json of the same name beside it "
                                     "(written by `samplecast surrogate train`)"])
    try:
        meta = json.loads(meta_path.read_text())
        arch = meta["architecture"]
        config = SurrogateConfig(hidden=arch["hidden"], layers=arch["layers"], head_width=arch["head_width"],
                                 levels=tuple(arch["levels"]))
        net = SurrogateNet(config)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{meta_path}: not a surrogate description ({exc})") from None
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{weights}: weights do not load into the surrogate in {meta_path.name} ({first})") from None
    calibration = meta.get("calibration")
    return Surrogate(net.eval(), meta.get("training", {}),
                     IntervalCalibration.from_dict(calibration) if calibration else None)


def sample_batch(bank: CurveBank, rows: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """A training batch: each curve cut at a random prefix of at least :data:`MIN_POINTS` points, every point a target.

    Points beyond the prefix are forecasts (weight 1); points inside it weigh :data:`INSIDE_WEIGHT`.
    """
    n, dice, lengths = bank.n[rows], bank.dice[rows], bank.lengths[rows]
    keep = rng.integers(MIN_POINTS, np.maximum(lengths, MIN_POINTS + 1))  # in [2, length - 1]
    keep = np.minimum(keep, lengths)
    cols = np.arange(n.shape[1])[None, :]
    observed = cols < keep[:, None]
    features, last = encode_points(np.where(observed, n, np.nan), np.where(observed, dice, np.nan), keep)
    valid = cols < lengths[:, None]
    log_ratio = np.where(valid, np.log(np.where(valid, n, 1.0)) - last[:, :1], 0.0)
    weight = np.where(valid, np.where(observed, INSIDE_WEIGHT, 1.0), 0.0)
    return {
        "features": torch.from_numpy(features), "lengths": torch.from_numpy(keep.astype(np.int64)),
        "last": torch.from_numpy(last), "query": torch.from_numpy(log_ratio.astype(np.float32)),
        "target": torch.from_numpy(np.nan_to_num(dice).astype(np.float32)),
        "weight": torch.from_numpy(weight.astype(np.float32)),
    }


def train_surrogate(
    corpus: CurveBank,
    *,
    settings: TrainingConfig | None = None,
    start: Surrogate | None = None,
    config: SurrogateConfig | None = None,
    validation: CurveBank | None = None,
    describe_corpus: str = "",
    progress: Callable[[int, int, float, float | None], None] | None = None,
) -> tuple[Surrogate, list[dict]]:
    """Train (or fine-tune ``start``) on ``corpus`` with the pinball loss; return the model and per-epoch history.

    ``progress(epoch, epochs, train_loss, validation_loss)`` is called after each epoch. The result carries no
    calibration: fit one on held-out curves (:meth:`IntervalCalibration.fit`) and attach it with
    :meth:`Surrogate.with_calibration`.
    """
    settings = settings or TrainingConfig()
    if len(corpus) == 0:
        raise ValueError("the training corpus is empty")
    torch.set_num_threads(settings.threads)
    model = start.net if start is not None else new_surrogate(config, settings.seed).net
    net = SurrogateNet(model.config)
    net.load_state_dict(model.state_dict())
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    steps_per_epoch = max(1, math.ceil(len(corpus) / settings.batch_size))
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings.lr, pct_start=0.1,
                                                   total_steps=settings.epochs * steps_per_epoch)
    levels = torch.tensor(net.config.levels, dtype=torch.float32)
    history = []
    for epoch in range(settings.epochs):
        net.train()
        order, total = rng.permutation(len(corpus)), 0.0
        for step in range(steps_per_epoch):
            batch = sample_batch(corpus, order[step * settings.batch_size:(step + 1) * settings.batch_size], rng)
            pred = net(batch["features"], batch["lengths"], batch["last"], batch["query"])
            loss = pinball_loss(pred, batch["target"], batch["weight"], levels)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
        val = evaluate_loss(Surrogate(net), validation) if validation is not None else None
        history.append({"epoch": epoch + 1, "train_loss": total / steps_per_epoch, "validation_loss": val})
        if progress is not None:
            progress(epoch + 1, settings.epochs, total / steps_per_epoch, val)
    record = {**asdict(settings), "corpus": describe_corpus, "curves": len(corpus),
              "final_train_loss": history[-1]["train_loss"], "final_validation_loss": history[-1]["validation_loss"],
              "fine_tuned_from": (start.training.get("corpus", "") if start is not None else None)}
    return Surrogate(net.eval(), record), history


def load_training_curves(paths: Sequence[str | Path], *, average_seeds: bool = False) -> list[Curve]:
    """Read several curves tables into one list, reporting the problems of every file in one :class:`InputError`."""
    curves, problems = [], []
    for path in paths:
        try:
            curves.extend(load_curves(path, average_seeds=average_seeds))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return curves


def train_on_curves(
    curves: Sequence[Curve],
    *,
    start: Surrogate | None,
    settings: TrainingConfig | None = None,
    prior_curves: int = 20_000,
    calibration_curves: Sequence[Curve] = (),
    progress: Callable[[int, int, float, float | None], None] | None = None,
) -> Surrogate:
    """Fine-tune ``start`` (or train a new surrogate when ``None``) on a user's complete learning curves.

    The user's curves are repeated so they make up about a quarter of each epoch, the rest being ``prior_curves``
    synthetic curves that keep the model from forgetting what it learned. When ``calibration_curves`` (held out
    from ``curves``) are given, the intervals are calibrated on them; otherwise the result has raw intervals.

    Raises:
        InputError: when no curve has more than :data:`MIN_POINTS` sizes (nothing to learn a forecast from).
    """
    usable = [c for c in curves if len(c.n) > MIN_POINTS]
    if not usable:
        raise InputError(f"training curves: none has more than {MIN_POINTS} sizes; a curve teaches the surrogate "
                         "only where it continues beyond a prefix")
    settings = settings or TrainingConfig(epochs=5, lr=1e-3)
    bank = bank_from_curves(usable)
    if prior_curves > 0:
        repeats = max(1, math.ceil(prior_curves / (3 * len(usable))))
        own = bank_from_curves(list(usable) * repeats)
        bank = sample_prior(prior_curves, seed=settings.seed).concat(own)
    described = f"{len(usable)} user curves" + (f" + prior: {prior_curves} synthetic curves" if prior_curves else "")
    surrogate, _ = train_surrogate(bank, settings=settings, start=start, describe_corpus=described, progress=progress)
    if calibration_curves:
        surrogate = surrogate.with_calibration(calibrate_surrogate(surrogate, calibration_curves))
    return surrogate


def evaluate_loss(surrogate: Surrogate, bank: CurveBank, seed: int = 12345) -> float:
    """Mean pinball loss of ``surrogate`` on ``bank``, each curve cut at a random (seeded) prefix."""
    rng = np.random.default_rng(seed)
    levels = torch.tensor(surrogate.levels, dtype=torch.float32)
    net, was_training = surrogate.net, surrogate.net.training
    net.eval()
    total, weight = 0.0, 0.0
    with torch.inference_mode():
        for start in range(0, len(bank), 4096):
            batch = sample_batch(bank, np.arange(start, min(start + 4096, len(bank))), rng)
            pred = net(batch["features"], batch["lengths"], batch["last"], batch["query"])
            w = float(batch["weight"].sum())
            total += float(pinball_loss(pred, batch["target"], batch["weight"], levels)) * w
            weight += w
    net.train(was_training)
    return total / weight


def calibrate_surrogate(surrogate: Surrogate, curves: Sequence[Curve],
                        curve_weights: Sequence[float] | None = None) -> IntervalCalibration:
    """Split-conformal calibration of the surrogate's intervals on held-out complete curves.

    Every prefix of every curve (from :data:`MIN_POINTS` points) forecasts each of the curve's later sizes with the
    raw network; the factors that would have made those forecasts' intervals cover are learned per distance bin.
    ``curve_weights`` (one per curve) weigh each curve's forecasts, e.g. so that every source counts equally.
    """
    weights = np.ones(len(curves)) if curve_weights is None else np.asarray(curve_weights, dtype=float)
    rows, truth, ratio, weight = [], [], [], []
    for curve, w in zip(curves, weights):
        for k in range(MIN_POINTS, len(curve.n)):
            rows.append(surrogate.raw_quantiles(curve.n[:k], curve.dice[:k], curve.n[k:]))
            truth.append(curve.dice[k:])
            ratio.append(np.log(curve.n[k:] / curve.n[k - 1]))
            weight.append(np.full(len(curve.n) - k, w))
    if not rows:
        raise InputError(f"calibration needs curves with more than {MIN_POINTS} sizes")
    return IntervalCalibration.fit(surrogate.levels, np.concatenate(rows), np.concatenate(truth),
                                   np.concatenate(ratio), sample_weight=np.concatenate(weight))


class LSTMForecaster(CurveForecaster):
    """The ``lstm`` method: the LSTM surrogate as a :class:`~samplecast.forecast.base.CurveForecaster`.

    ``fit`` only stores the observed curve (the network is pre-trained); ``predict_quantiles`` runs the network.
    Works from two points on, at any sizes and any quantile levels in (0, 1).

    Args:
        surrogate: a loaded :class:`Surrogate`, a path to a ``.pt`` file, or ``None`` for the shipped model.
    """

    name = "lstm"

    def __init__(self, surrogate: Surrogate | str | Path | None = None):
        self.surrogate = surrogate

    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> LSTMForecaster:
        self.n_, self.dice_ = check_points(n, dice, min_points=MIN_POINTS, name=self.name)
        self.model_ = self.surrogate if isinstance(self.surrogate, Surrogate) else load_surrogate(self.surrogate)
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        return self.model_.quantiles(self.n_, self.dice_, as_sizes(n), quantiles)
