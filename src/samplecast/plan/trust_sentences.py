"""The sentences of the report's "how far to trust it": what a backtest is, where its figures come from, how far
this plan reaches beyond them, and the caveats every forecast carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samplecast.forecast.backtest_rows import DecisionRow

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
)


def caveats(fewest: int, most: int) -> tuple[str, ...]:
    """The caveats of a plan whose curves average ``fewest`` to ``most`` runs (seeds) at a size: what every forecast
    assumes, and what the seeds say about the noise."""
    if most >= 2:
        averaged = str(most) if fewest == most else f"{fewest} to {most}"
        seeds = (f"Seed-to-seed spread is part of the measurement: {averaged} seeds were averaged per size, so their "
                 "spread is measured"
                 + ("; a size with fewer seeds is noisier than its neighbours." if fewest < most else "."))
    else:
        seeds = ("Seed-to-seed spread is part of the measurement: with one seed per size the noise is assumed, not "
                 "measured; more seeds per size, averaged into one curve, give better-founded intervals.")
    return (*CAVEATS, seeds)



# --- the backtests --------------------------------------------------------------------------------------


NO_SHIPPED_BACKTEST = ("this version of samplecast ships no backtest of its methods on curves they never learned "
                       "from")


def method_not_backtested(method: str, covered: Sequence[str]) -> str:
    return f"the forecaster's backtest does not cover the method '{method}' (it covers {', '.join(covered)})"


def scored_in_the_backtest(file: str, others: str | None = None) -> str:
    """Why the planner's curves get no backtest of their own: ``file`` was learned from; ``others``, the tables read
    with it that were not, can be backtested alone."""
    alone = (f"; read as one table with them, {others} is not scored either: run samplecast backtest on it alone"
             if others else "")
    return (f"{file} is among the curves of the backtest above, scored there with the method learned without them; "
            f"the method forecasting here has learned from them, so they are not scored again here{alone}")


def too_short_to_backtest(cutoff: float) -> str:
    return (f"your curves are too short to backtest: a curve needs at least 3 sizes below {cutoff:.0%} of its largest "
            "size")


def trust_summary(cutoff: float, mae: float, bias: float, coverage80: float, reaches: Sequence[tuple[float, str]],
                  mae_interval: tuple[float | None, float | None] = (None, None)) -> str:
    """The widest-reaching pooled backtest row (its ``cutoff``, errors and coverage, and the 95% interval of its MAE
    over the configurations scored, where known) in words, and how far this plan's answers reach compared with it
    (``reaches``: each curve's recommended size over its largest measured size, with its label)."""
    direction = ""
    if abs(bias) > 0.5 * mae:
        direction = ", mostly " + ("too low" if bias < 0 else "too high")
    low, high = mae_interval
    rough = ("" if low is None or high is None else
             f" (a figure measured on few sweeps: resampling them, its 95% interval is {low:.3f} to {high:.3f})")
    lines = [f"Forecasting from {cutoff:.0%} of each curve, the median missed the measured Dice by {mae:.3f} on "
             f"average{direction}{rough}, and the 80% interval held it in {coverage80:.0%} of cases (ideally 80%: "
             "less means the intervals are too narrow, more that they are wider than needed)."]
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


def cutoff_notes(coverage: Sequence[tuple[float, int, float | None]], curves: int) -> list[str]:
    """Why a backtest cutoff has no row, a row of fewer curves, or a row repeating another's, from
    :func:`~samplecast.forecast.evaluate.cutoff_coverage` over ``curves`` curves."""
    from samplecast.curves import MIN_SIZES

    notes = []
    for cutoff, scored, same in coverage:
        if scored == 0:
            notes.append(f"{cutoff:.0%} is left out: no curve has {MIN_SIZES} sizes at or below {cutoff:.0%} of its "
                         "largest size")
        elif same is not None:
            notes.append(f"{cutoff:.0%} keeps the same sizes as {same:.0%} on every curve (none was measured "
                         f"between), so its figures repeat those of {same:.0%}")
        elif scored < curves:
            notes.append(f"{cutoff:.0%} scores {scored} of the {curves} curves: the others have fewer than "
                         f"{MIN_SIZES} sizes at or below it")
    return notes


def fewer_scored(rows: Sequence[tuple[float, int]]) -> str | None:
    """Why some cutoffs of a backtest score fewer curves than others, from each row's ``(cutoff, curves)``, or
    ``None`` when every cutoff scores them all."""
    from samplecast.curves import MIN_SIZES

    most = max(curves for _, curves in rows)
    fewer = [f"{cutoff:.0%}: {curves} of {most}" for cutoff, curves in rows if curves < most]
    if not fewer:
        return None
    return (f"Some cutoffs score fewer curves ({'; '.join(fewer)}): the others have fewer than {MIN_SIZES} sizes "
            "at or below that share of their largest size, too few to forecast from.")


def own_backtest(curves: int, file: str | None, cutoffs: Sequence[float], notes: Sequence[str] = ()) -> str:
    """The backtest on the planner's curves in words, with why a cutoff has no row (``notes``)."""
    why = f" ({'; '.join(notes)})" if notes else ""
    return (f"On your own curves ({curves} curve{'s' if curves != 1 else ''} of {file or 'this plan'}), each cut at "
            f"{' and '.join(f'{c:.0%}' for c in cutoffs)} of its largest size and forecast to it{why}:")


def no_own_backtest(note: str) -> str:
    return f"Your own curves: {note}."


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
