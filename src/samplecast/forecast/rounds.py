"""Annotation in rounds: how many cases to annotate now, when the model is retrained and the plan redone after each
batch.

The size the target needs is uncertain; the forecast says how uncertain. Read at a target Dice ``T``, the forecast's
quantiles give the chance that a model trained on ``n`` cases reaches it, ``P(Dice(n) >= T)``, for every ``n``: the
distribution of the fewest cases that suffice. As in Mahmood et al. (Learn-Optimize-Collect, NeurIPS 2022 / JMLR
2025), a plan of ``R`` rounds is a schedule of sizes ``q_1 <= ... <= q_R``; round ``r`` is paid only when the target
was not yet reached at ``q_{r-1}``, and missing it after the last round costs the shortfall cost. The schedule that
minimises the expected total cost is found exactly on a grid of sizes by dynamic programming; only its first step is
taken, and after retraining on it the plan is made again from the new curve.

A curve that sits below the target today is a draw from the lower part of the forecast at today's size, so every
chance is conditioned on not having reached the target yet (the forecast's quantile levels are treated as curves that
keep their rank as the data grows).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from samplecast.errors import raise_if_any

if TYPE_CHECKING:  # the command line reads the defaults here without loading pandas
    from samplecast.curves import Curve
    from samplecast.forecast.base import CurveForecaster

#: Quantile levels the chance of reaching a target is read from (interpolated between, flat beyond).
CHANCE_LEVELS = np.linspace(0.005, 0.995, 100)
#: Sizes of the grid a schedule is chosen on (every whole size for pools smaller than this).
SCHEDULE_POINTS = 240
#: By default a shortfall costs this many times the annotation of the whole pool: missing the target wastes the
#: cases annotated for it and sends the project back for another budget (the backtest in
#: ``benchmarks/decision_quality.md`` compares other multiples).
DEFAULT_SHORTFALL = "4x"
#: Below this chance of reaching the target by the end, a plan says that no plan gives a fair chance.
FAIR_CHANCE = 0.2
#: Without a pool, sizes are searched up to this multiple of the largest observed size (the horizon of the
#: recommendation and of the round plan alike).
HORIZON_FACTOR = 20
#: The smallest probability a chance of reaching the target today is conditioned on (keeps rare contradictions of the
#: forecast by the measured curve finite).
_MIN_BELOW = 0.05
_MULTIPLE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*[xX]\s*$")

#: Why a round plan annotates nothing: the measured curve reaches the target, nothing is left in the pool, or no size
#: pays for its cases at the shortfall cost.
STOP_REASONS = ("reached", "pool_used", "not_worth")


def shortfall_multiple(value: float | str) -> float | None:
    """N of a shortfall cost written ``"Nx"`` (N times the pool's annotation cost), or ``None`` for an amount."""
    match = _MULTIPLE.match(value) if isinstance(value, str) else None
    return None if match is None else float(match.group(1))


def shortfall_problem(value: float | str) -> str | None:
    """The problem with a shortfall cost (money, or ``"3x"``: a multiple of the pool's annotation cost), or
    ``None``."""
    if isinstance(value, str):
        multiple = shortfall_multiple(value)
        if multiple is None:
            try:
                value = float(value)
            except ValueError:
                return (f"shortfall_cost {value!r} must be an amount (e.g. 50000) or a multiple of the pool's "
                        "annotation cost (e.g. 2x)")
        else:
            value = multiple
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return f"shortfall_cost {value!r} must be a finite amount, zero or more"
    return None


def shortfall_amount(value: float | str, pool_cost: float) -> float:
    """A shortfall cost in money: ``"3x"`` is three times ``pool_cost``, a number is itself."""
    multiple = shortfall_multiple(value)
    return float(value) if multiple is None else multiple * pool_cost


_SIZE = {"range": (0.0, math.inf)}  # the limits a plan document checks when it reads a round plan back
_CHANCE = {"range": (0.0, 1.0)}


@dataclass(frozen=True)
class RoundPlan:
    """The next round of annotation, and what the whole plan it starts is expected to give.

    ``annotate_to`` is the size to annotate up to now (more than ``n_observed``, at most the pool), ``more`` the
    cases that adds and ``cost_now`` their cost; or ``annotate_to`` is ``None`` to stop, with ``stop_reason`` one of
    :data:`STOP_REASONS`. ``schedule`` holds the sizes of every round of the best plan (rounds after the first are
    taken only while the target is not reached, and are planned again after each) and ``chances`` the chance that the
    target is reached by each; ``chance_by_end`` is the last of them, ``chance_at_pool`` the chance that the whole
    pool (or horizon) reaches it, ``expected_cases`` the cases annotated in all on average (counting later rounds only
    when they are needed), and ``expected_cost`` the expected annotation cost plus the expected shortfall cost.
    Costs are in the planner's currency, or in cases when no cost per case was given.
    """

    target_dice: float = field(metadata=_CHANCE)
    rounds: int = field(metadata=_SIZE)
    n_observed: int = field(metadata=_SIZE)
    dice_now: float = field(metadata=_CHANCE)
    pool_size: int | None = field(metadata=_SIZE)
    horizon: int = field(metadata=_SIZE)
    cost_per_case: float | None = field(metadata=_SIZE)
    shortfall_cost: float = field(metadata=_SIZE)
    annotate_to: int | None = field(metadata=_SIZE)
    more: int = field(metadata=_SIZE)
    cost_now: float | None = field(metadata=_SIZE)
    stop_reason: str | None
    schedule: tuple[int, ...] = field(metadata=_SIZE)
    chances: tuple[float, ...] = field(metadata=_CHANCE)
    chance_by_end: float = field(metadata=_CHANCE)
    chance_at_pool: float = field(metadata=_CHANCE)
    expected_cases: float = field(metadata=_SIZE)
    expected_cost: float = field(metadata=_SIZE)

    @property
    def fair_chance(self) -> bool:
        """Whether the best plan, or the whole pool, reaches the target with at least :data:`FAIR_CHANCE`."""
        return max(self.chance_by_end, self.chance_at_pool) >= FAIR_CHANCE


@dataclass(frozen=True)
class RoundPlanner:
    """Chooses the size to annotate up to in this round, minimising the expected total cost over ``rounds`` rounds.

    Args:
        rounds: rounds left, counting the one being planned; ``1`` is the one-shot decision.
        shortfall_cost: what missing the target after the last round costs: an amount in the cost-per-case currency
            (in cases without one), or ``"Nx"``, N times the cost of annotating the whole pool (without a pool, the
            sizes searched, :data:`HORIZON_FACTOR` times the largest observed size). Default
            :data:`DEFAULT_SHORTFALL`.

    Example:
        >>> planner = RoundPlanner(rounds=3)
        >>> plan = planner.plan(fitted_forecaster, curve, target_dice=0.85, pool_size=1000)  # doctest: +SKIP
        >>> plan.annotate_to, plan.chance_by_end  # doctest: +SKIP
    """

    rounds: int = 3
    shortfall_cost: float | str = DEFAULT_SHORTFALL

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, (int, np.integer)) or self.rounds < 1:
            problems.append(f"rounds {self.rounds!r} must be a whole number, at least 1")
        problem = shortfall_problem(self.shortfall_cost)
        if problem:
            problems.append(problem)
        raise_if_any(problems)

    def plan(self, model: CurveForecaster, curve: Curve, *, target_dice: float, pool_size: int | None = None,
             cost_per_case: float | None = None, horizon: int | None = None) -> RoundPlan:
        """The next round for ``curve`` from ``model`` (a forecaster fitted on it).

        Args:
            target_dice: the Dice to reach.
            pool_size: every case that could be annotated, those used included; no size exceeds it.
            cost_per_case: the cost of one case; without it costs are counted in cases.
            horizon: the largest size searched without a pool (default :data:`HORIZON_FACTOR` x the largest
                observed size).
        """
        n_obs = int(round(curve.n_max))
        top = int(pool_size) if pool_size is not None else int(horizon or HORIZON_FACTOR * n_obs)
        unit = 1.0 if cost_per_case is None else float(cost_per_case)
        shortfall = shortfall_amount(self.shortfall_cost, unit * top)
        dice_now = float(curve.dice[-1])
        base = dict(target_dice=float(target_dice), rounds=int(self.rounds), n_observed=n_obs,
                    dice_now=round(dice_now, 4), pool_size=None if pool_size is None else int(pool_size),
                    horizon=top, cost_per_case=cost_per_case, shortfall_cost=round(shortfall, 2))
        if dice_now >= target_dice:
            return _stop(base, "reached", chance=1.0, cost=0.0)
        sizes = schedule_grid(n_obs, top)
        if sizes.size == 1:
            return _stop(base, "pool_used", chance=0.0, cost=shortfall)
        survival = survival_below(model, sizes, target_dice)
        steps, cost = best_schedule(sizes, survival, unit, shortfall, int(self.rounds))
        at_pool = 1 - float(survival[-1])
        if steps[0] == 0:
            return _stop(base, "not_worth", chance=0.0, cost=cost, at_pool=at_pool)
        taken = [i for i in dict.fromkeys(steps) if i > 0]  # rounds that annotate something
        paid = [1.0] + [float(survival[i]) for i in taken[:-1]]
        expected = n_obs + sum(w * (sizes[i] - sizes[p]) for w, i, p in zip(paid, taken, [0, *taken[:-1]]))
        more = int(sizes[taken[0]]) - n_obs
        return RoundPlan(
            **base, annotate_to=int(sizes[taken[0]]), more=more,
            cost_now=None if cost_per_case is None else round(more * cost_per_case, 2), stop_reason=None,
            schedule=tuple(int(sizes[i]) for i in taken),
            chances=tuple(round(1 - float(survival[i]), 4) for i in taken),
            chance_by_end=round(1 - float(survival[taken[-1]]), 4), chance_at_pool=round(at_pool, 4),
            expected_cases=round(float(expected), 1), expected_cost=round(float(cost), 2))


def _stop(base: dict[str, Any], reason: str, *, chance: float, cost: float, at_pool: float | None = None) -> RoundPlan:
    """A round plan that annotates nothing, for ``reason``."""
    return RoundPlan(**base, annotate_to=None, more=0, cost_now=None, stop_reason=reason, schedule=(), chances=(),
                     chance_by_end=chance, chance_at_pool=round(chance if at_pool is None else at_pool, 4),
                     expected_cases=float(base["n_observed"]), expected_cost=round(cost, 2))


def schedule_grid(n_observed: int, top: int, points: int = SCHEDULE_POINTS) -> np.ndarray:
    """Whole sizes from ``n_observed`` to ``top`` a schedule may use: every one for small ranges, else a geometric
    grid; the first is ``n_observed`` (annotate nothing) and the last ``top``."""
    if top <= n_observed:
        return np.array([float(n_observed)])
    if top - n_observed < points:
        return np.arange(n_observed, top + 1, dtype=float)
    grid = np.unique(np.round(np.geomspace(n_observed, top, points)))
    return np.unique(np.concatenate([[n_observed], grid, [top]])).astype(float)


def survival_below(model: CurveForecaster, sizes: Sequence[float], target: float) -> np.ndarray:
    """The chance that the target is not yet reached at each size, given that it is not at ``sizes[0]``.

    The forecast's chance of Dice at least ``target`` at ``n`` is read off its quantiles (:data:`CHANCE_LEVELS`,
    linear between them); its running maximum over the sizes is the distribution of the fewest cases that suffice.
    Conditioned on the curve being below the target at ``sizes[0]`` (where the forecast may still give a chance of
    reaching it, from run-to-run noise), the survival is ``(1 - G(n)) / (1 - G(n_0))``. Non-increasing, in [0, 1],
    1 at ``sizes[0]``.
    """
    values = model.predict_quantiles(np.asarray(sizes, dtype=float), CHANCE_LEVELS)
    below = np.array([np.interp(target, row, CHANCE_LEVELS, left=0.0, right=1.0) for row in values])
    below = np.minimum.accumulate(below)
    return np.clip(below / max(float(below[0]), _MIN_BELOW), 0.0, 1.0)


def best_schedule(sizes: np.ndarray, survival: np.ndarray, cost_per_case: float, shortfall: float,
                  rounds: int) -> tuple[list[int], float]:
    """Indices into ``sizes`` of the rounds of the cheapest schedule, and its expected total cost.

    Round ``r`` annotates from the previous round's size up to its own, paid with the chance that the target is not
    reached yet (round 1 is paid for sure); after the last round the shortfall is paid with the chance that it still
    is not. Exact on the grid, by backward induction over the rounds (``rounds x len(sizes)^2`` operations). A round
    may annotate nothing (stop); ties go to the smaller size.
    """
    m = sizes.size
    later = np.triu(np.ones((m, m), dtype=bool))  # j >= i
    span = sizes[None, :] - sizes[:, None]
    value = shortfall * survival  # cost to go after the last round
    choices = []
    for _ in range(rounds - 1):
        total = np.where(later, cost_per_case * span * survival[:, None] + value[None, :], np.inf)
        choices.append(np.argmin(total, axis=1))
        value = total[np.arange(m), choices[-1]]
    first_total = cost_per_case * span[0] + value
    step = int(np.argmin(first_total))
    steps = [step]
    for choice in reversed(choices):
        step = int(choice[step])
        steps.append(step)
    return steps, float(first_total[steps[0]])
