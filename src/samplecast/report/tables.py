"""The numbers a report tabulates, read off the same forecasts and :func:`~samplecast.plan.recommend` as the forecast
JSON, so the report and ``samplecast forecast --json`` never disagree.

Example:
    >>> curves = load_curves("data/kvasir_reference_curves.csv")             # doctest: +SKIP
    >>> plans = plan_curves(curves, PlanOptions(target_dice=0.8))           # doctest: +SKIP
    >>> target_table(plans[1], target_levels(0.8))                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from samplecast.curves import Curve
from samplecast.forecast.predict import DEFAULT_REACH
from samplecast.plan import CurvePlan, recommend

#: Offsets from the planner's target Dice tabulated around it.
TARGET_OFFSETS: tuple[float, ...] = (-0.04, -0.02, 0.0, 0.02, 0.04)
#: Dice levels tabulated when no target was given: evenly spaced from today's Dice to the forecast at the reach.
UNTARGETED_LEVELS = 5


def short_labels(curves: Sequence[Curve]) -> list[str]:
    """Curve labels without the key parts every curve shares (``depth 5`` rather than ``kvasir / resunet / depth 5``).

    A single curve, or curves that differ in no key, keep their full label.
    """
    if len(curves) < 2:
        return [c.label for c in curves]
    varying = [name for name in curves[0].key if len({str(c.key.get(name)) for c in curves}) > 1]
    if not varying:
        return [c.label for c in curves]
    return [Curve({k: c.key[k] for k in varying}, c.n, c.dice).label for c in curves]


def reach(plan: CurvePlan) -> float:
    """How far a report draws a forecast: the pool size (or 4x today), widened to show the size the target needs."""
    rec = plan.recommendation
    far = float(rec.pool_size or DEFAULT_REACH * plan.forecast.curve.n_max)
    if rec.n_for_target is not None:
        far = max(far, 1.25 * rec.n_for_target)
    return min(far, float(rec.horizon))


def target_levels(target: float | None, plan: CurvePlan | None = None) -> list[float]:
    """Dice levels to tabulate: the target and :data:`TARGET_OFFSETS` around it, inside (0, 1).

    Without a target, :data:`UNTARGETED_LEVELS` levels from the next 0.01 above today's Dice up to the median forecast
    at the reach of ``plan`` (at least 0.01 apart), so the table shows what is within reach and where it ends.
    """
    if target is not None:
        return [round(target + d, 4) for d in TARGET_OFFSETS if 0 < target + d < 1]
    if plan is None:
        raise ValueError("without a target Dice, target_levels needs the plan to choose levels from")
    start = math.floor(float(plan.forecast.curve.dice[-1]) * 100 + 1) / 100
    far = float(plan.forecast.model.predict([reach(plan)])[0])
    end = max(far, start + 0.01 * (UNTARGETED_LEVELS - 1))
    levels = np.round(np.linspace(start, end, UNTARGETED_LEVELS), 2)
    return [float(v) for v in np.unique(levels) if 0 < v < 1]


def target_table(plan: CurvePlan, levels: Sequence[float]) -> pd.DataFrame:
    """One row per target Dice level: cases needed (at the plan's confidence, median, 80% range), more than today,
    and the cost of those, each from :func:`~samplecast.plan.recommend` at that level.

    Columns: ``target_dice, n_needed, n_median, n_low, n_high, additional, cost`` (``None`` where a level is not
    reached within the search horizon, or no cost per case was given).
    """
    options = plan.options
    rows = []
    for level in levels:
        rec = recommend(plan.forecast.model, plan.forecast.curve, replace(options, target_dice=level))
        low, high = rec.n_target_range or (None, None)
        rows.append({"target_dice": level, "n_needed": rec.n_for_target, "n_median": rec.n_target_median,
                     "n_low": low, "n_high": high, "additional": rec.additional_to_target,
                     "cost": rec.cost_to_target})
    return pd.DataFrame(rows, columns=["target_dice", "n_needed", "n_median", "n_low", "n_high", "additional",
                                       "cost"], dtype=object)


def expected_dice(plan: CurvePlan, n: float) -> dict[str, float]:
    """Median and 80% interval of Dice at ``n`` cases, as ``{"q10", "q50", "q90"}`` rounded like the forecast JSON."""
    q10, q50, q90 = plan.forecast.model.predict_quantiles([n], (0.1, 0.5, 0.9))[0]
    return {"q10": round(float(q10), 4), "q50": round(float(q50), 4), "q90": round(float(q90), 4)}


def value_step(n_max: float) -> int:
    """A round number of cases to price marginal gains in (1, 2 or 5 times a power of ten), near a tenth of
    ``n_max``: 100 for a curve measured up to 800 cases, 10 for one up to 100."""
    if n_max < 10:
        return 1
    target = math.log10(n_max / 10)
    candidates = [m * 10**e for e in range(int(target) - 1, int(target) + 2) for m in (1, 2, 5)]
    return int(min(candidates, key=lambda c: abs(math.log10(c) - target)))


def marginal_value(plan: CurvePlan, sizes: Sequence[float], step: int) -> pd.DataFrame:
    """Median Dice gained by ``step`` more cases and by doubling the data, at each size.

    The gain per ``step`` cases is the slope of the median forecast across ``n / 1.25`` to ``1.25 n`` times ``step``:
    a local rate that does not jitter with the forecast's sampling noise the way a difference over a few cases would.

    Columns: ``n``, ``dice`` (median forecast at ``n``), ``gain_per_step``, ``gain_per_doubling``.
    """
    n = np.asarray(sizes, dtype=float)
    median = plan.forecast.model.predict(np.concatenate([n, n / _SLOPE_SPAN, n * _SLOPE_SPAN, 2 * n]))
    now, below, above, double = np.split(median, 4)
    slope = (above - below) / (n * (_SLOPE_SPAN - 1 / _SLOPE_SPAN))
    return pd.DataFrame({"n": n, "dice": now, "gain_per_step": slope * step, "gain_per_doubling": double - now})


_SLOPE_SPAN = 1.25
