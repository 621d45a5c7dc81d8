"""Every English sentence a planner reads about the answer, in the terminal and in the PDF alike: the recommendation,
what the confidence means, the question asked, warnings about curves, and what each figure and table shows (how far to
trust the forecast, and its caveats, are in :mod:`samplecast.plan.trust_sentences`).

The report takes these sentences from the plan document and composes none of its own about the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from samplecast.plan.wording import COST_UNIT, cost_of, cost_words, estimate, more_than, size_text

if TYPE_CHECKING:
    from samplecast.forecast.rounds import RoundPlan
    from samplecast.plan.options import PlanOptions
    from samplecast.plan.recommendation import Recommendation

def chances(confidence: float) -> str:
    """A probability in plain words: 0.8 -> ``4 chances in 5``, 0.95 -> ``19 chances in 20``."""
    share = Fraction(confidence).limit_denominator(100)
    return f"{share.numerator} chance{'s' if share.numerator != 1 else ''} in {share.denominator}"


def confidence_words(confidence: float) -> str:
    """What the confidence means, in one sentence for the terminal and page 1."""
    return (f"Confidence {confidence:.0%} means at least {chances(confidence)} that a model trained on the "
            "recommended cases reaches the target; ranges of sizes and of Dice are given at the same "
            f"{confidence:.0%}.")


def _costing(rec: Recommendation, n: int) -> str:
    """``, costing ...`` for annotating up to ``n`` as shown, or nothing without a cost per case."""
    if rec.cost_per_case is None:
        return ""
    return f", costing {cost_words(cost_of(n, rec.n_observed, rec.cost_per_case))}"


def horizon_words(rec: Recommendation) -> str:
    """Where searches stopped, in words."""
    if rec.pool_size is not None:
        return f"the pool of {rec.pool_size:,} cases"
    return f"{rec.horizon:,} cases (the horizon searched, {_times(rec.horizon, rec)} used so far)"


def _times(n: int, rec: Recommendation) -> str:
    return f"{n / max(rec.n_observed, 1):.0f}x the {rec.n_observed:,}"


def beyond_pool_words(rec: Recommendation) -> str:
    """How far the size needed beyond the pool was searched, and why that far."""
    return (f"{rec.beyond_horizon:,} cases ({_times(rec.beyond_horizon, rec)} used so far, as far as the forecast is "
            "searched beyond the pool)")


def recommendation_sentences(rec: Recommendation) -> list[str]:
    """The recommendation in words, for the terminal and the report."""
    lines = []
    if rec.target_dice is not None:
        lines.append(_target_sentence(rec))
    if rec.next_round is not None:
        lines += round_sentences(rec.next_round)
    lines.append(_plateau_sentence(rec))
    if rec.dice_at_pool is not None:
        d = rec.dice_at_pool
        cost = f", costing {cost_words(rec.cost_to_pool)}" if rec.cost_to_pool is not None else ""  # the pool is exact
        lines.append(f"Annotating the whole pool of {rec.pool_size:,} cases is expected to give Dice "
                     f"{d['q50']:.3f} ({rec.confidence:.0%} range {d['low']:.3f}-{d['high']:.3f}){cost}.")
    else:
        lines.append(f"No pool size was given: sizes up to {rec.horizon:,} cases "
                     f"({_times(rec.horizon, rec)} used so far) were searched.")
    return lines


def _plateau_sentence(rec: Recommendation) -> str:
    gain = f"{rec.plateau_gain:.3f} Dice"
    if rec.n_plateau is None:
        return (f"By the forecast the curve has not flattened within {horizon_words(rec)}: doubling the data does not "
                f"settle below a gain of {gain} there.")
    if rec.n_plateau <= rec.n_observed:
        start = (f"the smallest size measured ({rec.n_plateau:,} cases)" if _at_smallest(rec, rec.n_plateau)
                 else f"about {rec.n_plateau:,} cases")
        return (f"Doubling the data already gains less than {gain}: by the forecast the curve is flat from {start} "
                "on.")
    more = more_than(rec.n_plateau, rec.n_observed)
    cost = f" ({more:,} more case{'s' if more != 1 else ''}{_costing(rec, rec.n_plateau)})" if rec.cost_per_case else ""
    return f"Beyond about {_size(rec, rec.n_plateau)} cases{cost} doubling the data gains less than {gain}."


def _size(rec: Recommendation, n: int) -> str:
    """A size of this curve's answers: exact within the sizes measured, rounded beyond them."""
    return size_text(n, rec.n_observed)


def _at_smallest(rec: Recommendation, n: int | None) -> bool:
    return n is not None and rec.n_smallest is not None and n <= rec.n_smallest


def _target_sentence(rec: Recommendation) -> str:
    target, conf = rec.target_dice, f"{rec.confidence:.0%} confidence"
    chance = f"at least {chances(rec.confidence)}"
    if rec.n_for_target is None:
        if rec.pool_size is not None:
            d = rec.dice_at_pool
            text = (f"Dice {target:.2f} is not reachable within the pool of {rec.pool_size:,} cases with {conf}: "
                    f"expected Dice at {rec.pool_size:,} is {d['q50']:.3f} ({rec.confidence:.0%} range "
                    f"{d['low']:.3f}-{d['high']:.3f}).")
            if rec.n_beyond_pool is not None:
                text += (f" Beyond the pool, the forecast would reach it with {conf} at about "
                         f"{_size(rec, rec.n_beyond_pool)} cases (an extrapolation to more cases than exist).")
            elif rec.beyond_horizon and rec.beyond_horizon > rec.pool_size:
                text += f" Nor would it within {beyond_pool_words(rec)}."
            return text
        return (f"Dice {target:.2f} is not reached with {conf} within {horizon_words(rec)}; consider a lower "
                "target or a better model.")
    span = _range_words(rec)
    cost = _costing(rec, rec.n_for_target)
    n = _size(rec, rec.n_for_target)
    more = f"{more_than(rec.n_for_target, rec.n_observed):,}"
    if _at_smallest(rec, rec.n_for_target):
        reached = f"Dice {target:.2f} is already reached: by" if rec.dice_now >= target else "By"
        return (f"{reached} the forecast Dice is already at or above {target:.2f} at the smallest size measured "
                f"({rec.n_for_target:,} cases) with {conf} ({chance}), and the {rec.n_observed:,} cases used so far "
                f"measured {rec.dice_now:.3f}.")
    if rec.dice_now >= target:
        if not rec.additional_to_target:
            return (f"Dice {target:.2f} is already reached: the {rec.n_observed:,} cases used so far measured "
                    f"{rec.dice_now:.3f}, and the forecast reaches it with {conf} ({chance}) from about "
                    f"{n} cases{span}.")
        return (f"Dice {target:.2f} was already measured ({rec.dice_now:.3f} with the {rec.n_observed:,} cases "
                f"used so far), but one measurement is noisy: to reach it with {conf} ({chance}) the forecast "
                f"asks for about {n} cases{span}, {more} more{cost}.")
    head = f"To reach Dice {target:.2f} with {conf} ({chance})"
    if rec.additional_to_target:
        return (f"{head}, annotate about {n} training cases{span}: "
                f"{more} more than the {rec.n_observed:,} used so far{cost}.")
    return (f"{head}, about {n} training cases suffice{span}: the {rec.n_observed:,} used so "
            "far already reach it.")


def _range_words(rec: Recommendation) -> str:
    """The range of sizes at the confidence; its lower end at the smallest size measured reads "N or fewer", and a
    range wholly there is left out (the sentence says so)."""
    low, high = rec.n_target_range or (None, None)
    if low is None or (high is not None and _at_smallest(rec, high)):
        return ""
    lower = f"{low:,} or fewer" if _at_smallest(rec, low) else _size(rec, low)
    upper = _size(rec, high) if high is not None else f"more than {rec.horizon:,}"
    return f" ({rec.confidence:.0%} range {lower} to {upper})"


# --- the next round -------------------------------------------------------------------------------------------


def chance_words(chance: float) -> str:
    """A chance in plain words, to the nearest simple fraction: 0.8 -> ``4 in 5``, 0.33 -> ``1 in 3``."""
    if chance >= 0.975:
        return "more than 19 in 20"
    if chance < 0.025:
        return "less than 1 in 20"
    share = min((Fraction(k, d) for d in (2, 3, 4, 5, 10, 20) for k in range(1, d)),
                key=lambda f: (abs(float(f) - chance), f.denominator))
    return f"{share.numerator} in {share.denominator}"


def round_sentences(plan: RoundPlan) -> list[str]:
    """The next round in words: how many cases to annotate now and what follows, or why to stop."""
    target = f"Dice {plan.target_dice:.2f}"
    where = (f"the pool of {plan.pool_size:,} cases" if plan.pool_size is not None
             else f"{plan.horizon:,} cases (the sizes searched)")
    rounds = f"{plan.rounds} round{'s' if plan.rounds != 1 else ''}"
    if plan.stop_reason == "reached":
        return [f"In rounds: annotate no more for {target}, which the measured curve already reaches "
                f"({plan.dice_now:.3f} with the {plan.n_observed:,} cases used so far): rounds are planned only while "
                "the target is missed."]
    if plan.stop_reason == "pool_used":
        return [f"All {plan.n_observed:,} cases of the pool are used: there is no round left to plan for {target}."]
    lines = []
    if plan.stop_reason == "not_worth":
        shortfall = (cost_words(plan.shortfall_cost) if plan.cost_per_case is not None
                     else f"{plan.shortfall_cost:,.0f} cases")
        lines.append(f"Annotate no more for {target}: within {where} and {rounds}, no plan's chance of reaching it "
                     f"pays for its cases when missing it costs {shortfall}.")
    else:
        cost = (f", costing {cost_words(cost_of(plan.annotate_to, plan.n_observed, plan.cost_per_case))}"
                if plan.cost_per_case is not None else "")
        head = (f"In rounds: annotate up to {size_text(plan.annotate_to, plan.n_observed)} cases now "
                f"({more_than(plan.annotate_to, plan.n_observed):,} more{cost})")
        if plan.rounds == 1:
            lines.append(f"{head} and retrain; this is the last round. Chance that {target} is reached: "
                         f"{chance_words(plan.chance_by_end)}.")
        else:
            lines.append(f"{head}; retrain; with the Dice measured there, samplecast plans the next round "
                         f"({rounds} left in all). Chance that {target} is reached by the end: "
                         f"{chance_words(plan.chance_by_end)}; expected cases in all: about "
                         f"{estimate(plan.expected_cases)}.")
    if not plan.fair_chance:
        lines.append(f"No plan within {where} and {rounds} gives a fair chance: even all of it reaches {target} "
                     f"with a chance of {chance_words(plan.chance_at_pool)}.")
    return lines


# --- warnings about a curve -----------------------------------------------------------------------------------


def flat_curve(label: str, dice: float, n_first: float, n_last: float) -> str:
    return (f"{label}: Dice stays at {dice:.3f} from {n_first:,.0f} to {n_last:,.0f} cases: the runs seem to have "
            "learned nothing beyond a constant answer (an all-foreground or empty prediction scores like this), so "
            "the curve cannot support a forecast.")


def plateau_curve(label: str, dice: float, n_first: float, n_last: float) -> str:
    return (f"{label}: Dice stays at {dice:.3f} from {n_first:,.0f} to {n_last:,.0f} cases: the curve has reached a "
            "plateau within the sizes measured, so more cases of the same kind are unlikely to raise it; a higher "
            "Dice needs a better model or better labels rather than more of them.")


def zigzag_curve(label: str, falls: int, largest: float, n_from: float, n_to: float) -> str:
    return (f"{label}: Dice falls {falls} time{'s' if falls != 1 else ''} as the data grows, by up to {largest:.3f} "
            f"(from {n_from:,.0f} to {n_to:,.0f} cases); more data does not lower Dice, so the runs scatter at least "
            "that much from run to run (no test-set sizes were given to judge it by), and the forecast's ranges may "
            "be too narrow.")


def few_test_cases(label: str, fewest: int) -> str:
    return (f"{label}: Dice was measured on only {fewest} test case{'s' if fewest != 1 else ''}; one case more or "
            "less moves it more than the forecast can resolve.")


def noisy_curve(label: str, noise: float, between: str, standard_error: float) -> str:
    return (f"{label}: Dice scatters by {noise:.3f} {between}, {noise / standard_error:.0f}x the "
            f"{standard_error:.3f} its test set explains (dice_sd / sqrt(n_test)); the runs are noisier than their "
            "measurement, so the forecast's ranges may be too narrow.")


# --- page 1 of the report -------------------------------------------------------------------------------------


def subtitle(file: str | None, curves: int, runs: int, method: str, created: str) -> str:
    """The line under the report's title: where the curves came from, the method and the date."""
    return (f"Learning-curve forecast from {file or 'curves in memory'} ({curves} curve{'s' if curves != 1 else ''}, "
            f"{runs} training runs), method '{method}', written {created}.")


def question(options: PlanOptions) -> str:
    """The planner's question in words, ending with what the confidence means."""
    asked = []
    if options.target_dice is not None:
        asked.append(f"reach test Dice **{options.target_dice:.2f}** with {options.confidence:.0%} confidence")
    asked.append(f"find where doubling the data gains less than {options.plateau_gain:.3f} Dice")
    if options.pool_size is not None:
        asked.append(f"predict Dice if all {options.pool_size:,} cases of the pool were annotated (no answer exceeds "
                     "the pool)")
    cost = (f" Annotating one case costs {options.cost_per_case:,.2f} {COST_UNIT} (the currency the cost per case is "
            "given in); costs count only cases beyond those already used." if options.cost_per_case is not None
            else "")
    return "The question: " + "; ".join(asked) + "." + cost + " " + confidence_words(options.confidence)


def best_configuration(options: PlanOptions, answers: Sequence[tuple[int | None, str, int]]) -> str | None:
    """One sentence naming the configuration that reaches the target with the fewest cases, from each curve's
    ``(n_for_target, short label, largest size measured)`` (several curves only)."""
    if len(answers) < 2 or options.target_dice is None:
        return None
    reaching = [(n, label, measured) for n, label, measured in answers if n is not None]
    if not reaching:
        where = limit_words(options)
        return (f"No configuration reaches Dice {options.target_dice:.2f} with {options.confidence:.0%} confidence "
                f"within {where}.")
    n, label, measured = min(reaching)
    return (f"Of the {len(answers)} configurations, **{label}** reaches Dice {options.target_dice:.2f} with "
            f"the fewest cases (about {size_text(n, measured)}).")


# --- what each figure and table of the report shows ---------------------------------------------------------


def rounds_caption(options: PlanOptions) -> str:
    """How the plan in rounds is made, or why there is none."""
    if options.planned_rounds is None:
        return "A plan in rounds aims at a target Dice, and none was given."
    rounds = options.planned_rounds
    from samplecast.forecast.rounds import shortfall_multiple

    multiple = shortfall_multiple(options.shortfall_cost)
    shortfall = (f"{multiple:g} times the cost of annotating the whole pool" if multiple is not None
                 else cost_words(float(options.shortfall_cost)) if options.cost_per_case is not None
                 else f"{float(options.shortfall_cost):,.0f} cases")
    unit = "" if options.cost_per_case is not None else " (costs are counted in cases, as no cost per case was given)"
    return (f"Cases are annotated in rounds: annotate up to the size below, retrain on all the cases annotated so "
            "far, and run samplecast again on the new curve to plan the next round. Each round's size is the one "
            f"that minimises the expected total cost over the {rounds} round{'s' if rounds != 1 else ''} left: the "
            f"cases annotated, plus, if the target is still missed after the last round, a shortfall costing "
            f"{shortfall}{unit}. The expectation is taken over the forecast's whole distribution of the fewest cases "
            "that reach the target, given that the cases used so far do not; later rounds are paid only while the "
            "target is not reached. The planned sizes of later rounds are a guide: each is planned again from what "
            "is measured.")


def learning_curves_caption(options: PlanOptions, reach_factor: int, min_drawn: float) -> str:
    reach = (f"the pool size ({options.pool_size:,}; where the pool is closer than {min_drawn:g}x the largest size "
             f"measured, out to {min_drawn:g}x, past the pool's dash-dotted line)" if options.pool_size is not None
             else f"{reach_factor}x the largest size measured (further where the target needs it)")
    return (f"Test Dice measured on nested training subsets (dots), and the forecast beyond them out to {reach}: the "
            "median (line) with its 50% and 80% intervals (shading). The size axis is logarithmic: each step to the "
            "right multiplies the annotated cases."
            + (" The red line marks the cases needed to reach the target with the chosen confidence (none where the "
               "forecast is at or above the target at the smallest size measured)."
               if options.target_dice is not None else ""))


def targets_caption(options: PlanOptions, beyond_column: bool) -> str:
    """What the target table shows; ``beyond_column`` when it has the column of sizes needed beyond the pool."""
    levels = ("For Dice levels around the target" if options.target_dice is not None else
              "No target Dice was given, so for Dice levels from just above today's up to the forecast at the reach")
    limit = limit_words(options)
    confidence = f"{options.confidence:.0%}"
    return (f"{levels}, the training cases needed: with {confidence} confidence (the recommendation), by the "
            f"median forecast, and the range of that size at the same {confidence}; then how many more cases "
            "than today that means" + (" and what they cost (in cost units)." if options.cost_per_case is not None
                                       else ".")
            + f" \"> N\" means the level is not reached within {limit} (N cases); \"≥\" marks a range whose upper "
            "end lies beyond it; \"≤ N\" a level the forecast already reaches at the smallest size measured (N "
            "cases), so fewer cases may do. Sizes beyond the largest measured are rounded to three figures."
            + (" Where the pool does not suffice, the last column gives the size the forecast would need beyond it: "
               "an extrapolation to more cases than exist, not a recommendation." if beyond_column else ""))


def expected_title(options: PlanOptions, reach_factor: int) -> str:
    return ("Expected Dice with the whole pool" if options.pool_size is not None else
            f"Expected Dice at {reach_factor}x today's cases (no pool size given)")


def limit_words(options: PlanOptions) -> str:
    """Where every search for a size stops: the pool, or the horizon."""
    return f"the pool of {options.pool_size:,} cases" if options.pool_size is not None else "the horizon searched"


def marginal_caption(step: int, options: PlanOptions, gain: float) -> str:
    """What the marginal-value figure and table show; ``gain`` is the Dice gain the table prices."""
    plateau_gain, limit = options.plateau_gain, limit_words(options)
    return (f"What the next cases buy at each size, by the median forecast. Left: Dice gained by {step:,} more cases "
            "(log scale; a gap where the median dips, as a log scale shows no loss). Right: Dice gained by doubling "
            f"the data; where it drops below {plateau_gain:.3f} (dashed) for good, more data stops paying and the "
            "curve has reached its plateau. In the table, "
            f"\"+{gain:.2f} Dice at\" is the size where the median forecast is {gain:.2f} above today's"
            + (", and its cost that of the cases up to it" if options.cost_per_case is not None else "")
            + f"; \"> N\": not within {limit}.")
