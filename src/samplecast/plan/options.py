"""What the planner asks for (:class:`PlanOptions`), checked when it is made, and the checks of a curve against it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from samplecast.curves import MAX_N_TRAIN, Curve
from samplecast.errors import raise_if_any
from samplecast.forecast.rounds import DEFAULT_SHORTFALL, HORIZON_FACTOR, shortfall_problem

#: The largest cost per case: the cost of up to a million cases of it stays below 2**53, exact to the unit in a float
#: (and far from overflowing to infinity).
MAX_COST = 1e9
#: Rounds planned when a target is given and no number of rounds is.
DEFAULT_ROUNDS = 3


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
        rounds: rounds of annotation left, counting the next one, for the round plan
            (:class:`~samplecast.forecast.rounds.RoundPlanner`); needs a target; default :data:`DEFAULT_ROUNDS` when
            there is a target. ``1`` is the one-shot decision.
        shortfall_cost: what missing the target after the last round costs: an amount in the currency of
            ``cost_per_case`` (in cases without one), or ``"Nx"``, N times the cost of annotating the whole pool.

    Raises:
        InputError: one line per option out of range.
    """

    target_dice: float | None = None
    confidence: float = 0.8
    plateau_gain: float = 0.01
    pool_size: int | None = None
    cost_per_case: float | None = None
    horizon: int | None = None
    rounds: int | None = None
    shortfall_cost: float | str = DEFAULT_SHORTFALL

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
            elif value is not None and math.isfinite(value) and value > MAX_N_TRAIN:
                problems.append(f"{name} {int(value):,} is more than {MAX_N_TRAIN:,} cases, the most samplecast plans for")
        if _finite("cost_per_case", self.cost_per_case, problems) and not 0 <= self.cost_per_case <= MAX_COST:
            problems.append(f"cost_per_case {self.cost_per_case:g} must lie between 0 and {MAX_COST:g} (costs are "
                            "added up over many cases and must stay exact to the unit)")
        if self.rounds is not None:
            if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
                problems.append(f"rounds {self.rounds!r} must be a whole number, at least 1")
            if self.target_dice is None:
                problems.append("rounds needs target_dice: a round plan aims at a target")
        shortfall = shortfall_problem(self.shortfall_cost)
        if shortfall:
            problems.append(shortfall)
        raise_if_any(problems)

    @property
    def planned_rounds(self) -> int | None:
        """The rounds of the round plan: ``rounds``, or :data:`DEFAULT_ROUNDS` with a target; ``None`` without one."""
        if self.target_dice is None:
            return None
        return self.rounds if self.rounds is not None else DEFAULT_ROUNDS


def interval_levels(confidence: float) -> tuple[float, float]:
    """The quantile levels of the central interval holding ``confidence`` of the forecast."""
    return (1 - confidence) / 2, (1 + confidence) / 2


def check_pool(curve: Curve, options: PlanOptions) -> str | None:
    """The problem with a pool smaller than the training cases a curve already used, or ``None``."""
    if options.pool_size is not None and options.pool_size < curve.n_max:
        return (f"pool_size {options.pool_size:,.0f} is smaller than the {curve.n_max:,.0f} training cases curve "
                f"{curve.label} already used; the pool counts every case that could be annotated, those used included")
    return None


def check_sizes(curve: Curve, options: PlanOptions, at: Sequence[float]) -> str | None:
    """The problem with sizes to forecast ``at`` beyond what a plan answers for ``curve`` (the pool, or the horizon
    without one), or ``None``."""
    limit = horizons(curve, options)[0]
    beyond = [n for n in at if not n <= limit]
    if not beyond:
        return None
    where = (f"pool_size {limit:,}: the pool counts every case that could be annotated" if options.pool_size is not None
             else f"the horizon of {limit:,} cases ({limit / curve.n_max:.0f}x the largest size curve {curve.label} "
                  "measured), as far as forecasts are answered without a pool_size")
    return f"at {max(beyond):,.0f} lies beyond {where}"


def horizons(curve: Curve, options: PlanOptions) -> tuple[int, int]:
    """The horizon of every answer (the pool, or a multiple of the largest size) and how far an estimate beyond the
    pool may look."""
    n_obs = int(round(curve.n_max))
    far = int(options.horizon or HORIZON_FACTOR * n_obs)
    if options.pool_size is not None:
        return int(options.pool_size), max(far, int(options.pool_size))
    return far, far
