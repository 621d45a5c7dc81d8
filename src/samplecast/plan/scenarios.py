"""Scenarios of one configuration side by side: how many cases each needs for the target, and how many (and how much
money) the better one saves, with the uncertainty of that difference.

A scenario is how a model is trained (``scratch``, ``transfer:<source>``, a label of the user's own; the ``scenario``
column of the curves table). Curves of one configuration (the same key but for the scenario) are compared, each
other scenario against the baseline: ``scratch`` where it is measured, else the first scenario of the table.

The difference is uncertain twice over: each forecast's size for the target has a range, and the two ranges are
not the range of their difference. The difference's distribution is read off the two forecasts' distributions of the
fewest cases reaching the target: at each quantile level ``p`` of a forecast (the levels treated as curves keeping
their rank as the data grows, as the round plan does), the smallest size whose ``p`` quantile reaches the target.
Levels are drawn independently for the two scenarios (every pair of :data:`~samplecast.forecast.rounds.CHANCE_LEVELS`,
each pair equally likely), which assumes the two forecasts' errors are unrelated: a forecaster that is optimistic
on both would make the true difference less uncertain than this.

Example:
    >>> options = PlanOptions(target_dice=0.85, pool_size=1000, cost_per_case=12)
    >>> plans = plan_curves(load_curves("curves.csv"), options, make_forecaster())   # doctest: +SKIP
    >>> for comparison in compare_scenarios(plans):                                 # doctest: +SKIP
    ...     print(comparison.sentences)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from samplecast.curves import SCRATCH, Curve
from samplecast.errors import InputError
from samplecast.forecast.reach import sizes_reaching
from samplecast.forecast.rounds import CHANCE_LEVELS, RoundPlan
from samplecast.plan.options import horizons, interval_levels
from samplecast.plan.recommendation import CurvePlan
from samplecast.plan.scenario_sentences import comparison_sentences
from samplecast.schema import OMIT_EMPTY, SIZE, UNIT

#: Where a scenario's size for the target lies: within the pool (or the sizes searched without one), only beyond
#: the pool (an extrapolation to cases that do not exist), or nowhere in the sizes searched.
REACHES = ("within", "beyond_pool", "not_reached")


@dataclass(frozen=True)
class ScenarioAnswer:
    """One scenario's answer for the target.

    ``curve`` is the curve's place among the plans compared (the plan document's ``curves``). ``n_needed`` is the
    size reaching the target with the plan's confidence (``reaches`` says whether within the pool, only beyond it
    by extrapolation, or not within the sizes searched, ``None`` then), ``n_range`` the range of that size at the
    same confidence, ``cost`` what the cases beyond today's cost (``None`` without a cost per case), and
    ``next_round`` the scenario's round plan.
    """

    scenario: str
    curve: int = field(metadata=SIZE)
    label: str
    n_observed: int = field(metadata=SIZE)
    dice_now: float = field(metadata=UNIT)
    reaches: str
    n_needed: int | None = field(metadata=SIZE)
    n_range: tuple[int | None, int | None] = field(metadata=SIZE)
    cost: float | None = field(metadata=SIZE)
    next_round: RoundPlan | None = None

    def __post_init__(self) -> None:
        if self.reaches not in REACHES:
            raise InputError(f"reaches {self.reaches!r} must be one of {', '.join(REACHES)}")


@dataclass(frozen=True)
class MeasuredDifference:
    """What the measured curves of two scenarios say, at the sizes both ran (``sizes`` of them, ``n_low`` to
    ``n_high`` cases): the mean difference of the alternative's Dice over the baseline's, the difference at
    ``n_high``, and its standard error from the seeds there (``None`` with one run per size: the noise is not
    measured). The forecasts can part ways on a curve's last points; this is what was measured before they do."""

    sizes: int = field(metadata=SIZE)
    n_low: int = field(metadata=SIZE)
    n_high: int = field(metadata=SIZE)
    mean: float
    last: float
    last_se: float | None = field(metadata=SIZE)

    @property
    def within_noise(self) -> bool | None:
        """Whether the difference at ``n_high`` lies within twice its standard error (``None`` when not measured)."""
        return None if self.last_se is None else abs(self.last) <= 2 * self.last_se


@dataclass(frozen=True)
class ScenarioComparison:
    """Two scenarios of one configuration for one target: the baseline (``scratch`` where measured) and an
    alternative.

    ``saved`` is the cases the alternative saves over the baseline at the plan's confidence (``n_needed`` of the
    baseline less the alternative's; negative when the alternative needs more; sizes beyond the pool count, by
    extrapolation; ``None`` when either is not reached in the sizes searched), ``saved_cost`` what the baseline's
    cases beyond today cost more than the alternative's (the two differ when the scenarios were measured to different
    sizes, or one already reaches the target).
    ``saved_median`` and ``saved_range`` describe the distribution of that difference (see the module's docstring;
    an end is ``None`` where it depends on sizes beyond those searched), and ``chance_fewer`` is the chance that the
    alternative needs fewer cases than the baseline. ``measured`` is the difference the curves measured
    (:class:`MeasuredDifference`; ``None`` when the scenarios share no size). ``sentences`` say all of it in words.
    """

    configuration: str
    target_dice: float = field(metadata=UNIT)
    confidence: float = field(metadata=UNIT)
    pool_size: int | None = field(metadata=SIZE)
    searched: int = field(metadata=SIZE)
    baseline: ScenarioAnswer
    alternative: ScenarioAnswer
    saved: int | None
    saved_cost: float | None
    saved_median: int | None
    saved_range: tuple[int | None, int | None]
    chance_fewer: float = field(metadata=UNIT)
    sentences: tuple[str, ...]
    measured: MeasuredDifference | None = field(default=None, metadata=OMIT_EMPTY)

    @property
    def better(self) -> str | None:
        """The scenario needing fewer cases at the plan's confidence, or ``None`` when that is not known or equal."""
        if self.saved is None or self.saved == 0:
            return None
        return self.alternative.scenario if self.saved > 0 else self.baseline.scenario


def configuration_label(curve: Curve) -> str:
    """The curve's label without its scenario: what the scenarios compared share."""
    return Curve({k: v for k, v in curve.key.items() if k != "scenario"}, curve.n, curve.dice).label


def compare_scenarios(plans: Sequence[CurvePlan]) -> list[ScenarioComparison]:
    """Compare the scenarios of every configuration measured under two or more, each against the baseline.

    Empty without a target (there is nothing to compare the scenarios on) or when no configuration has two
    scenarios (a table without a ``scenario`` column).
    """
    if not plans or plans[0].options.target_dice is None:
        return []
    groups: dict[tuple, list[int]] = {}
    for i, plan in enumerate(plans):
        key = plan.forecast.curve.key
        groups.setdefault(tuple((k, str(v)) for k, v in key.items() if k != "scenario"), []).append(i)
    comparisons = []
    for members in groups.values():
        scenarios = [plans[i].forecast.curve.scenario for i in members]
        if len(set(scenarios)) < 2:
            continue
        base = members[scenarios.index(SCRATCH)] if SCRATCH in scenarios else members[0]
        comparisons += [_compare(plans, base, other) for other in members if other != base]
    return comparisons


def _answer(plan: CurvePlan, index: int) -> ScenarioAnswer:
    rec = plan.recommendation
    if rec.n_for_target is not None:
        reaches, needed = "within", rec.n_for_target
    elif rec.n_beyond_pool is not None:
        reaches, needed = "beyond_pool", rec.n_beyond_pool
    else:
        reaches, needed = "not_reached", None
    more = None if needed is None else max(0, needed - rec.n_observed)
    cost = None if more is None or rec.cost_per_case is None else round(more * rec.cost_per_case, 2)
    low, high = rec.n_target_range or (None, None)
    return ScenarioAnswer(plan.forecast.curve.scenario, index, plan.forecast.curve.label, rec.n_observed,
                          rec.dice_now, reaches, needed, (low, high), cost, rec.next_round)


def _compare(plans: Sequence[CurvePlan], base: int, other: int) -> ScenarioComparison:
    a, b = plans[base], plans[other]
    options = a.options
    baseline, alternative = _answer(a, base), _answer(b, other)
    searched = max(horizons(a.forecast.curve, options)[1], horizons(b.forecast.curve, options)[1])
    first, second = (fewest_cases(p, options.target_dice, searched) for p in (a, b))
    median, low, high, chance = difference(first, second, options.confidence, searched)
    saved = (None if baseline.n_needed is None or alternative.n_needed is None
             else baseline.n_needed - alternative.n_needed)
    saved_cost = (None if baseline.cost is None or alternative.cost is None
                  else round(baseline.cost - alternative.cost, 2))
    comparison = ScenarioComparison(
        configuration_label(a.forecast.curve), float(options.target_dice), options.confidence, options.pool_size,
        searched, baseline, alternative, saved, saved_cost, median, (low, high), round(chance, 4), (),
        measured_difference(a.forecast.curve, b.forecast.curve))
    return replace(comparison, sentences=tuple(comparison_sentences(comparison)))


def measured_difference(baseline: Curve, alternative: Curve) -> MeasuredDifference | None:
    """The alternative's measured Dice less the baseline's at the sizes both curves have (``None`` if none)."""
    shared, first, second = np.intersect1d(baseline.n, alternative.n, return_indices=True)
    if shared.size == 0:
        return None
    gap = alternative.dice[second] - baseline.dice[first]
    i, j = first[-1], second[-1]
    replicated = baseline.count[i] >= 2 and alternative.count[j] >= 2
    se = (math.sqrt(baseline.sd[i] ** 2 / baseline.count[i] + alternative.sd[j] ** 2 / alternative.count[j])
          if replicated else None)
    return MeasuredDifference(int(shared.size), int(shared[0]), int(shared[-1]), round(float(gap.mean()), 4),
                              round(float(gap[-1]), 4), None if se is None else round(se, 4))


def fewest_cases(plan: CurvePlan, target: float, searched: int) -> np.ndarray:
    """The smallest size reaching ``target`` at each of :data:`CHANCE_LEVELS` of the plan's forecast, searched from
    its first measured size up to ``searched`` (``inf`` where a level does not reach it there): the forecast's
    distribution of the fewest cases that suffice, one equally likely value per level."""
    curve = plan.forecast.curve
    found = sizes_reaching(plan.forecast.model, [(target, float(p)) for p in CHANCE_LEVELS], float(curve.n[0]),
                           float(searched))
    return np.array([math.inf if n is None else float(n) for n in found])


def difference(baseline: np.ndarray, alternative: np.ndarray, confidence: float,
               searched: float) -> tuple[int | None, int | None, int | None, float]:
    """The median and the central range at ``confidence`` of ``baseline - alternative`` (cases the alternative
    saves), every pair of the two equally likely samples taken as equally likely (independent scenarios); and the
    chance that the alternative needs fewer cases (ties, both unreached included, count half).

    Sizes not reached by ``searched`` are ``inf``. Such a pair is ordered among the others by its bound (the size
    taken as ``searched + 1``), and a quantile that falls on it is ``None``: how far beyond is not known.
    """
    with np.errstate(invalid="ignore"):  # both beyond the search: inf - inf, an unknown difference
        diff = baseline[:, None] - alternative[None, :]
    open_ended = ~np.isfinite(baseline)[:, None] | ~np.isfinite(alternative)[None, :]
    bounded = np.minimum(baseline, searched + 1)[:, None] - np.minimum(alternative, searched + 1)[None, :]
    order = np.argsort(bounded.ravel(), kind="stable")
    values, unknown = diff.ravel()[order], open_ended.ravel()[order]
    low_q, high_q = interval_levels(confidence)

    def at(q: float) -> int | None:
        i = min(values.size - 1, max(0, math.ceil(q * values.size) - 1))
        return None if unknown[i] else int(round(values[i]))

    fewer = float(np.mean(np.where(np.isnan(diff), 0.5, (diff > 0) + 0.5 * (diff == 0))))
    return at(0.5), at(low_q), at(high_q), fewer
