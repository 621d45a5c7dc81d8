"""A comparison of scenarios in words: what each needs for the target, what the better one saves and how sure that
is, and each one's next round. The terminal, the plan document and the report all show these sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samplecast.plan.sentences import chance_words
from samplecast.plan.wording import cost_words, estimate

if TYPE_CHECKING:
    from samplecast.forecast.rounds import RoundPlan
    from samplecast.plan.scenarios import MeasuredDifference, ScenarioAnswer, ScenarioComparison

_STOPS = {"reached": "stop, the measured curve reaches the target", "pool_used": "stop, the pool is used",
          "not_worth": "stop, no round pays for its cases"}


def comparison_sentences(c: ScenarioComparison) -> list[str]:
    """The comparison in words: each scenario's answer, the difference, its uncertainty and the next rounds."""
    base, alt = c.baseline, c.alternative
    lines = [f"For Dice {c.target_dice:.2f} with {c.confidence:.0%} confidence, {base.scenario} needs "
             f"{needs(base, c)}; {alt.scenario} {needs(alt, c)}.", _difference(c)]
    if c.saved_median is not None or c.saved_range != (None, None):
        median = "an unknown number of" if c.saved_median is None else _signed(c.saved_median)
        lines.append(f"How sure that difference is (each forecast's size for the target drawn independently of the "
                     f"other's): by the median {alt.scenario} needs {median} cases, {c.confidence:.0%} range "
                     f"{_span(c)}; chance that {alt.scenario} needs fewer cases than {base.scenario}: "
                     f"{chance_words(c.chance_fewer)}.")
    if c.measured is not None:
        lines.append(measured_words(c.measured, base.scenario, alt.scenario))
    rounds = [(a.scenario, round_words(a.next_round)) for a in (base, alt) if a.next_round is not None]
    if rounds:
        lines.append("Next round: " + "; ".join(f"{name}: {words}" for name, words in rounds) + ".")
    return lines


def measured_words(m: MeasuredDifference, base: str, alt: str) -> str:
    """What the two measured curves say, before any forecast."""
    where = (f"at the {m.sizes} sizes both scenarios ran ({m.n_low:,} to {m.n_high:,} cases)" if m.sizes > 1
             else f"at the one size both scenarios ran ({m.n_high:,} cases)")
    mean = (f"{alt} averaged {abs(m.mean):.3f} Dice {'above' if m.mean >= 0 else 'below'} {base}" if m.sizes > 1
            else f"{alt} measured {m.last:+.3f} Dice against {base}")
    if m.within_noise is None:
        noise = "one run each, so how much of it is noise is not measured"
    elif m.within_noise:
        noise = (f"within twice its standard error over the seeds ({m.last_se:.3f}): the curves are not told apart "
                 "there, and a forecast that separates them rests on its extrapolation")
    else:
        noise = f"beyond twice its standard error over the seeds ({m.last_se:.3f})"
    last = f"; at {m.n_high:,} cases {m.last:+.3f}, " if m.sizes > 1 else ", "
    return f"Measured {where}: {mean}{last}{noise}."


def needs(answer: ScenarioAnswer, c: ScenarioComparison) -> str:
    """What one scenario needs, in words: a size and its range, or where it is not reached; and whether its measured
    curve already reaches the target."""
    measured = (f" (its measured curve already reaches it: {answer.dice_now:.3f} with {answer.n_observed:,} cases)"
                if answer.dice_now >= c.target_dice else "")
    if answer.reaches == "not_reached":
        pool = f" (the pool holds {c.pool_size:,})" if c.pool_size is not None else ""
        return f"more than the {c.searched:,} cases searched{pool}{measured}"
    if answer.reaches == "beyond_pool":
        return (f"more than the pool of {c.pool_size:,} cases, about {estimate(answer.n_needed)} by "
                f"extrapolation{measured}")
    low, high = answer.n_range
    span = "" if low is None else f" ({c.confidence:.0%} range {low:,} to {high:,})" if high is not None else \
        f" ({c.confidence:.0%} range from {low:,})"
    return f"{answer.n_needed:,} cases{span}{measured}"


def _difference(c: ScenarioComparison) -> str:
    base, alt, target = c.baseline, c.alternative, f"Dice {c.target_dice:.2f}"
    within = {a.scenario for a in (base, alt) if a.reaches == "within"}
    place = f"the pool of {c.pool_size:,} cases" if c.pool_size is not None else f"the {c.searched:,} cases searched"
    if c.saved is None:
        reached = [a for a in (base, alt) if a.n_needed is not None]
        if not reached:
            beyond = f", nor by extrapolation up to {c.searched:,}" if c.pool_size is not None else ""
            return (f"Neither scenario reaches {target} within {place}{beyond}: there is no difference to give at "
                    f"{c.confidence:.0%} confidence.")
        (winner,) = reached
        return (f"Only {winner.scenario} reaches {target} within {c.searched:,} cases: it saves more than "
                f"{c.searched - winner.n_needed:,}.")
    if c.saved == 0:
        return "Both need the same number of cases at this confidence."
    better = alt if c.saved > 0 else base
    cost = (f"; annotating from here costs {cost_words(abs(c.saved_cost))} {'less' if c.saved_cost >= 0 else 'more'}"
            if c.saved_cost is not None else "")
    saves = f"{better.scenario} needs {abs(c.saved):,} fewer cases{cost}"
    if len(within) == 2:
        return f"At this confidence, {saves}."
    if not within:
        return f"Neither reaches {target} within {place}, only beyond it: by extrapolation, {saves}."
    return f"Only {within.pop()} reaches {target} within {place}; by extrapolation beyond it, {saves}."


def _span(c: ScenarioComparison) -> str:
    low, high = c.saved_range
    if low is None and high is None:
        return "open at both ends (sizes beyond those searched)"
    if low is None:
        return f"up to {_signed(high)} (its lower end lies beyond the sizes searched)"
    if high is None:
        return f"from {_signed(low)} (its upper end lies beyond the sizes searched)"
    return f"{_signed(low)} to {_signed(high)}"


def _signed(value: int) -> str:
    """Cases saved, signed: ``120 fewer``, ``40 more``."""
    return f"{value:,} fewer" if value >= 0 else f"{-value:,} more"


def round_words(plan: RoundPlan) -> str:
    """A scenario's next round in a phrase."""
    if plan.annotate_to is None:
        return _STOPS[plan.stop_reason]
    return (f"annotate up to {plan.annotate_to:,} ({plan.more:,} more; chance of the target by the end "
            f"{chance_words(plan.chance_by_end)}, about {estimate(plan.expected_cases)} cases in all)")
