"""The ``ensemble`` method: the LSTM surrogate and parametric families, stacked with weights learned by backtest.

Each member forecasts quantiles; the ensemble averages them level by level (quantile averaging) with weights that
depend on how far it extrapolates (``log(n_query / n_last)``: learned per bin, interpolated between bins), then
rescales its intervals by one conformal stretch learned for the 80% interval. Weights and calibration are learned
from a backtest table (:func:`samplecast.forecast.backtest.backtest` on complete held-out curves): per distance bin,
the weights on the simplex that minimise the mean absolute error of the stacked median at the final size; the width
of the intervals is left to the calibration, so a member is not weighted up for intervals that happen to be wide. A
single member is a vertex of that simplex, so on the curves it was learned on, bin by bin, the stack's median is
never worse than its best member's.

The shipped weights are ``samplecast/assets/ensemble.json``, learned by ``benchmarks/fit_ensemble.py`` on the real
segmentation curves in ``data/`` (Kvasir-SEG and LA-2018 sweeps), each dataset weighing the same.

Example:
    >>> from samplecast.forecast.ensemble import EnsembleForecaster
    >>> f = EnsembleForecaster().fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])
    >>> f.predict_quantiles([800]).shape
    (1, 7)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.calibration import DEFAULT_EDGES, IntervalCalibration, across_bins, interpolate_levels
from samplecast.forecast.parametric import make_family
from samplecast.forecast.predict import quantile_name
from samplecast.forecast.surrogate import MIN_POINTS, LSTMForecaster, Surrogate

#: Members stacked by default: the surrogate, ``pow3`` (the family that forecasts real segmentation curves best from
#: 20% of the sizes on) and ``pow2`` (the best from 10%, when the curve is still far from its plateau). Stacking the
#: other saturating families as well made held-out forecasts worse (``benchmarks/forecast_accuracy.md``): with a few
#: dozen real curves to learn from, every extra weight is noise.
ENSEMBLE_MEMBERS: tuple[str, ...] = ("lstm", "pow3", "pow2")
#: Pull of the weights' logits towards each other: a tie-breaker that keeps the optimum finite (absolute errors are
#: about 0.02, so this costs about 0.5% of the loss for a member weighted e^3 times another).
DEFAULT_PENALTY = 1e-5


@dataclass(frozen=True)
class StackingWeights:
    """Member weights per extrapolation-distance bin, and the conformal calibration of the stacked intervals.

    Args:
        members: member method names.
        edges: inner bin edges of ``log(n_query / n_last)``.
        weights: ``weights[b][m]``, each row summing to 1.
        calibration: widening of the stacked quantiles, or ``None``.
        source: what the weights were learned on, for the record.
    """

    members: tuple[str, ...]
    edges: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]
    calibration: IntervalCalibration | None = None
    source: str = ""

    @classmethod
    def fit(cls, results: pd.DataFrame, members: Sequence[str] = ENSEMBLE_MEMBERS, *,
            edges: Sequence[float] = DEFAULT_EDGES, penalty: float = DEFAULT_PENALTY, balance: str | None = None,
            source: str = "") -> StackingWeights:
        """Learn weights and calibration from a backtest table holding every member's forecasts.

        Only (curve, cutoff) cases forecast by every member are used. Bins with fewer than 5 cases take the weights
        learned on all cases. With ``balance`` naming a column (e.g. the source of each curve), every value of that
        column weighs the same in total, however many cases it has; a case is then a (source, curve, cutoff), so
        sources may reuse curve labels.

        Raises:
            InputError: when a member is missing from the table, no case has all members, or a case is forecast
                twice by a member (curve labels repeated without a ``balance`` column to tell them apart).
        """
        values, truth, ratio, groups = _cases(results, members, balance)
        counts = pd.Series(groups).value_counts()
        case_weight = 1.0 / counts.loc[groups].to_numpy(float)
        bins = np.digitize(ratio, edges)
        pooled = _simplex_weights(values, truth, case_weight, penalty)
        weights = tuple(tuple(_simplex_weights(values[bins == b], truth[bins == b], case_weight[bins == b], penalty))
                        if np.sum(bins == b) >= 5 else tuple(pooled) for b in range(len(edges) + 1))
        stacked = np.einsum("cmk,cm->ck", values, across_bins(ratio, edges, np.asarray(weights)))
        # One stretch, learned for the 80% interval and applied to every level and distance: with a few dozen real
        # forecasts, separate stretches per level bunched the 5% and 10% quantiles together, and separate stretches
        # per distance bin made the bands pinch where a wide bin met a narrow one.
        calibration = IntervalCalibration.fit(QUANTILES, stacked, truth, ratio, coverages=(0.8,), edges=(),
                                              sample_weight=case_weight)
        return cls(tuple(members), tuple(float(e) for e in edges), weights, calibration, source)

    def combine(self, forecasts: dict[str, np.ndarray], log_ratio: np.ndarray) -> np.ndarray:
        """Stack members' quantiles at :data:`QUANTILES` (``name -> (s, K)``; absent members are left out and the
        others' weights renormalised) for queries at ``log(n_query / n_last)``, then calibrate. Shape ``(s, K)``."""
        present = np.array([m in forecasts for m in self.members])
        if not present.any():
            raise ValueError(f"no forecasts from any member of {', '.join(self.members)}")
        w = across_bins(log_ratio, self.edges, np.asarray(self.weights)) * present  # (s, M)
        w = np.where(w.sum(1, keepdims=True) > 0, w, present.astype(float))  # all weight was on absent members
        w /= w.sum(1, keepdims=True)
        stacked = sum(w[:, [i]] * forecasts[m] for i, m in enumerate(self.members) if m in forecasts)
        if self.calibration is not None:
            stacked = self.calibration.apply(QUANTILES, stacked, log_ratio)
        return tidy_quantiles(stacked)

    def to_dict(self) -> dict:
        """Plain-JSON form (``assets/ensemble.json``)."""
        return {"format": "samplecast-ensemble/1", "members": list(self.members), "edges": list(self.edges),
                "weights": [list(w) for w in self.weights], "source": self.source,
                "calibration": None if self.calibration is None else self.calibration.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> StackingWeights:
        """Inverse of :meth:`to_dict`."""
        calibration = data.get("calibration")
        return cls(tuple(data["members"]), tuple(data["edges"]), tuple(tuple(w) for w in data["weights"]),
                   IntervalCalibration.from_dict(calibration) if calibration else None, data.get("source", ""))

    def save(self, path: str | Path) -> Path:
        """Write the weights as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def shipped_weights_path() -> Path:
    """Path of the stacking weights shipped with samplecast."""
    return Path(str(resources.files("samplecast") / "assets" / "ensemble.json"))


def load_stacking_weights(path: str | Path | None = None) -> StackingWeights:
    """Read stacking weights (default: the shipped ones). Cached per path.

    Raises:
        InputError: when the file is missing or is not stacking weights.
    """
    return _load(str(Path(path).resolve() if path is not None else shipped_weights_path()))


@lru_cache(maxsize=8)
def _load(path: str) -> StackingWeights:
    if not Path(path).exists():
        raise InputError(f"{path}: file not found; expected ensemble weights written by StackingWeights.save")
    try:
        return StackingWeights.from_dict(json.loads(Path(path).read_text()))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not ensemble weights ({exc})") from None


class EnsembleForecaster(CurveForecaster):
    """Stacked quantile forecast of the LSTM surrogate and parametric families.

    Members that cannot fit the observed points (too few for their parameters) are left out and the weights of the
    others renormalised; from two points only the surrogate forecasts.

    Args:
        weights: :class:`StackingWeights`, a path to their JSON, or ``None`` for the shipped ones.
        surrogate: the surrogate member (a :class:`Surrogate`, a ``.pt`` path, or ``None`` for the shipped one).
        random_state: seed of the parametric members' bootstraps.

    Attributes after ``fit``: ``members_`` (dict name -> fitted forecaster), ``stacking_`` (the weights used).
    """

    name = "ensemble"

    def __init__(self, weights: StackingWeights | str | Path | None = None,
                 surrogate: Surrogate | str | Path | None = None, random_state: int = 0):
        self.weights = weights
        self.surrogate = surrogate
        self.random_state = random_state

    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> EnsembleForecaster:
        n, dice = check_points(n, dice, min_points=MIN_POINTS, name=self.name)
        stacking = self.weights if isinstance(self.weights, StackingWeights) else load_stacking_weights(self.weights)
        self.members_ = {}
        for member in stacking.members:
            try:
                self.members_[member] = self._member(member).fit(n, dice, sd)
            except InputError:  # too few points for this member: the others carry its weight
                continue
        if not self.members_:
            raise InputError(f"{self.name}: no member could fit {len(n)} points")
        self.stacking_ = stacking
        self.n_last_ = float(n[-1])
        self.is_fitted_ = True
        return self

    def _member(self, member: str) -> CurveForecaster:
        if member == "lstm":
            return LSTMForecaster(self.surrogate)
        return make_family(member, random_state=self.random_state)

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        sizes = as_sizes(n)
        forecasts = {m: f.predict_quantiles(sizes, QUANTILES) for m, f in self.members_.items()}
        stacked = self.stacking_.combine(forecasts, np.log(sizes / self.n_last_))
        return tidy_quantiles(interpolate_levels(QUANTILES, stacked, quantiles))


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

