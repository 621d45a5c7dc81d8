"""The recommendation and the plan document: how many cases reach a target Dice, where extra data stops paying, what
each costs, and everything a report shows about it, computed once.

All answers are read off a fitted forecaster's quantiles, so they carry its uncertainty: ``n_for_target`` is the
smallest size whose ``1 - confidence`` quantile reaches the target (Dice at least the target with that probability).
With a pool size no answer exceeds the pool: "not reachable within the pool" is an answer. The plan document
(:func:`plan_document`) holds every number and sentence of the report, so ``samplecast report --plan`` renders it
without fitting anything again and the PDF cannot disagree with the JSON.
"""

from __future__ import annotations

import hashlib
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from samplecast import __version__
from samplecast.curves import GROUP_DEFAULTS, Curve
from samplecast.errors import InputError, raise_if_any
from samplecast.forecast.base import QUANTILES, CurveForecaster
from samplecast.forecast.folder import ForecasterFolder
from samplecast.forecast.predict import DEFAULT_REACH, CurveForecast, forecast_curve
from samplecast.forecast.reach import search

#: Without a pool size, searches stop at this multiple of the largest observed size.
HORIZON_FACTOR = 20
#: Version of the plan document's layout.
DOCUMENT_FORMAT = 1
#: Offsets from the planner's target Dice tabulated around it.
TARGET_OFFSETS: tuple[float, ...] = (-0.04, -0.02, 0.0, 0.02, 0.04)
#: Dice levels tabulated when no target was given: evenly spaced from today's Dice to the forecast at the reach.
UNTARGETED_LEVELS = 5
#: Points of the forecast bands and marginal-value curves a report draws.
CURVE_POINTS = 160
#: A curve whose Dice moves less than this across all its sizes has learned nothing a forecast could extend.
FLAT_SPREAD = 0.01
#: Fewer test cases than this make one run's Dice too coarse to forecast from.
FEW_TEST_CASES = 5
#: Scatter this many times the per-run standard error (dice_sd / sqrt(n_test)) is more noise than a test set explains.
NOISE_RATIO = 3.0
#: Cutoffs at which a user's own curves are backtested (fractions of each curve's largest size).
OWN_CUTOFFS: tuple[float, ...] = (0.2, 0.5)
_SLOPE_SPAN = 1.25
_BACKTEST_FORMAT = 2


def _finite(name: str, value: float | None, problems: list[str]) -> bool:
    if value is not None and not math.isfinite(value):
        problems.append(f"{name} must be a finite number, got {value}")
        return False
    return value is not None


@dataclass(frozen=True)
class PlanOptions:
    """What the planner asks for.

    Args:
        target_dice: the Dice to reach, or ``None`` for no target.
        confidence: probability with which the target must be reached (0.5 = median forecast).
        plateau_gain: Dice gained per doubling of the data below which more data is deemed not to pay.
        pool_size: cases that could be annotated in all; no answer exceeds it.
        cost_per_case: cost of annotating one case, in the user's currency.
        horizon: largest size searched without a pool; default ``HORIZON_FACTOR`` x the largest observed size.
    """

    target_dice: float | None = None
    confidence: float = 0.8
    plateau_gain: float = 0.01
    pool_size: int | None = None
    cost_per_case: float | None = None
    horizon: int | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if _finite("target_dice", self.target_dice, problems) and not 0 < self.target_dice < 1:
            problems.append(f"target_dice {self.target_dice:g} must lie strictly between 0 and 1")
        if _finite("confidence", self.confidence, problems) and not 0 < self.confidence < 1:
            problems.append(f"confidence {self.confidence:g} must lie strictly between 0 and 1")
        if _finite("plateau_gain", self.plateau_gain, problems) and self.plateau_gain <= 0:
            problems.append(f"plateau_gain {self.plateau_gain:g} must be positive")
        for name in ("pool_size", "horizon"):
            value = getattr(self, name)
            if _finite(name, value, problems) and (value < 1 or value != int(value) or isinstance(value, bool)):
                problems.append(f"{name} {value!r} must be a whole number of cases, at least 1")
        if _finite("cost_per_case", self.cost_per_case, problems) and self.cost_per_case < 0:
            problems.append(f"cost_per_case {self.cost_per_case:g} must not be negative")
        raise_if_any(problems)


def chances(confidence: float) -> str:
    """A probability in plain words: 0.8 -> ``4 chances in 5``, 0.95 -> ``19 chances in 20``."""
    share = Fraction(confidence).limit_denominator(100)
    return f"{share.numerator} chance{'s' if share.numerator != 1 else ''} in {share.denominator}"


def confidence_words(confidence: float) -> str:
    """What the confidence means, in one sentence for the terminal and page 1."""
    return (f"Confidence {confidence:.0%} means at least {chances(confidence)} that a model trained on the "
            "recommended cases reaches the target; ranges of sizes and of Dice are given at the same "
            f"{confidence:.0%}.")


def interval_levels(confidence: float) -> tuple[float, float]:
    """The quantile levels of the central interval holding ``confidence`` of the forecast."""
    return (1 - confidence) / 2, (1 + confidence) / 2


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
    """

    target_dice: float | None
    confidence: float
    plateau_gain: float
    n_observed: int
    dice_now: float
    horizon: int
    n_for_target: int | None
    n_target_median: int | None
    n_target_range: tuple[int | None, int | None] | None
    target_within_pool: bool | None
    n_beyond_pool: int | None
    beyond_horizon: int | None
    n_plateau: int | None
    pool_size: int | None
    dice_at_pool: dict[str, float] | None
    cost_per_case: float | None
    additional_to_target: int | None
    additional_to_plateau: int | None
    cost_to_target: float | None
    cost_to_plateau: float | None
    cost_to_pool: float | None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Recommendation:
        """The inverse of :meth:`to_dict` (a plan document's ``recommendation`` object)."""
        values = dict(record)
        if values.get("n_target_range") is not None:
            values["n_target_range"] = tuple(values["n_target_range"])
        return cls(**values)

    def to_dict(self) -> dict:
        """A JSON-ready dict (the ``recommendation`` object of the plan document)."""
        out = asdict(self)
        out["n_target_range"] = list(self.n_target_range) if self.n_target_range is not None else None
        return out

    @property
    def horizon_words(self) -> str:
        """Where searches stopped, in words."""
        if self.pool_size is not None:
            return f"the pool of {self.pool_size:,} cases"
        return f"{self.horizon:,} cases (the horizon searched, {self.horizon / max(self.n_observed, 1):.0f}x the " \
               f"{self.n_observed:,} used so far)"

    def sentences(self) -> list[str]:
        """The recommendation in words, for the terminal and the report."""
        lines = []
        if self.target_dice is not None:
            lines.append(self._target_sentence())
        if self.n_plateau is None:
            lines.append(f"Up to {self.horizon_words} each doubling of the data still gains at least "
                         f"{self.plateau_gain:.3f} Dice.")
        elif self.n_plateau <= self.n_observed:
            lines.append(f"Doubling the data already gains less than {self.plateau_gain:.3f} Dice: by the forecast "
                         f"the curve flattens from about {self.n_plateau:,} cases.")
        else:
            cost = f" (costing {_fmt_cost(self.cost_to_plateau)} more)" if self.cost_to_plateau else ""
            lines.append(f"Beyond about {self.n_plateau:,} cases{cost} doubling the data gains less than "
                         f"{self.plateau_gain:.3f} Dice.")
        if self.dice_at_pool is not None:
            d = self.dice_at_pool
            cost = f", costing {_fmt_cost(self.cost_to_pool)}" if self.cost_to_pool is not None else ""
            lines.append(f"Annotating the whole pool of {self.pool_size:,} cases is expected to give Dice "
                         f"{d['q50']:.3f} ({self.confidence:.0%} range {d['low']:.3f}-{d['high']:.3f}){cost}.")
        else:
            lines.append(f"No pool size was given: sizes up to {self.horizon:,} cases "
                         f"({self.horizon / max(self.n_observed, 1):.0f}x the {self.n_observed:,} used so far) "
                         "were searched.")
        return lines

    def _target_sentence(self) -> str:
        target, conf = self.target_dice, f"{self.confidence:.0%} confidence"
        chance = f"at least {chances(self.confidence)}"
        if self.n_for_target is None:
            if self.pool_size is not None:
                d = self.dice_at_pool
                text = (f"Dice {target:.2f} is not reachable within the pool of {self.pool_size:,} cases with {conf}: "
                        f"expected Dice at {self.pool_size:,} is {d['q50']:.3f} ({self.confidence:.0%} range "
                        f"{d['low']:.3f}-{d['high']:.3f}).")
                if self.n_beyond_pool is not None:
                    text += (f" Beyond the pool, the forecast would reach it with {conf} at about "
                             f"{self.n_beyond_pool:,} cases (an extrapolation to more cases than exist).")
                elif self.beyond_horizon and self.beyond_horizon > self.pool_size:
                    text += f" Nor would it within {self.beyond_horizon:,} cases."
                return text
            return (f"Dice {target:.2f} is not reached with {conf} within {self.horizon_words}; consider a lower "
                    "target or a better model.")
        span = self._range_words()
        cost = f", costing {_fmt_cost(self.cost_to_target)}" if self.cost_to_target is not None else ""
        if self.dice_now >= target:
            if not self.additional_to_target:
                return (f"Dice {target:.2f} is already reached: the {self.n_observed:,} cases used so far measured "
                        f"{self.dice_now:.3f}, and the forecast reaches it with {conf} ({chance}) from about "
                        f"{self.n_for_target:,} cases{span}.")
            return (f"Dice {target:.2f} was already measured ({self.dice_now:.3f} with the {self.n_observed:,} cases "
                    f"used so far), but one measurement is noisy: to reach it with {conf} ({chance}) the forecast "
                    f"asks for about {self.n_for_target:,} cases{span}, {self.additional_to_target:,} more{cost}.")
        head = f"To reach Dice {target:.2f} with {conf} ({chance})"
        if self.additional_to_target:
            return (f"{head}, annotate about {self.n_for_target:,} training cases{span}: "
                    f"{self.additional_to_target:,} more than the {self.n_observed:,} used so far{cost}.")
        return (f"{head}, about {self.n_for_target:,} training cases suffice{span}: the {self.n_observed:,} used so "
                "far already reach it.")

    def _range_words(self) -> str:
        low, high = self.n_target_range or (None, None)
        if low is None:
            return ""
        upper = f"{high:,}" if high is not None else f"more than {self.horizon:,}"
        return f" ({self.confidence:.0%} range {low:,} to {upper})"


def _fmt_cost(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def check_pool(curve: Curve, options: PlanOptions) -> str | None:
    """The problem with a pool smaller than the training cases a curve already used, or ``None``."""
    if options.pool_size is not None and options.pool_size < curve.n_max:
        return (f"pool_size {options.pool_size:,.0f} is smaller than the {curve.n_max:,.0f} training cases curve "
                f"{curve.label} already used; the pool counts every case that could be annotated, those used included")
    return None


def _horizons(curve: Curve, options: PlanOptions) -> tuple[int, int]:
    """The horizon of every answer (the pool, or a multiple of the largest size) and how far an estimate beyond the
    pool may look."""
    n_obs = int(round(curve.n_max))
    far = int(options.horizon or HORIZON_FACTOR * n_obs)
    if options.pool_size is not None:
        return int(options.pool_size), max(far, int(options.pool_size))
    return far, far


def _target_answers(model: CurveForecaster, curve: Curve, levels: Sequence[float], options: PlanOptions, *,
                    plateau: bool = False) -> tuple[list[dict[str, int | None]], int | None]:
    """Per Dice level: the size reaching it with the confidence, by the median, the range at the confidence, and
    (with a pool it does not suffice for) the size beyond the pool; with ``plateau``, also the plateau size within
    the horizon. Two calls of the model for everything."""
    horizon, far = _horizons(curve, options)
    low_q, high_q = interval_levels(options.confidence)
    quantiles = (1.0 - options.confidence, 0.5, high_q, low_q)
    answers, n_plateau = search(model, [(level, q) for level in levels for q in quantiles], float(curve.n[0]), far,
                                plateau_gain=options.plateau_gain if plateau else None)
    out = []
    for i in range(len(levels)):
        needed, median, low, high = answers[4 * i: 4 * i + 4]
        within = [n if n is not None and n <= horizon else None for n in (needed, median, low, high)]
        out.append({"n_for_target": within[0], "n_median": within[1], "n_low": within[2], "n_high": within[3],
                    "n_beyond_pool": needed if options.pool_size is not None and within[0] is None else None})
    return out, n_plateau if n_plateau is not None and n_plateau <= horizon else None


def recommend(model: CurveForecaster, curve: Curve, options: PlanOptions) -> Recommendation:
    """Answer the planner's questions from a forecaster fitted on ``curve``.

    Raises:
        InputError: when the pool is smaller than the cases the curve already used.
    """
    problem = check_pool(curve, options)
    if problem:
        raise InputError(problem)
    n_obs = int(round(curve.n_max))
    horizon, far = _horizons(curve, options)
    pool = int(options.pool_size) if options.pool_size is not None else None
    levels = [options.target_dice] if options.target_dice is not None else []
    found, n_plateau = _target_answers(model, curve, levels, options, plateau=True)
    target = found[0] if found else dict.fromkeys(("n_for_target", "n_median", "n_low", "n_high", "n_beyond_pool"))
    dice_at_pool = dice_at(model, pool, options.confidence) if pool is not None else None

    def extra(n: int | None) -> int | None:
        return None if n is None else max(0, n - n_obs)

    def cost(n: int | None) -> float | None:
        more = extra(n)
        return None if more is None or options.cost_per_case is None else round(more * options.cost_per_case, 2)

    asked = options.target_dice is not None
    return Recommendation(
        target_dice=options.target_dice, confidence=options.confidence, plateau_gain=options.plateau_gain,
        n_observed=n_obs, dice_now=round(float(curve.dice[-1]), 4), horizon=horizon,
        n_for_target=target["n_for_target"], n_target_median=target["n_median"],
        n_target_range=(target["n_low"], target["n_high"]) if asked else None,
        target_within_pool=(target["n_for_target"] is not None) if asked and pool is not None else None,
        n_beyond_pool=target["n_beyond_pool"], beyond_horizon=far if pool is not None else None,
        n_plateau=n_plateau, pool_size=pool, dice_at_pool=dice_at_pool,
        cost_per_case=options.cost_per_case, additional_to_target=extra(target["n_for_target"]),
        additional_to_plateau=extra(n_plateau), cost_to_target=cost(target["n_for_target"]),
        cost_to_plateau=cost(n_plateau), cost_to_pool=cost(pool),
    )


def dice_at(model: CurveForecaster, n: float, confidence: float) -> dict[str, float]:
    """Dice expected at ``n`` cases: median ``q50``, the range at the confidence (``low``, ``high``) and the Dice
    reached with the confidence (``floor``), rounded like the plan document."""
    low_q, high_q = interval_levels(confidence)
    low, floor, q50, high = model.predict_quantiles([float(n)], (low_q, 1 - confidence, 0.5, high_q))[0]
    return {"q50": round(float(q50), 4), "low": round(float(low), 4), "high": round(float(high), 4),
            "floor": round(float(floor), 4)}


def curve_warnings(curve: Curve, model: CurveForecaster) -> list[str]:
    """Why a curve may not support a forecast: Dice flat at a trivial score, too few test cases, or scatter far
    above what its test set explains. One sentence each, naming the curve."""
    found = []
    spread = float(np.ptp(curve.dice))
    if spread < FLAT_SPREAD and curve.n_max >= 2 * curve.n[0]:
        found.append(
            f"{curve.label}: Dice stays at {np.mean(curve.dice):.3f} from {curve.n[0]:,.0f} to {curve.n_max:,.0f} "
            "cases: the runs seem to have learned nothing beyond a constant answer (an all-foreground or empty "
            "prediction scores like this), so the curve cannot support a forecast.")
    if curve.n_test is not None and np.nanmin(curve.n_test) < FEW_TEST_CASES:
        fewest = int(np.nanmin(curve.n_test))
        found.append(f"{curve.label}: Dice was measured on only {fewest} test case{'s' if fewest != 1 else ''}; "
                     "one case more or less moves it more than the forecast can resolve.")
    if curve.n_test is not None and curve.dice_sd is not None:
        standard_error = float(np.nanmedian(curve.dice_sd / np.sqrt(np.maximum(curve.n_test, 1))))
        replicated = curve.count >= 2
        if replicated.any():
            noise, between = float(np.nanmedian(curve.sd[replicated])), "between seeds"
        else:
            residual = curve.dice - model.predict(curve.n)
            noise, between = float(np.sqrt(np.mean(residual**2))), "around the fitted curve"
        if standard_error > 0 and noise > NOISE_RATIO * standard_error and noise > FLAT_SPREAD:
            found.append(f"{curve.label}: Dice scatters by {noise:.3f} {between}, {noise / standard_error:.0f}x the "
                         f"{standard_error:.3f} its test set explains (dice_sd / sqrt(n_test)); the runs are noisier "
                         "than their measurement, so the forecast's ranges may be too narrow.")
    return found


@dataclass
class CurvePlan:
    """A curve's forecast, the planner's options, the recommendation read off the forecast, and warnings about
    the curve."""

    forecast: CurveForecast
    options: PlanOptions
    recommendation: Recommendation
    warnings: list[str] = field(default_factory=list)


#: Called after each curve is planned with (curves done, curves in all).
PlanProgress = Callable[[int, int], None]


def plan_curves(
    curves: Sequence[Curve],
    options: PlanOptions,
    forecaster: CurveForecaster,
    *,
    at: Sequence[float] | None = None,
    progress: PlanProgress | None = None,
) -> list[CurvePlan]:
    """Forecast every curve with (a clone of) ``forecaster`` and recommend sizes; what ``samplecast forecast`` and the
    report show. ``progress(done, total)`` is called after each curve.

    Raises:
        InputError: for a pool smaller than a curve's largest size (in one line naming the largest, before fitting
            any).
    """
    short = [c for c in curves if check_pool(c, options)]
    if short:
        largest = max(short, key=lambda c: c.n_max)
        more = f" (and {len(short) - 1} more curve{'s' if len(short) > 2 else ''})" if len(short) > 1 else ""
        raise InputError(check_pool(largest, options).replace(f"curve {largest.label}",
                                                              f"curve {largest.label}{more}"))
    plans = []
    for i, curve in enumerate(curves, start=1):
        forecast = forecast_curve(curve, forecaster, at=at, pool_size=options.pool_size)
        plans.append(CurvePlan(forecast, options, recommend(forecast.model, curve, options),
                               curve_warnings(curve, forecast.model)))
        if progress:
            progress(i, len(curves))
    return plans


# --- what a report shows, computed once --------------------------------------------------------------------------


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


def reach(plan: CurvePlan) -> int:
    """How far a report draws a forecast: the pool size, or without one 4x today widened to show the size the
    target needs (never beyond the horizon searched)."""
    rec = plan.recommendation
    if rec.pool_size is not None:
        return rec.pool_size
    far = DEFAULT_REACH * plan.forecast.curve.n_max
    if rec.n_for_target is not None:
        far = max(far, 1.25 * rec.n_for_target)
    return int(round(min(far, rec.horizon)))


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


def target_table(plan: CurvePlan, levels: Sequence[float]) -> list[dict[str, Any]]:
    """One row per target Dice level: cases needed (at the plan's confidence, median, range at the confidence), more
    than today, and their cost, read off the forecast by the same search as the recommendation.

    Keys: ``target_dice, n_needed, n_median, n_low, n_high, n_beyond_pool, additional, cost`` (``None`` where a
    level is not reached within the horizon, or no cost per case was given).
    """
    options, curve = plan.options, plan.forecast.curve
    n_obs = plan.recommendation.n_observed
    rows = []
    for level, found in zip(levels, _target_answers(plan.forecast.model, curve, list(levels), options)[0]):
        needed = found["n_for_target"]
        more = None if needed is None else max(0, needed - n_obs)
        rows.append({"target_dice": float(level), "n_needed": needed, "n_median": found["n_median"],
                     "n_low": found["n_low"], "n_high": found["n_high"], "n_beyond_pool": found["n_beyond_pool"],
                     "additional": more,
                     "cost": None if more is None or options.cost_per_case is None
                     else round(more * options.cost_per_case, 2)})
    return rows


def value_step(n_max: float) -> int:
    """A round number of cases to price marginal gains in (1, 2 or 5 times a power of ten), near a tenth of
    ``n_max``: 100 for a curve measured up to 800 cases, 10 for one up to 100."""
    if n_max < 10:
        return 1
    target = math.log10(n_max / 10)
    candidates = [m * 10**e for e in range(int(target) - 1, int(target) + 2) for m in (1, 2, 5)]
    return int(min(candidates, key=lambda c: abs(math.log10(c) - target)))


def marginal_value(model: CurveForecaster, sizes: Sequence[float], step: int) -> dict[str, list[float]]:
    """Median Dice gained by ``step`` more cases and by doubling the data, at each size.

    The gain per ``step`` cases is the slope of the median forecast across ``n / 1.25`` to ``1.25 n`` times ``step``:
    a local rate that does not jitter with the forecast's sampling noise the way a difference over a few cases would.

    Keys: ``n``, ``dice`` (median forecast at ``n``), ``gain_per_step``, ``gain_per_doubling``.
    """
    n = np.asarray(sizes, dtype=float)
    median = model.predict(np.concatenate([n, n / _SLOPE_SPAN, n * _SLOPE_SPAN, 2 * n]))
    now, below, above, double = np.split(median, 4)
    slope = (above - below) / (n * (_SLOPE_SPAN - 1 / _SLOPE_SPAN))
    return {"n": _round(n), "dice": _round(now), "gain_per_step": _round(slope * step, 6),
            "gain_per_doubling": _round(double - now, 6)}


def _round(values: np.ndarray, places: int = 4) -> list[float]:
    return [round(float(v), places) for v in values]


def _curve_view(plan: CurvePlan, short_label: str, step: int) -> dict[str, Any]:
    """Everything the report shows about one curve."""
    curve, model, rec = plan.forecast.curve, plan.forecast.model, plan.recommendation
    far = reach(plan)
    grid = np.geomspace(curve.n[0], far, CURVE_POINTS)
    band = model.predict_quantiles(grid, (0.1, 0.25, 0.5, 0.75, 0.9))
    expected_n = rec.pool_size or int(round(DEFAULT_REACH * curve.n_max))
    marginal = marginal_value(model, [*grid, rec.n_observed], step)  # the curve, and today's size last
    return {
        "key": curve.key, "label": curve.label, "short_label": short_label,
        "observed": {"n": _round(curve.n, 2), "dice": _round(curve.dice), "sd": [None if not math.isfinite(v)
                     else round(float(v), 4) for v in curve.sd], "count": [int(c) for c in curve.count]},
        "forecast": plan.forecast.records(),
        "recommendation": rec.to_dict(),
        "sentences": rec.sentences(),
        "warnings": list(plan.warnings),
        "reach": far,
        "band": {"n": _round(grid, 2), **{f"q{round(q * 100):02d}": _round(band[:, j])
                                          for j, q in enumerate((0.1, 0.25, 0.5, 0.75, 0.9))}},
        "targets": target_table(plan, target_levels(rec.target_dice, plan)),
        "expected": {"n": expected_n, **(rec.dice_at_pool or dice_at(model, expected_n, rec.confidence))},
        "marginal": {k: v[:-1] for k, v in marginal.items()},
        "marginal_now": {k: v[-1] for k, v in marginal.items()},
    }


def default_title(curves: Sequence[Curve]) -> str:
    """``How many cases to annotate: <dataset>`` when the curves name their dataset(s)."""
    names = list(dict.fromkeys(str(c.key.get("dataset", "")) for c in curves))
    names = [n for n in names if n and n != GROUP_DEFAULTS["dataset"]]
    return "How many cases to annotate" + (f": {', '.join(names)}" if names else "")


def plan_document(
    plans: Sequence[CurvePlan],
    method: str,
    *,
    source: str | Path | None = None,
    created: datetime | None = None,
    folder: ForecasterFolder | None = None,
    backtest_summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The plan document: every number, sentence and warning the report shows, and where it came from.

    Args:
        plans: from :func:`plan_curves`.
        method: the forecasting method's name.
        source: the curves file the plans came from (checksummed, named in the report).
        created: when it was made; default now.
        folder: the forecaster folder the plans were forecast with (:class:`ForecasterFolder`), named in the document;
            default the one shipped with the package.
        backtest_summary: the out-of-sample backtest of the methods (format 2, see :mod:`samplecast.report.trust`);
            default the one in ``folder``.
    """
    if not plans:
        raise ValueError("a plan document needs at least one curve plan")
    curves = [p.forecast.curve for p in plans]
    step = value_step(max(c.n_max for c in curves))
    views = [_curve_view(p, label, step) for p, label in zip(plans, short_labels(curves))]
    options = plans[0].options
    created = created or datetime.now(timezone.utc)
    folder = folder or ForecasterFolder.open()
    summary = backtest_summary if backtest_summary is not None else folder.backtest_summary()
    return {
        "format": DOCUMENT_FORMAT,
        "method": method,
        "forecaster": folder.name,
        "quantiles": list(QUANTILES),
        "options": asdict(options),
        "confidence_words": confidence_words(options.confidence),
        "title": default_title(curves),
        "source": {"file": str(source) if source is not None else None,
                   "sha256": hashlib.sha256(Path(source).read_bytes()).hexdigest() if source is not None else None,
                   "runs": int(sum(c.count.sum() for c in curves)),
                   "average_seeds": all("seed" not in c.key for c in curves)},
        "created": created.strftime("%Y-%m-%d %H:%M UTC"),
        "versions": _versions(),
        "value_step": step,
        "warnings": [w for p in plans for w in p.warnings],
        "curves": views,
        "trust": {"method": method, **shipped_trust(summary, method),
                  **own_trust(curves, plans[0].forecast.model, source, summary)},
    }


def _versions() -> dict[str, str]:
    from samplecast.versions import package_versions

    installed = package_versions(("numpy", "scipy", "pandas", "statsmodels", "torch", "matplotlib", "fpdf2"))
    return {"samplecast": __version__, "python": platform.python_version(),
            **{k: v or "not installed" for k, v in installed.items()}}


# --- how far to trust it: only curves the method never learned from ------------------------------------------------


def shipped_trust(summary: dict[str, Any], method: str) -> dict[str, Any]:
    """The leave-one-dataset-out backtest of ``method`` from a format-2 summary: ``{"shipped": {protocol, datasets,
    command, created, machine, rows}}``, or ``{"shipped": None, "shipped_note": why}``."""
    if summary.get("format") != _BACKTEST_FORMAT:
        return {"shipped": None, "shipped_note": "this version of samplecast ships no backtest of its methods on "
                                                 "curves they never learned from"}
    rows = [r for r in summary.get("rows", []) if r.get("method") == method]
    if not rows:
        covered = ", ".join(dict.fromkeys(r.get("method") for r in summary.get("rows", [])))
        return {"shipped": None, "shipped_note": f"the forecaster's backtest does not cover the method "
                                                 f"'{method}' (it covers {covered})"}
    source = summary.get("source", {})
    return {"shipped": {"protocol": summary.get("protocol", "leave-one-dataset-out"),
                        "datasets": source.get("datasets", []), "command": source.get("command"),
                        "created": source.get("created"), "machine": source.get("machine"),
                        "rows": sorted(rows, key=lambda r: (str(r["held_out"]) != "all", str(r["held_out"]),
                                                            r["cutoff"]))}}


def own_trust(curves: Sequence[Curve], forecaster: CurveForecaster, source: str | Path | None,
              summary: dict[str, Any]) -> dict[str, Any]:
    """The backtest of ``forecaster`` (cloned unfitted for each prefix) on the user's own curves (each cut at :data:`OWN_CUTOFFS` of its largest size and
    forecast to it): ``{"own": {cutoffs, curves, rows}}``, or ``{"own": None, "own_note": why}``.

    Left out for a curves file of the shipped backtest: its curves were scored there, held out from what the method
    learned, while the method forecasting has learned from them, so scoring it on them again would flatter it."""
    from samplecast.forecast.backtest import backtest, summarize

    shipped = {Path(f).name for d in summary.get("source", {}).get("datasets", []) for f in d.get("files", [])}
    if source is not None and Path(source).name in shipped:
        return {"own": None, "own_note": f"{Path(source).name} is among the curves of the backtest above, scored "
                                         "there with the method learned without them; the method forecasting "
                                         "here has learned from them, so they are not scored again here"}
    try:
        results = backtest(curves, [forecaster], OWN_CUTOFFS)
    except InputError:
        return {"own": None, "own_note": "your curves are too short to backtest: a curve needs at least 3 sizes "
                                         f"below {max(OWN_CUTOFFS):.0%} of its largest size"}
    table = summarize(results)
    rows = [{"cutoff": float(r.cutoff), "curves": int(r.curves), "mae": round(float(r.mae), 4),
             "bias": round(float(r.bias), 4), "coverage80": round(float(r.coverage80), 4),
             "coverage90": round(float(r.coverage90), 4), "width80": round(float(r.width80), 4)}
            for r in table.itertuples()]
    return {"own": {"cutoffs": list(OWN_CUTOFFS), "curves": len({*results["curve"]}), "rows": rows}}

