"""The ``ensemble`` method: forecasters stacked with constant weights and a shape-keeping interval correction, both
learned by backtest on real curves.

Each member forecasts quantiles; the ensemble averages them level by level (quantile averaging, or Vincentization)
with one weight per member, the same at every size, then corrects the intervals with a
:class:`~samplecast.forecast.calibration.SpreadCalibration`. Every member is built to have a non-decreasing median,
concave in ``log n`` beyond the data, and upper quantiles that never fall as ``n`` grows; a weighted average keeps
all three, and the correction is continuous and non-decreasing in the extrapolation distance, so the ensemble has
them by construction. (Weights that switched with the extrapolation distance gave far forecasts to a family without a
plateau and made the median speed up at large sizes.)

The weights minimise the mean absolute error of the stacked median at the final size of held-out curves
(:func:`samplecast.forecast.evaluate.backtest`); a single member is a vertex of that simplex, so on the curves it was
learned on the stack's median is never worse than its best member's. The correction is then learned for the pinball
loss of all the stacked quantiles.

The shipped weights are ``samplecast/assets/ensemble.json``, learned by
:func:`samplecast.forecast.build.build_forecaster` (``samplecast surrogate build``) on the real segmentation curves in
``data/``, each image set weighing the same.

Example:
    >>> from samplecast.forecast.ensemble import EnsembleForecaster
    >>> f = EnsembleForecaster().fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])
    >>> f.predict_quantiles([800]).shape
    (1, 7)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from samplecast import schema
from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.files import put_text, shipped
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, clone, quantile_name, tidy_quantiles
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.parametric import LogLinearPowerLaw, ParametricForecaster

#: Pull of the weights' logits towards each other: a tie-breaker that keeps the optimum finite (absolute errors are
#: about 0.02, so this costs about 0.5% of the loss for a member weighted e^3 times another).
DEFAULT_PENALTY = 1e-5
FORMAT = "samplecast-ensemble/2"
#: How far the weights of a file may sum from 1 (they are written as floats).
WEIGHT_SUM_TOLERANCE = 1e-6


def default_members() -> list[CurveForecaster]:
    """The members stacked by default: ``pow3`` (a plateau, and the family that forecasts real segmentation curves
    best from a 10% prefix), ``pow2`` (no plateau: the counterweight while a curve is still far from its plateau)
    and the model average of the saturating families (:class:`~samplecast.forecast.average.ModelAverage`, the best
    from 20% on).

    The LSTM surrogate is not among them: its forecasts do not keep the shapes above (its median can fall or speed up
    beyond the data), and loading it costs seconds. Pass ``members`` (with weights learned for them) to stack it or
    others.
    """
    from samplecast.forecast.average import ModelAverage

    return [ParametricForecaster("pow3"), LogLinearPowerLaw(), ModelAverage()]


@dataclass(frozen=True)
class StackingWeights:
    """One weight per member (by member name) and the correction of the stacked intervals.

    Args:
        members: member names (each forecaster's ``name``).
        weights: one weight per member, summing to 1.
        calibration: correction of the stacked quantiles, or ``None``.
        source: what the weights were learned on, for the record.
    """

    members: tuple[str, ...]
    weights: tuple[float, ...]
    calibration: SpreadCalibration | None = None
    source: str = ""

    @classmethod
    def fit(cls, results: pd.DataFrame, members: Sequence[str], *, penalty: float = DEFAULT_PENALTY,
            balance: str | None = None, source: str = "") -> StackingWeights:
        """Learn weights and correction from a backtest table holding every member's forecasts.

        Only (curve, cutoff) cases forecast by every member are used. With ``balance`` naming a column (e.g. the
        image set of each curve), every value of that column weighs the same in total, however many cases it has; a
        case is then a (source, curve, cutoff), so sources may reuse curve labels.

        Raises:
            InputError: when a member is missing from the table, no case has all members, or a case is forecast
                twice by a member (curve labels repeated without a ``balance`` column to tell them apart).
        """
        values, truth, ratio, groups = _cases(results, members, balance)
        counts = pd.Series(groups).value_counts()
        case_weight = 1.0 / counts.loc[groups].to_numpy(float)
        weights = _simplex_weights(values, truth, case_weight, penalty)
        stacked = np.einsum("cmk,m->ck", values, weights)
        calibration = SpreadCalibration.fit(QUANTILES, stacked, truth, ratio, sample_weight=case_weight)
        return cls(tuple(members), tuple(float(w) for w in weights), calibration, source)

    def combine(self, forecasts: dict[str, np.ndarray], levels: Sequence[float], log_ratio: np.ndarray) -> np.ndarray:
        """Stack members' quantiles at ``levels`` (which include 0.5; ``name -> (s, K)``; absent members are left out
        and the others' weights renormalised) for queries at ``log(n_query / n_last)``, then correct the intervals.
        Shape ``(s, K)``."""
        present = [(m, w) for m, w in zip(self.members, self.weights) if m in forecasts]
        if not present:
            raise ValueError(f"no forecasts from any member of {', '.join(self.members)}")
        total = sum(w for _, w in present)
        if total <= 0:  # all weight was on absent members
            present, total = [(m, 1.0) for m, _ in present], float(len(present))
        stacked = sum(w / total * forecasts[m] for m, w in present)
        if self.calibration is not None:
            stacked = self.calibration.apply(levels, stacked, log_ratio)
        return tidy_quantiles(stacked)

    def to_dict(self) -> dict:
        """Plain-JSON form (``assets/ensemble.json``, :class:`EnsembleFile`)."""
        return {"format": FORMAT, "members": list(self.members), "weights": list(self.weights),
                "source": self.source, "calibration": None if self.calibration is None else self.calibration.to_dict()}

    @classmethod
    def from_dict(cls, data: object, origin: str = "ensemble weights") -> StackingWeights:
        """Inverse of :meth:`to_dict`, checked against :class:`EnsembleFile`.

        Raises:
            InputError: one line per problem, each naming ``origin`` and the field.
        """
        checked = schema.load(EnsembleFile, data, origin)
        return cls(checked.members, checked.weights, checked.calibration, checked.source)

    def save(self, path: str | Path) -> Path:
        """Write the weights as JSON (put in place atomically)."""
        return put_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


@dataclass(frozen=True)
class EnsembleFile:
    """The schema of ``ensemble.json``: the format, one non-negative weight per member (weights summing to 1,
    members named once each), the correction of the stacked intervals, what the weights were
    learned on, and the id of the forecaster build that wrote it (:mod:`samplecast.forecast.folder`)."""

    format: str
    members: tuple[str, ...] = field(metadata=schema.NON_EMPTY)
    weights: tuple[float, ...] = field(metadata=schema.SIZE)
    calibration: SpreadCalibration | None = None
    source: str = field(default="", metadata={"max_length": 100_000})
    build: str | None = None
    SAME_LENGTH = ("members", "weights")

    def __post_init__(self) -> None:
        problems = [] if self.format == FORMAT else [f"format {self.format!r} is not {FORMAT}"]
        repeated = sorted({m for m in self.members if self.members.count(m) > 1})
        if repeated:
            problems.append(f"members: {', '.join(map(repr, repeated))} named more than once")
        if abs(sum(self.weights) - 1.0) > WEIGHT_SUM_TOLERANCE:
            problems.append(f"weights: sum to {sum(self.weights):g}, not 1")
        if problems:
            raise InputError(problems)


def shipped_weights_path() -> Path:
    """Path of the stacking weights shipped with samplecast."""
    return shipped("ensemble.json")


def load_stacking_weights(path: str | Path | None = None) -> StackingWeights:
    """Read stacking weights (default: the shipped ones). Cached per path and modification time, so a rewritten
    file is read again.

    Raises:
        InputError: when the file is missing or is not stacking weights.
    """
    resolved = Path(path).resolve() if path is not None else shipped_weights_path()
    if not resolved.exists():
        raise InputError(f"{resolved}: file not found; expected ensemble weights written by StackingWeights.save")
    status = resolved.stat()
    return _load(str(resolved), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> StackingWeights:
    """Read one version of a weights file (``mtime_ns`` and ``size`` only key the cache)."""
    return StackingWeights.from_dict(schema.read_json(path), path)


class EnsembleForecaster(CurveForecaster):
    """Stacked quantile forecast of several forecasters, with weights and an interval correction learned by backtest.

    Members that cannot fit the observed points (too few for their parameters) are left out and the weights of the
    others renormalised.

    Args:
        members: unfitted forecasters (cloned before fitting), each named in the weights; ``None`` for
            :func:`default_members`.
        weights: :class:`StackingWeights`, a path to their JSON, or ``None`` for the shipped ones.

    Attributes after ``fit``: ``members_`` (dict name -> fitted forecaster), ``stacking_`` (the weights used),
    ``n_last_`` (the largest observed size).

    Example:
        >>> from samplecast.forecast.parametric import LogLinearPowerLaw, ParametricForecaster
        >>> f = EnsembleForecaster([ParametricForecaster("pow3"), LogLinearPowerLaw()])
        >>> f.fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72]).predict([800]).shape
        (1,)
    """

    name = "ensemble"

    def __init__(self, members: Sequence[CurveForecaster] | None = None,
                 weights: StackingWeights | str | Path | None = None):
        self.members = members
        self.weights = weights

    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> EnsembleForecaster:
        stacking = self.weights if isinstance(self.weights, StackingWeights) else load_stacking_weights(self.weights)
        members = list(self.members) if self.members is not None else default_members()
        unweighted = [m.name for m in members if m.name not in stacking.members]
        if unweighted:
            where = self.weights if isinstance(self.weights, (str, Path)) else "ensemble"
            raise InputError(f"{where}: no weight for {', '.join(unweighted)}; the weights are for "
                             f"{', '.join(stacking.members)} (learn weights with StackingWeights.fit)")
        n, dice = check_points(n, dice, name=self.name)
        self.members_ = {}
        for member in members:
            try:
                self.members_[member.name] = clone(member).fit(n, dice, sd)
            except InputError:  # too few points for this member: the others carry its weight
                continue
        if not self.members_:
            raise InputError(f"{self.name}: no member could fit {len(n)} points")
        self.stacking_ = stacking
        self.n_last_ = float(n[-1])
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        sizes = as_sizes(n)
        levels = sorted(set(float(q) for q in quantiles) | {0.5})
        forecasts = {m: f.predict_quantiles(sizes, levels) for m, f in self.members_.items()}
        stacked = self.stacking_.combine(forecasts, levels, np.log(sizes / self.n_last_))
        return stacked[:, [levels.index(float(q)) for q in quantiles]]


def _cases(results: pd.DataFrame, members: Sequence[str],
           balance: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backtest cases forecast by every member: quantiles ``(c, M, K)``, truth ``(c,)``, ``log(n_final / n_cut)``
    and the value of the ``balance`` column of each case (all equal without one)."""
    missing = [m for m in members if m not in set(results["method"])]
    if missing:
        raise InputError(f"backtest table: no forecasts by {', '.join(missing)}; run the backtest with every member")
    columns = [quantile_name(q) for q in QUANTILES]
    keys = ([balance] if balance is not None else []) + ["curve", "cutoff"]
    rows = results[results["method"].isin(members)]
    repeated = rows.duplicated(keys + ["method"])
    if repeated.any():
        first = rows[repeated].iloc[0]
        raise InputError(f"backtest table: curve {first['curve']!r} is forecast more than once by {first['method']} "
                         f"at cutoff {first['cutoff']:g}; give curves unique labels"
                         + ("" if balance is not None else " or name the column that tells them apart (balance=)"))
    table = rows.pivot(index=keys, columns="method", values=columns).dropna()
    if table.empty:
        raise InputError("backtest table: no (curve, cutoff) case was forecast by every member")
    values = np.stack([np.stack([table[(c, m)].to_numpy() for c in columns], -1) for m in members], 1)
    meta = results.drop_duplicates(keys).set_index(keys, drop=False).loc[table.index]
    ratio = np.log(meta["n_final"].to_numpy(float) / meta["n_cut"].to_numpy(float))
    groups = meta[balance].astype(str).to_numpy() if balance is not None else np.full(len(meta), "all")
    return values, meta["truth"].to_numpy(float), ratio, groups


def _simplex_weights(values: np.ndarray, truth: np.ndarray, case_weight: np.ndarray, penalty: float) -> np.ndarray:
    """Weights on the simplex minimising the weighted mean absolute error of the stacked median
    ``sum_m w_m values[:, m, median]`` (softmax logits, with a small pull of the logits together so the optimum is
    finite; Nelder-Mead, as the loss has kinks).

    Every vertex (a single member) is a candidate and a start, as is the centre, so the result is never worse on these
    cases than the best single member.
    """
    from scipy import optimize  # learning only: forecasting never imports it

    medians = values[:, :, QUANTILES.index(0.5)]
    members = values.shape[1]

    def loss(w: np.ndarray) -> float:
        return float(np.sum(case_weight * np.abs(truth - medians @ w)) / np.sum(case_weight))

    def objective(logits: np.ndarray) -> float:
        return loss(_softmax(logits)) + penalty * float(np.sum((logits - logits.mean()) ** 2))

    candidates = [np.eye(members)[m] for m in range(members)]
    for start in [np.zeros(members)] + [4.0 * np.eye(members)[m] for m in range(members)]:
        res = optimize.minimize(objective, start, method="Nelder-Mead")
        candidates.append(_softmax(res.x))
    return min(candidates, key=loss)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()

