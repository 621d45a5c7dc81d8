"""Every English sentence a planner reads, in the terminal and in the PDF alike: the recommendation, what the
confidence means, the question asked, warnings about curves, how far to trust the forecast, and its caveats.

The report takes these sentences from the plan document and composes none of its own about the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samplecast.forecast.rounds import RoundPlan
    from samplecast.plan.trust import DecisionRow
    from samplecast.plan.options import PlanOptions
    from samplecast.plan.recommendation import Recommendation

#: What every forecast assumes, stated in every report.
CAVEATS: tuple[str, ...] = (
    "The forecast assumes the cases still to be annotated are trained on with the same protocol (network, "
    "steps, image size, augmentation) as the runs measured here; a different protocol has a different curve.",
    "It assumes the same annotation quality: new labels drawn the same way, by annotators as careful, on cases "
    "from the same population (scanner, site, disease mix).",
    "It assumes the fixed test split represents the cases the model will meet; Dice on an unrepresentative "
    "test split forecasts the wrong thing precisely.",
    "The further a forecast reaches beyond the largest size measured, the less certain it is: the intervals widen, "
    "and the backtest above measured errors only as far as the reference curves reached.",
    "Seed-to-seed spread is part of the measurement: with one seed per size the noise is assumed, not measured; "
    "more seeds (--average-seeds) give better-founded intervals.",
)


def chances(confidence: float) -> str:
    """A probability in plain words: 0.8 -> ``4 chances in 5``, 0.95 -> ``19 chances in 20``."""
    share = Fraction(confidence).limit_denominator(100)
    return f"{share.numerator} chance{'s' if share.numerator != 1 else ''} in {share.denominator}"


def confidence_words(confidence: float) -> str:
    """What the confidence means, in one sentence for the terminal and page 1."""
    return (f"Confidence {confidence:.0%} means at least {chances(confidence)} that a model trained on the "
            "recommended cases reaches the target; ranges of sizes and of Dice are given at the same "
            f"{confidence:.0%}.")


def cost_words(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def horizon_words(rec: Recommendation) -> str:
    """Where searches stopped, in words."""
    if rec.pool_size is not None:
        return f"the pool of {rec.pool_size:,} cases"
    return f"{rec.horizon:,} cases (the horizon searched, {rec.horizon / max(rec.n_observed, 1):.0f}x the " \
           f"{rec.n_observed:,} used so far)"


def recommendation_sentences(rec: Recommendation) -> list[str]:
    """The recommendation in words, for the terminal and the report."""
    lines = []
    if rec.target_dice is not None:
        lines.append(_target_sentence(rec))
    if rec.next_round is not None:
        lines += round_sentences(rec.next_round)
    if rec.n_plateau is None:
        lines.append(f"Up to {horizon_words(rec)} each doubling of the data still gains at least "
                     f"{rec.plateau_gain:.3f} Dice.")
    elif rec.n_plateau <= rec.n_observed:
        lines.append(f"Doubling the data already gains less than {rec.plateau_gain:.3f} Dice: by the forecast "
                     f"the curve flattens from about {rec.n_plateau:,} cases.")
    else:
        cost = f" (costing {cost_words(rec.cost_to_plateau)} more)" if rec.cost_to_plateau else ""
        lines.append(f"Beyond about {rec.n_plateau:,} cases{cost} doubling the data gains less than "
                     f"{rec.plateau_gain:.3f} Dice.")
    if rec.dice_at_pool is not None:
        d = rec.dice_at_pool
        cost = f", costing {cost_words(rec.cost_to_pool)}" if rec.cost_to_pool is not None else ""
        lines.append(f"Annotating the whole pool of {rec.pool_size:,} cases is expected to give Dice "
                     f"{d['q50']:.3f} ({rec.confidence:.0%} range {d['low']:.3f}-{d['high']:.3f}){cost}.")
    else:
        lines.append(f"No pool size was given: sizes up to {rec.horizon:,} cases "
                     f"({rec.horizon / max(rec.n_observed, 1):.0f}x the {rec.n_observed:,} used so far) "
                     "were searched.")
    return lines


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
                         f"{rec.n_beyond_pool:,} cases (an extrapolation to more cases than exist).")
            elif rec.beyond_horizon and rec.beyond_horizon > rec.pool_size:
                text += f" Nor would it within {rec.beyond_horizon:,} cases."
            return text
        return (f"Dice {target:.2f} is not reached with {conf} within {horizon_words(rec)}; consider a lower "
                "target or a better model.")
    span = _range_words(rec)
    cost = f", costing {cost_words(rec.cost_to_target)}" if rec.cost_to_target is not None else ""
    if rec.dice_now >= target:
        if not rec.additional_to_target:
            return (f"Dice {target:.2f} is already reached: the {rec.n_observed:,} cases used so far measured "
                    f"{rec.dice_now:.3f}, and the forecast reaches it with {conf} ({chance}) from about "
                    f"{rec.n_for_target:,} cases{span}.")
        return (f"Dice {target:.2f} was already measured ({rec.dice_now:.3f} with the {rec.n_observed:,} cases "
                f"used so far), but one measurement is noisy: to reach it with {conf} ({chance}) the forecast "
                f"asks for about {rec.n_for_target:,} cases{span}, {rec.additional_to_target:,} more{cost}.")
    head = f"To reach Dice {target:.2f} with {conf} ({chance})"
    if rec.additional_to_target:
        return (f"{head}, annotate about {rec.n_for_target:,} training cases{span}: "
                f"{rec.additional_to_target:,} more than the {rec.n_observed:,} used so far{cost}.")
    return (f"{head}, about {rec.n_for_target:,} training cases suffice{span}: the {rec.n_observed:,} used so "
            "far already reach it.")


def _range_words(rec: Recommendation) -> str:
    low, high = rec.n_target_range or (None, None)
    if low is None:
        return ""
    upper = f"{high:,}" if high is not None else f"more than {rec.horizon:,}"
    return f" ({rec.confidence:.0%} range {low:,} to {upper})"


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


def about(n: float) -> str:
    """A size estimated rather than measured, to two significant figures from 100 on: 3,487 -> ``3,500``."""
    if n < 100:
        return f"{round(n):,}"
    digits = len(str(int(round(n)))) - 2
    return f"{int(round(n, -digits)):,}"


def round_sentences(plan: RoundPlan) -> list[str]:
    """The next round in words: how many cases to annotate now and what follows, or why to stop."""
    target = f"Dice {plan.target_dice:.2f}"
    where = (f"the pool of {plan.pool_size:,} cases" if plan.pool_size is not None
             else f"{plan.horizon:,} cases (the sizes searched)")
    rounds = f"{plan.rounds} round{'s' if plan.rounds != 1 else ''}"
    if plan.stop_reason == "reached":
        return [f"The measured curve already reaches {target} ({plan.dice_now:.3f} with the {plan.n_observed:,} "
                "cases used so far): annotate no more for this target."]
    if plan.stop_reason == "pool_used":
        return [f"All {plan.n_observed:,} cases of the pool are used: there is no round left to plan for {target}."]
    lines = []
    if plan.stop_reason == "not_worth":
        lines.append(f"Annotate no more for {target}: within {where} and {rounds}, no plan's chance of reaching it "
                     f"pays for its cases when missing it costs {cost_words(plan.shortfall_cost)}"
                     f"{'' if plan.cost_per_case is not None else ' cases'}.")
    else:
        cost = f", costing {cost_words(plan.cost_now)}" if plan.cost_now is not None else ""
        head = f"In rounds: annotate up to {plan.annotate_to:,} cases now ({plan.more:,} more{cost})"
        if plan.rounds == 1:
            lines.append(f"{head} and retrain; this is the last round. Chance that {target} is reached: "
                         f"{chance_words(plan.chance_by_end)}.")
        else:
            lines.append(f"{head}; retrain; with the Dice measured there, samplecast plans the next round "
                         f"({rounds} left in all). Chance that {target} is reached by the end: "
                         f"{chance_words(plan.chance_by_end)}; expected cases in all: about "
                         f"{about(plan.expected_cases)}.")
    if not plan.fair_chance:
        lines.append(f"No plan within {where} and {rounds} gives a fair chance: even all of it reaches {target} "
                     f"with a chance of {chance_words(plan.chance_at_pool)}.")
    return lines


def decisions_summary(rows: Sequence[DecisionRow]) -> str | None:
    """What the planner's decisions achieved on image sets the method never learned from, in one sentence, or
    ``None`` when they were not replayed."""
    found = {r.policy: r for r in rows}
    parts = []
    for policy, words in (("3 rounds", "a plan in 3 rounds"), ("1 round", "a plan in 1 round (one shot)"),
                          ("one-shot 80%", "annotating the one-shot answer at 80% confidence")):
        r = found.get(policy)
        if r is None:
            continue
        reached = round(r.reached * r.decisions)
        extra = (f", annotating a median of {r.cases_ratio_median - 1:.0%} more cases than the fewest that sufficed"
                 if r.cases_ratio_median is not None else "")
        parts.append(f"{words} reached the target in {reached} of {r.decisions} cases{extra}")
    if not parts:
        return None
    from samplecast.forecast.evaluate.decisions import DECISION_CUTOFFS, TARGET_AT, TARGET_MARGIN

    cutoffs = " and ".join(f"{c:.0%}" for c in DECISION_CUTOFFS)
    targets = " and ".join(f"{t:.0%}" for t in TARGET_AT)
    return (f"Replayed as a planner would use them, on image sets the method never learned from (from {cutoffs} of "
            f"each curve's largest size, for targets at the Dice it measures at {targets} of it minus "
            f"{TARGET_MARGIN:.2f}): " + "; ".join(parts) + ".")


# --- warnings about a curve -----------------------------------------------------------------------------------


def flat_curve(label: str, dice: float, n_first: float, n_last: float) -> str:
    return (f"{label}: Dice stays at {dice:.3f} from {n_first:,.0f} to {n_last:,.0f} cases: the runs seem to have "
            "learned nothing beyond a constant answer (an all-foreground or empty prediction scores like this), so "
            "the curve cannot support a forecast.")


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
    cost = (f" Annotating one case costs {options.cost_per_case:,.2f}; costs count only cases beyond those already "
            "used." if options.cost_per_case is not None else "")
    return "The question: " + "; ".join(asked) + "." + cost + " " + confidence_words(options.confidence)


def best_configuration(options: PlanOptions, answers: Sequence[tuple[int | None, str]]) -> str | None:
    """One sentence naming the configuration that reaches the target with the fewest cases, from each curve's
    ``(n_for_target, short label)`` (several curves only)."""
    if len(answers) < 2 or options.target_dice is None:
        return None
    reaching = [(n, label) for n, label in answers if n is not None]
    if not reaching:
        where = (f"the pool of {options.pool_size:,} cases" if options.pool_size is not None
                 else "the horizon searched")
        return (f"No configuration reaches Dice {options.target_dice:.2f} with {options.confidence:.0%} confidence "
                f"within {where}.")
    n, label = min(reaching)
    return (f"Of the {len(answers)} configurations, **{label}** reaches Dice {options.target_dice:.2f} with "
            f"the fewest cases (about {n:,}).")


# --- how far to trust it --------------------------------------------------------------------------------------


NO_SHIPPED_BACKTEST = ("this version of samplecast ships no backtest of its methods on curves they never learned "
                       "from")


def method_not_backtested(method: str, covered: Sequence[str]) -> str:
    return f"the forecaster's backtest does not cover the method '{method}' (it covers {', '.join(covered)})"


def scored_in_the_backtest(file: str) -> str:
    return (f"{file} is among the curves of the backtest above, scored there with the method learned without them; "
            "the method forecasting here has learned from them, so they are not scored again here")


def too_short_to_backtest(cutoff: float) -> str:
    return (f"your curves are too short to backtest: a curve needs at least 3 sizes below {cutoff:.0%} of its largest "
            "size")


def trust_summary(cutoff: float, mae: float, bias: float, coverage80: float,
                  reaches: Sequence[tuple[float, str]]) -> str:
    """The widest-reaching pooled backtest row (its ``cutoff``, errors and coverage) in words, and how far this
    plan's answers reach compared with it (``reaches``: each curve's recommended size over its largest measured
    size, with its label)."""
    direction = ""
    if abs(bias) > 0.5 * mae:
        direction = ", mostly " + ("too low" if bias < 0 else "too high")
    lines = [f"Forecasting from {cutoff:.0%} of each curve, the median missed the measured Dice by {mae:.3f} on "
             f"average{direction}, and the 80% interval held it in {coverage80:.0%} of cases (ideally 80%: less "
             "means the intervals are too narrow, more that they are wider than needed)."]
    factor, label = max(reaches, default=(0.0, ""))
    if factor > 1:
        tested = 1 / cutoff
        verdict = "within" if factor <= tested else "beyond"
        lines.append(f"This report's farthest recommendation ({label}) is {factor:.1f}x the largest size measured, "
                     f"{verdict} the {tested:.0f}x reach the backtest covered.")
    return " ".join(lines)


def backtest_intro(method: str) -> str:
    return ("Forecasts are checked by backtesting: complete learning curves are cut short, the method forecasts Dice "
            "at the largest size from the part kept, and the forecast is compared with what was measured there. "
            f"Every figure below comes from curves the method '{method}' never learned from.")


def no_reference_figures(note: str) -> str:
    return f"No reference figures: {note}. Measure the method on complete curves of your own with:"


def datasets_words(datasets: Sequence[tuple[str, int, Sequence[str]]]) -> str:
    """Image sets in words from ``(name, curves, files)``: ``Kvasir-SEG (12 curves: data/a.csv, data/b.csv), ...``."""
    return ", ".join(f"{name} ({curves} curves: {', '.join(files)})" for name, curves, files in datasets)


def shipped_backtest(method: str, protocol: str, forecaster: str, datasets: str, created: str | None,
                     machine: str | None) -> str:
    """Where the forecaster's backtest figures come from (``datasets`` from :func:`datasets_words`)."""
    curves = "shipped with samplecast" if forecaster == "shipped" else f"the forecaster in {forecaster} was built from"
    return (f"Method '{method}', {protocol} on the real learning curves {curves}: {datasets}. Each dataset's curves "
            f"were forecast by the method as learned from the other datasets only. Measured "
            f"{created or 'on an unrecorded date'}" + (f" on {machine}" if machine else "") + ".")


def own_backtest(curves: int, file: str | None, cutoffs: Sequence[float]) -> str:
    return (f"On your own curves ({curves} curve{'s' if curves != 1 else ''} of {file or 'this plan'}), each cut at "
            f"{' and '.join(f'{c:.0%}' for c in cutoffs)} of its largest size and forecast to it:")


def no_own_backtest(note: str) -> str:
    return f"Your own curves: {note}."


# --- what each figure and table of the report shows ---------------------------------------------------------


def rounds_caption(options: PlanOptions) -> str:
    """How the plan in rounds is made, or why there is none."""
    if options.planned_rounds is None:
        return "A plan in rounds aims at a target Dice, and none was given."
    rounds = options.planned_rounds
    from samplecast.forecast.rounds import shortfall_multiple

    multiple = shortfall_multiple(options.shortfall_cost)
    shortfall = (f"{multiple:g} times the cost of annotating the whole pool" if multiple is not None
                 else cost_words(float(options.shortfall_cost)))
    unit = "" if options.cost_per_case is not None else " (costs are counted in cases, as no cost per case was given)"
    return (f"Cases are annotated in rounds: annotate up to the size below, retrain on all the cases annotated so "
            "far, and run samplecast again on the new curve to plan the next round. Each round's size is the one "
            f"that minimises the expected total cost over the {rounds} round{'s' if rounds != 1 else ''} left: the "
            f"cases annotated, plus, if the target is still missed after the last round, a shortfall costing "
            f"{shortfall}{unit}. The expectation is taken over the forecast's whole distribution of the fewest cases "
            "that reach the target, given that the cases used so far do not; later rounds are paid only while the "
            "target is not reached. The planned sizes of later rounds are a guide: each is planned again from what "
            "is measured.")


def learning_curves_caption(options: PlanOptions, reach_factor: int) -> str:
    reach = (f"the pool size ({options.pool_size:,})" if options.pool_size is not None
             else f"{reach_factor}x the largest size measured (further where the target needs it)")
    return (f"Test Dice measured on nested training subsets (dots), and the forecast beyond them out to {reach}: the "
            "median (line) with its 50% and 80% intervals (shading). The size axis is logarithmic: each step to the "
            "right multiplies the annotated cases."
            + (" The red line marks the cases needed to reach the target with the chosen confidence."
               if options.target_dice is not None else ""))


def targets_caption(options: PlanOptions) -> str:
    levels = ("For Dice levels around the target" if options.target_dice is not None else
              "No target Dice was given, so for Dice levels from just above today's up to the forecast at the reach")
    limit = f"the pool of {options.pool_size:,} cases" if options.pool_size is not None else "the horizon searched"
    confidence = f"{options.confidence:.0%}"
    return (f"{levels}, the training cases needed: with {confidence} confidence (the recommendation), by the "
            f"median forecast, and the range of that size at the same {confidence}; then how many more cases "
            "than today that means" + (" and what they cost." if options.cost_per_case is not None else ".")
            + f" \"> N\" means the level is not reached within {limit} (N cases); \"≥\" marks a range whose upper "
            "end lies beyond it." + (" Where the pool does not suffice, the last column gives the size the forecast "
                                     "would need beyond it: an extrapolation to more cases than exist, not a "
                                     "recommendation." if options.pool_size is not None else ""))


def expected_title(options: PlanOptions, reach_factor: int) -> str:
    return ("Expected Dice with the whole pool" if options.pool_size is not None else
            f"Expected Dice at {reach_factor}x today's cases (no pool size given)")


def marginal_caption(step: int, plateau_gain: float) -> str:
    return (f"What the next cases buy at each size, by the median forecast. Left: Dice gained by {step:,} more cases "
            f"(log scale). Right: Dice gained by doubling the data; where it drops below {plateau_gain:.3f} (dashed), "
            "more data stops paying and the curve has reached its plateau.")
