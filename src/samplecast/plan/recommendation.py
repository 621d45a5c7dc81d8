"""The recommendation: how many cases reach a target Dice, where extra data stops paying and what each costs, read
off a fitted forecaster's quantiles by one search per curve (:func:`samplecast.forecast.reach.search`), which answers
the recommendation and every row of the target table at once.

``n_for_target`` is the smallest size whose ``1 - confidence`` quantile reaches the target (Dice at least the target
with that probability). With a pool size no answer exceeds the pool: "not reachable within the pool" is an answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samplecast import schema
from samplecast.curves import Curve
from samplecast.errors import InputError, raise_if_any
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.predict import DEFAULT_REACH, CurveForecast, forecast_curve
from samplecast.forecast.reach import search
from samplecast.forecast.rounds import RoundPlan, RoundPlanner
from samplecast.forecast.together import sweep_partners
from samplecast.plan import sentences
from samplecast.plan.options import PlanOptions, check_pool, check_sizes, horizons, interval_levels
from samplecast.schema import SIZE, UNIT

#: Offsets from the planner's target Dice tabulated around it.
TARGET_OFFSETS: tuple[float, ...] = (-0.04, -0.02, 0.0, 0.02, 0.04)
#: Dice levels tabulated when no target was given: evenly spaced from today's Dice to the forecast at the reach.
UNTARGETED_LEVELS = 5
#: A curve whose Dice moves less than this across all its sizes has learned nothing a forecast could extend.
FLAT_SPREAD = 0.01
#: Fewer test cases than this make one run's Dice too coarse to forecast from.
FEW_TEST_CASES = 5
#: A flat curve below this Dice may be a constant prediction: an all-foreground mask scores 2p / (1 + p) for a
#: foreground share p, under 0.5 unless the objects fill a third of the image; a flat curve above it is a plateau.
CONSTANT_DICE = 0.5
#: Without test-set sizes to judge scatter by, a fall of Dice by more than this from one size to the next larger
#: (which more data does not cause) says the runs are noisy.
NOISE_DROP = 0.02
#: Scatter this many times the per-run standard error (dice_sd / sqrt(n_test)) is more noise than a test set explains.
NOISE_RATIO = 3.0
_ANSWERS = ("n_for_target", "n_median", "n_low", "n_high", "n_beyond_pool")


@dataclass(frozen=True)
class Recommendation:
    """The planner's answer for one curve; ``None`` where a question was not asked or has no answer in range.

    ``n_for_target`` is searched up to ``horizon`` (the pool when there is one), so it never exceeds the pool;
    ``target_within_pool`` says whether the pool suffices (``None`` without a pool or target) and
    ``n_beyond_pool`` is the size the forecast would need past the pool (an extrapolation to cases that do not
    exist), searched up to ``beyond_horizon``. ``n_target_range`` is the range of sizes at the same confidence:
    where the ``(1 + confidence) / 2`` and ``(1 - confidence) / 2`` quantiles reach the target, so it always holds
    ``n_for_target``. ``dice_at_pool`` gives the median (``q50``), the central range at the confidence (``low``,
    ``high``) and the Dice reached with the confidence (``floor``). Costs count only cases beyond ``n_observed``.

    ``next_round`` is the round plan (:class:`~samplecast.forecast.rounds.RoundPlan`): how many cases to annotate
    in the next round, or why to stop, chosen over ``options.planned_rounds`` rounds; ``None`` without a target.
    ``n_smallest`` is the smallest size measured, where every search starts: an answer equal to it means "already
    there at the smallest size measured", not that so few cases were needed.
    """

    target_dice: float | None = field(metadata=UNIT)
    confidence: float = field(metadata=UNIT)
    plateau_gain: float = field(metadata=SIZE)
    n_observed: int = field(metadata=SIZE)
    dice_now: float = field(metadata=UNIT)
    horizon: int = field(metadata=SIZE)
    n_for_target: int | None = field(metadata=SIZE)
    n_target_median: int | None = field(metadata=SIZE)
    n_target_range: tuple[int | None, int | None] | None = field(metadata=SIZE)
    target_within_pool: bool | None
    n_beyond_pool: int | None = field(metadata=SIZE)
    beyond_horizon: int | None = field(metadata=SIZE)
    n_plateau: int | None = field(metadata=SIZE)
    pool_size: int | None = field(metadata=SIZE)
    dice_at_pool: dict[str, float] | None = field(metadata=UNIT)
    cost_per_case: float | None = field(metadata=SIZE)
    additional_to_target: int | None = field(metadata=SIZE)
    additional_to_plateau: int | None = field(metadata=SIZE)
    cost_to_target: float | None = field(metadata=SIZE)
    cost_to_plateau: float | None = field(metadata=SIZE)
    cost_to_pool: float | None = field(metadata=SIZE)
    next_round: RoundPlan | None = None
    n_smallest: int | None = field(default=None, metadata=SIZE)

    @classmethod
    def from_dict(cls, record: dict[str, Any], origin: str = "recommendation") -> Recommendation:
        """The inverse of :meth:`to_dict` (a plan document's ``recommendation`` object), checked field by field.

        Raises:
            InputError: one line per problem, naming ``origin`` and the field.
        """
        return schema.load(cls, record, origin)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``recommendation`` object of the plan document)."""
        return schema.dump(self)

    def sentences(self) -> list[str]:
        """The recommendation in words, for the terminal and the report."""
        return sentences.recommendation_sentences(self)


@dataclass(frozen=True)
class TargetRow:
    """One Dice level of the target table: cases needed with the plan's confidence, by the median, the range at the
    confidence, the size needed beyond the pool (an extrapolation), more than today, and their cost (``None`` where
    a level is not reached within the horizon, or no cost per case was given)."""

    target_dice: float = field(metadata=UNIT)
    n_needed: int | None = field(metadata=SIZE)
    n_median: int | None = field(metadata=SIZE)
    n_low: int | None = field(metadata=SIZE)
    n_high: int | None = field(metadata=SIZE)
    n_beyond_pool: int | None = field(metadata=SIZE)
    additional: int | None = field(metadata=SIZE)
    cost: float | None = field(metadata=SIZE)


@dataclass
class CurvePlan:
    """A curve's forecast, the planner's options, the recommendation read off the forecast, the target table (by
    the same search), and warnings about the curve."""

    forecast: CurveForecast
    options: PlanOptions
    recommendation: Recommendation
    targets: tuple[TargetRow, ...] = ()
    warnings: list[str] = field(default_factory=list)


#: Called after each curve is planned with (curves done, curves in all).
PlanProgress = Callable[[int, int], None]


def _search(model: CurveForecaster, curve: Curve, levels: Sequence[float],
            options: PlanOptions) -> tuple[list[dict[str, int | None]], int | None]:
    """Per Dice level: the size reaching it with the confidence, by the median, the range at the confidence, and
    (with a pool it does not suffice for) the size beyond the pool; and the plateau size within the horizon. Two
    calls of the model for everything."""
    horizon, far = horizons(curve, options)
    low_q, high_q = interval_levels(options.confidence)
    quantiles = (1.0 - options.confidence, 0.5, high_q, low_q)
    answers, n_plateau = search(model, [(level, q) for level in levels for q in quantiles], float(curve.n[0]), far,
                                plateau_gain=options.plateau_gain)
    out = []
    for i in range(len(levels)):
        needed, *rest = answers[4 * i: 4 * i + 4]
        within = [n if n is not None and n <= horizon else None for n in (needed, *rest)]
        beyond = needed if options.pool_size is not None and within[0] is None else None
        out.append(dict(zip(_ANSWERS, [*within, beyond])))
    return out, n_plateau if n_plateau is not None and n_plateau <= horizon else None


def _extra(n: int | None, n_obs: int) -> int | None:
    return None if n is None else max(0, n - n_obs)


def _cost(n: int | None, n_obs: int, options: PlanOptions) -> float | None:
    more = _extra(n, n_obs)
    return None if more is None or options.cost_per_case is None else round(more * options.cost_per_case, 2)


def _recommendation(model: CurveForecaster, curve: Curve, options: PlanOptions, target: dict[str, int | None],
                    n_plateau: int | None) -> Recommendation:
    n_obs = int(round(curve.n_max))
    horizon, far = horizons(curve, options)
    pool = int(options.pool_size) if options.pool_size is not None else None
    asked = options.target_dice is not None
    return Recommendation(
        target_dice=options.target_dice, confidence=options.confidence, plateau_gain=options.plateau_gain,
        n_observed=n_obs, dice_now=round(float(curve.dice[-1]), 4), horizon=horizon,
        n_for_target=target["n_for_target"], n_target_median=target["n_median"],
        n_target_range=(target["n_low"], target["n_high"]) if asked else None,
        target_within_pool=(target["n_for_target"] is not None) if asked and pool is not None else None,
        n_beyond_pool=target["n_beyond_pool"], beyond_horizon=far if pool is not None else None,
        n_plateau=n_plateau, pool_size=pool,
        dice_at_pool=dice_at(model, pool, options.confidence) if pool is not None else None,
        cost_per_case=options.cost_per_case, additional_to_target=_extra(target["n_for_target"], n_obs),
        additional_to_plateau=_extra(n_plateau, n_obs), cost_to_target=_cost(target["n_for_target"], n_obs, options),
        cost_to_plateau=_cost(n_plateau, n_obs, options), cost_to_pool=_cost(pool, n_obs, options),
        next_round=_next_round(model, curve, options), n_smallest=math.ceil(float(curve.n[0])),
    )


def _next_round(model: CurveForecaster, curve: Curve, options: PlanOptions) -> RoundPlan | None:
    """The round plan for the target, over the options' rounds and shortfall cost; ``None`` without a target."""
    if options.planned_rounds is None:
        return None
    planner = RoundPlanner(rounds=options.planned_rounds, shortfall_cost=options.shortfall_cost)
    return planner.plan(model, curve, target_dice=options.target_dice, pool_size=options.pool_size,
                        cost_per_case=options.cost_per_case, horizon=options.horizon)


def _target_rows(levels: Sequence[float], found: Sequence[dict[str, int | None]], n_obs: int,
                 options: PlanOptions) -> tuple[TargetRow, ...]:
    return tuple(TargetRow(float(level), f["n_for_target"], f["n_median"], f["n_low"], f["n_high"],
                           f["n_beyond_pool"], _extra(f["n_for_target"], n_obs),
                           _cost(f["n_for_target"], n_obs, options))
                 for level, f in zip(levels, found))


def recommend(model: CurveForecaster, curve: Curve, options: PlanOptions) -> Recommendation:
    """Answer the planner's questions from a forecaster fitted on ``curve``.

    Raises:
        InputError: when the pool is smaller than the cases the curve already used.
    """
    problem = check_pool(curve, options)
    if problem:
        raise InputError(problem)
    levels = [options.target_dice] if options.target_dice is not None else []
    found, n_plateau = _search(model, curve, levels, options)
    return _recommendation(model, curve, options, found[0] if found else dict.fromkeys(_ANSWERS), n_plateau)


def dice_at(model: CurveForecaster, n: float, confidence: float) -> dict[str, float]:
    """Dice expected at ``n`` cases: median ``q50``, the range at the confidence (``low``, ``high``) and the Dice
    reached with the confidence (``floor``), rounded like the plan document."""
    low_q, high_q = interval_levels(confidence)
    low, floor, q50, high = model.predict_quantiles([float(n)], (low_q, 1 - confidence, 0.5, high_q))[0]
    return {"q50": round(float(q50), 4), "low": round(float(low), 4), "high": round(float(high), 4),
            "floor": round(float(floor), 4)}


def curve_warnings(curve: Curve, model: CurveForecaster) -> list[str]:
    """Why a curve may not support a forecast: Dice flat at a trivial score (or, higher, a plateau), too few test
    cases, scatter far above what its test set explains, or without test-set sizes, Dice falling as the data grows.
    One sentence each, naming the curve."""
    found = []
    if float(np.ptp(curve.dice)) < FLAT_SPREAD and curve.n_max >= 2 * curve.n[0]:
        dice = float(np.mean(curve.dice))
        found.append((sentences.flat_curve if dice < CONSTANT_DICE else sentences.plateau_curve)(
            curve.label, dice, curve.n[0], curve.n_max))
    if curve.n_test is not None and np.nanmin(curve.n_test) < FEW_TEST_CASES:
        found.append(sentences.few_test_cases(curve.label, int(np.nanmin(curve.n_test))))
    if curve.n_test is not None and curve.dice_sd is not None:
        standard_error = float(np.nanmedian(curve.dice_sd / np.sqrt(np.maximum(curve.n_test, 1))))
        replicated = curve.count >= 2
        if replicated.any():
            noise, between = float(np.nanmedian(curve.sd[replicated])), "between seeds"
        else:
            residual = curve.dice - model.predict(curve.n)
            noise, between = float(np.sqrt(np.mean(residual**2))), "around the fitted curve"
        if standard_error > 0 and noise > NOISE_RATIO * standard_error and noise > FLAT_SPREAD:
            found.append(sentences.noisy_curve(curve.label, noise, between, standard_error))
    else:
        drops = curve.dice[:-1] - curve.dice[1:]
        if drops.size and float(drops.max()) > NOISE_DROP:
            k = int(np.argmax(drops))
            found.append(sentences.zigzag_curve(curve.label, int((drops > NOISE_DROP).sum()), float(drops[k]),
                                                curve.n[k], curve.n[k + 1]))
    return found


# --- how far a report looks, and the Dice levels it tabulates --------------------------------------------------


def _reach(n_max: float, pool_size: int | None, horizon: int, n_for_target: int | None) -> int:
    if pool_size is not None:
        return pool_size
    far = DEFAULT_REACH * n_max
    if n_for_target is not None:
        far = max(far, 1.25 * n_for_target)
    return int(round(min(far, horizon)))


def reach(plan: CurvePlan) -> int:
    """How far a report draws a forecast: the pool size, or without one 4x today widened to show the size the
    target needs (never beyond the horizon searched)."""
    rec = plan.recommendation
    return _reach(plan.forecast.curve.n_max, rec.pool_size, rec.horizon, rec.n_for_target)


def _levels_up_to(model: CurveForecaster, curve: Curve, far: int) -> list[float]:
    start = math.floor(float(curve.dice[-1]) * 100 + 1) / 100
    end = max(float(model.predict([far])[0]), start + 0.01 * (UNTARGETED_LEVELS - 1))
    levels = np.round(np.linspace(start, end, UNTARGETED_LEVELS), 2)
    return [float(v) for v in np.unique(levels) if 0 < v < 1]


def target_levels(target: float | None, plan: CurvePlan | None = None) -> list[float]:
    """Dice levels to tabulate: the target and :data:`TARGET_OFFSETS` around it, inside (0, 1).

    Without a target, :data:`UNTARGETED_LEVELS` levels from the next 0.01 above today's Dice up to the median forecast
    at the reach of ``plan`` (at least 0.01 apart), so the table shows what is within reach and where it ends.
    """
    if target is not None:
        return [round(target + d, 4) for d in TARGET_OFFSETS if 0 < target + d < 1]
    if plan is None:
        raise ValueError("without a target Dice, target_levels needs the plan to choose levels from")
    return _levels_up_to(plan.forecast.model, plan.forecast.curve, reach(plan))


def target_table(plan: CurvePlan, levels: Sequence[float]) -> list[TargetRow]:
    """One row per Dice level in ``levels``, read off the plan's forecast by the search of the recommendation (a
    plan already holds the rows of :func:`target_levels` in ``plan.targets``)."""
    found, _ = _search(plan.forecast.model, plan.forecast.curve, list(levels), plan.options)
    return list(_target_rows(levels, found, plan.recommendation.n_observed, plan.options))


def _plan_curve(forecast: CurveForecast, options: PlanOptions) -> CurvePlan:
    """The recommendation and the target table of one curve, by one search."""
    curve, model = forecast.curve, forecast.model
    asked = [options.target_dice] if options.target_dice is not None else []
    levels = (target_levels(options.target_dice) if asked else
              _levels_up_to(model, curve, _reach(curve.n_max, options.pool_size, horizons(curve, options)[0], None)))
    found, n_plateau = _search(model, curve, [*asked, *levels], options)
    rec = _recommendation(model, curve, options, found[0] if asked else dict.fromkeys(_ANSWERS), n_plateau)
    return CurvePlan(forecast, options, rec, _target_rows(levels, found[len(asked):], rec.n_observed, options),
                     curve_warnings(curve, model))


def plan_curves(
    curves: Sequence[Curve],
    options: PlanOptions,
    forecaster: CurveForecaster,
    *,
    at: Sequence[float] | None = None,
    depths_together: bool = False,
    progress: PlanProgress | None = None,
) -> list[CurvePlan]:
    """Forecast every curve with (a clone of) ``forecaster`` and recommend sizes; what ``samplecast forecast`` and the
    report show. With ``depths_together`` each curve is forecast with the other depths of its sweep (the same key but
    the depth, measured up to the same size: :func:`~samplecast.forecast.together.sweep_partners`), its gains the mean
    of theirs and its own: a median that erred less held out by image set, with intervals wider than needed (see
    :mod:`samplecast.forecast.together`). ``progress(done, total)`` is called after each curve.

    Raises:
        InputError: for a pool smaller than a curve's largest size (in one line naming the largest), or sizes ``at``
            beyond the pool (or without one the horizon), before fitting any.
    """
    short = [c for c in curves if check_pool(c, options)]
    if short:
        largest = max(short, key=lambda c: c.n_max)
        more = f" (and {len(short) - 1} more curve{'s' if len(short) > 2 else ''})" if len(short) > 1 else ""
        raise InputError(check_pool(largest, options).replace(f"curve {largest.label}",
                                                              f"curve {largest.label}{more}"))
    if at is not None:
        nearest = min(curves, key=lambda c: horizons(c, options)[0])  # the curve answering the shortest way out
        raise_if_any([p for p in [check_sizes(nearest, options, at)] if p])
    partners = sweep_partners(curves) if depths_together else [[] for _ in curves]
    plans = []
    for i, (curve, others) in enumerate(zip(curves, partners), start=1):
        forecast = forecast_curve(curve, forecaster, at=at, pool_size=options.pool_size, others=others)
        plans.append(_plan_curve(forecast, options))
        if progress:
            progress(i, len(curves))
    return plans
