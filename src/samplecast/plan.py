"""The recommendation: how many cases reach a target Dice, where extra data stops paying, and what each costs.

All answers are read off a fitted forecaster's quantiles, so they carry its uncertainty: ``n_for_target`` is the
smallest size whose ``1 - confidence`` quantile reaches the target (Dice at least the target with that probability).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster
from samplecast.forecast.predict import CurveForecast, forecast_curve

#: Searches stop at this multiple of the largest observed size (or at the pool size, if that is larger).
HORIZON_FACTOR = 20
_GRID_POINTS = 400


@dataclass(frozen=True)
class PlanOptions:
    """What the planner asks for.

    Args:
        target_dice: the Dice to reach, or ``None`` for no target.
        confidence: probability with which the target must be reached (0.5 = median forecast).
        plateau_gain: Dice gained per doubling of the data below which more data is deemed not to pay.
        pool_size: cases that could be annotated in all (expected Dice is reported there).
        cost_per_case: cost of annotating one case, in the user's currency.
        horizon: largest size searched; default ``max(pool_size, 20 x largest observed size)``.
    """

    target_dice: float | None = None
    confidence: float = 0.8
    plateau_gain: float = 0.01
    pool_size: float | None = None
    cost_per_case: float | None = None
    horizon: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.target_dice is not None and not 0 < self.target_dice < 1:
            problems.append(f"target Dice {self.target_dice:g} must lie strictly between 0 and 1")
        if not 0 < self.confidence < 1:
            problems.append(f"confidence {self.confidence:g} must lie strictly between 0 and 1")
        if self.plateau_gain <= 0:
            problems.append(f"plateau gain {self.plateau_gain:g} must be positive")
        if self.pool_size is not None and self.pool_size <= 0:
            problems.append(f"pool size {self.pool_size:g} must be positive")
        if self.cost_per_case is not None and self.cost_per_case < 0:
            problems.append(f"cost per case {self.cost_per_case:g} must not be negative")
        if problems:
            raise InputError(problems)


@dataclass(frozen=True)
class Recommendation:
    """The planner's answer for one curve; ``None`` where a question was not asked or has no answer in range.

    ``n_target_median`` and ``n_target_range`` give the size at which the median, and the 90% and 10% quantiles,
    reach the target: an 80% range for the size needed. Costs count only cases beyond ``n_observed``.
    """

    target_dice: float | None
    confidence: float
    plateau_gain: float
    n_observed: int
    horizon: int
    n_for_target: int | None
    n_target_median: int | None
    n_target_range: tuple[int | None, int | None] | None
    n_plateau: int | None
    pool_size: int | None
    dice_at_pool: dict[str, float] | None
    cost_per_case: float | None
    additional_to_target: int | None
    additional_to_plateau: int | None
    cost_to_target: float | None
    cost_to_plateau: float | None
    cost_to_pool: float | None

    def to_dict(self) -> dict:
        """A JSON-ready dict (the ``recommendation`` object of the forecast JSON)."""
        out = asdict(self)
        out["n_target_range"] = list(self.n_target_range) if self.n_target_range is not None else None
        return out

    def sentences(self) -> list[str]:
        """The recommendation in words, for the terminal and the report."""
        lines = []
        if self.target_dice is not None:
            if self.n_for_target is None:
                lines.append(
                    f"Dice {self.target_dice:.2f} is not reached with {self.confidence:.0%} confidence by "
                    f"{self.horizon:,} cases (the search horizon); consider a lower target or a better model.")
            else:
                low, high = self.n_target_range or (None, None)
                span = f" (80% range {_fmt_n(low)} to {_fmt_n(high, self.horizon)})" if low is not None else ""
                head = f"To reach Dice {self.target_dice:.2f} with {self.confidence:.0%} confidence"
                if self.additional_to_target:
                    cost = f", costing {_fmt_cost(self.cost_to_target)}" if self.cost_to_target is not None else ""
                    lines.append(f"{head}, annotate about {self.n_for_target:,} training cases{span}: "
                                 f"{self.additional_to_target:,} more than the {self.n_observed:,} used so far{cost}.")
                else:
                    lines.append(f"{head}, about {self.n_for_target:,} training cases suffice{span}: the "
                                 f"{self.n_observed:,} used so far already reach it.")
        if self.n_plateau is None:
            lines.append(f"Up to {self.horizon:,} cases each doubling of the data still gains at least "
                         f"{self.plateau_gain:.3f} Dice.")
        else:
            cost = f" (costing {_fmt_cost(self.cost_to_plateau)} more)" if self.cost_to_plateau else ""
            lines.append(f"Beyond about {self.n_plateau:,} cases{cost} doubling the data gains less than "
                         f"{self.plateau_gain:.3f} Dice.")
        if self.dice_at_pool is not None:
            d = self.dice_at_pool
            cost = f", costing {_fmt_cost(self.cost_to_pool)}" if self.cost_to_pool is not None else ""
            lines.append(f"Annotating the whole pool of {self.pool_size:,} cases is expected to give Dice "
                         f"{d['q50']:.3f} (80% interval {d['q10']:.3f}-{d['q90']:.3f}){cost}.")
        return lines


def recommend(model: CurveForecaster, curve: Curve, options: PlanOptions) -> Recommendation:
    """Answer the planner's questions from a forecaster fitted on ``curve``."""
    n_obs = int(round(curve.n_max))
    horizon = int(options.horizon or max(options.pool_size or 0, HORIZON_FACTOR * curve.n_max))
    lo = float(curve.n[0])

    def first_reaching(level: float) -> int | None:
        return smallest_n(lambda n: model.predict_quantiles(n, (level,))[:, 0] >= options.target_dice, lo, horizon)

    n_target = n_median = target_range = None
    if options.target_dice is not None:
        n_target = first_reaching(1.0 - options.confidence)
        n_median = first_reaching(0.5)
        target_range = (first_reaching(0.9), first_reaching(0.1))

    def gain_small(n: np.ndarray) -> np.ndarray:
        med = model.predict_quantiles(np.concatenate([n, 2 * n]), (0.5,))[:, 0]
        return med[len(n):] - med[: len(n)] < options.plateau_gain

    n_plateau = smallest_n(gain_small, lo, horizon)

    pool = int(round(options.pool_size)) if options.pool_size else None
    dice_at_pool = None
    if pool is not None:
        q10, q50, q90 = model.predict_quantiles([pool], (0.1, 0.5, 0.9))[0]
        dice_at_pool = {"q10": round(float(q10), 4), "q50": round(float(q50), 4), "q90": round(float(q90), 4)}

    def extra(n: int | None) -> int | None:
        return None if n is None else max(0, n - n_obs)

    def cost(n: int | None) -> float | None:
        more = extra(n)
        return None if more is None or options.cost_per_case is None else round(more * options.cost_per_case, 2)

    return Recommendation(
        target_dice=options.target_dice, confidence=options.confidence, plateau_gain=options.plateau_gain,
        n_observed=n_obs, horizon=horizon, n_for_target=n_target, n_target_median=n_median,
        n_target_range=target_range, n_plateau=n_plateau, pool_size=pool, dice_at_pool=dice_at_pool,
        cost_per_case=options.cost_per_case, additional_to_target=extra(n_target),
        additional_to_plateau=extra(n_plateau), cost_to_target=cost(n_target), cost_to_plateau=cost(n_plateau),
        cost_to_pool=cost(pool),
    )


def smallest_n(condition, lo: float, hi: float) -> int | None:
    """Smallest integer size in ``[lo, hi]`` where the vectorised ``condition`` holds, or ``None``.

    A geometric grid finds the first size where it holds; bisection over the integers below it pins it down
    (assuming the condition does not flip back within one grid step).
    """
    lo, hi = max(1, math.ceil(lo)), math.floor(hi)
    if hi < lo:
        return None
    grid = np.unique(np.round(np.geomspace(lo, hi, _GRID_POINTS)).astype(int))
    hits = np.flatnonzero(condition(grid.astype(float)))
    if hits.size == 0:
        return None
    k = hits[0]
    if k == 0:
        return int(grid[0])
    bad, good = int(grid[k - 1]), int(grid[k])
    while good - bad > 1:
        mid = (bad + good) // 2
        if condition(np.array([float(mid)]))[0]:
            good = mid
        else:
            bad = mid
    return good


def _fmt_n(n: int | None, horizon: int = 0) -> str:
    return f"{n:,}" if n is not None else f"more than {horizon:,}"


def _fmt_cost(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


@dataclass
class CurvePlan:
    """A curve's forecast, the planner's options, and the recommendation read off the forecast with them."""

    forecast: CurveForecast
    options: PlanOptions
    recommendation: Recommendation

    def to_dict(self) -> dict:
        """The per-curve object of the forecast JSON: key, forecast rows, recommendation."""
        return {"key": self.forecast.curve.key, "forecast": self.forecast.records(),
                "recommendation": self.recommendation.to_dict()}


def plan_curves(
    curves: Sequence[Curve],
    options: PlanOptions,
    forecaster: CurveForecaster,
    *,
    at: Sequence[float] | None = None,
) -> list[CurvePlan]:
    """Forecast every curve with (a clone of) ``forecaster`` and recommend sizes; what ``samplecast forecast`` and the
    report show."""
    plans = []
    for curve in curves:
        forecast = forecast_curve(curve, forecaster, at=at, pool_size=options.pool_size)
        plans.append(CurvePlan(forecast, options, recommend(forecast.model, curve, options)))
    return plans


def plan_document(plans: Sequence[CurvePlan], method: str) -> dict:
    """The forecast JSON document: ``{"method": ..., "curves": [{"key", "forecast", "recommendation"}, ...]}``."""
    return {"method": method, "quantiles": list(QUANTILES), "curves": [p.to_dict() for p in plans]}
