"""The planner's PDF: the answer first, then the learning curves, the cases each target needs, what more data buys,
how far to trust the forecast, and where the numbers came from.

Every number is read off the same :class:`~samplecast.plan.CurvePlan` objects ``samplecast forecast --json`` writes,
so the report and the JSON agree.

Example:
    >>> plans = plan_curves(load_curves("curves.csv"), PlanOptions(target_dice=0.8, pool_size=2000))  # doctest: +SKIP
    >>> write_report(plans, "ensemble", "report.pdf", source="curves.csv")                             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from samplecast import __version__
from samplecast.curves import GROUP_DEFAULTS
from samplecast.forecast.predict import DEFAULT_REACH
from samplecast.plan import CurvePlan, Recommendation
from samplecast.report.document import ReportDocument
from samplecast.report.figures import MAX_PANELS, curve_colors, learning_curves_figure, marginal_value_figure
from samplecast.report.provenance import Provenance, collect_provenance
from samplecast.report.tables import (
    expected_dice,
    marginal_value,
    short_labels,
    target_levels,
    target_table,
    value_step,
)
from samplecast.report.trust import CAVEATS, BacktestSummary

#: The sections of every report, in order (tests and readers look for these headings).
SECTIONS: tuple[str, ...] = (
    "The answer",
    "Learning curves and forecast",
    "Cases needed for each target",
    "What more data buys",
    "How far to trust it",
    "Inputs and provenance",
)

#: Called with the name of each section as it is written (the CLI shows it as progress).
SectionCallback = Callable[[str], None]


def write_report(
    plans: Sequence[CurvePlan],
    method: str,
    path: str | Path,
    *,
    source: str | Path | None = None,
    title: str | None = None,
    backtest: BacktestSummary | None = None,
    created: datetime | None = None,
    progress: SectionCallback | None = None,
) -> Path:
    """Write the planner's report on ``plans`` (made with ``method`` from the curves file ``source``) to ``path``.

    Args:
        plans: one forecast and recommendation per curve, from :func:`samplecast.plan.plan_curves`.
        method: the forecasting method's name.
        path: the PDF to write.
        source: the curves file the plans came from, for the provenance section (checksummed).
        title: the document title; default names the datasets.
        backtest: the backtest numbers to quote; default the summary shipped with the package.
        created: the date to print; default now.
        progress: called with each section's name as it is written.

    Returns:
        ``path``.
    """
    if not plans:
        raise ValueError("a report needs at least one curve plan")
    path = Path(path)
    title = title or default_title(plans)
    provenance = collect_provenance(plans, method, source, created=created)
    backtest = backtest if backtest is not None else BacktestSummary.load()
    doc = ReportDocument(title, footer_note=f"samplecast {__version__} · {provenance.created:%Y-%m-%d}")
    doc.add_page()
    doc.title_block(title, _subtitle(plans, provenance))
    writers = (
        lambda name: _answer(doc, name, plans, provenance),
        lambda name: _learning_curves(doc, name, plans),
        lambda name: _targets(doc, name, plans),
        lambda name: _marginal(doc, name, plans),
        lambda name: _trust(doc, name, plans, backtest, method),
        lambda name: _provenance(doc, name, plans, provenance, path, title),
    )
    for name, write in zip(SECTIONS, writers):
        if progress:
            progress(name)
        write(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.output(str(path))
    return path


def default_title(plans: Sequence[CurvePlan]) -> str:
    """``How many cases to annotate: <dataset>`` when the curves name their dataset(s)."""
    names = list(dict.fromkeys(str(p.forecast.curve.key.get("dataset", "")) for p in plans))
    names = [n for n in names if n and n != GROUP_DEFAULTS["dataset"]]
    return "How many cases to annotate" + (f": {', '.join(names)}" if names else "")


def _subtitle(plans: Sequence[CurvePlan], prov: Provenance) -> str:
    source = f"{prov.source}" if prov.source else "curves in memory"
    count = len(plans)
    return (f"Learning-curve forecast from {source} ({count} curve{'s' if count != 1 else ''}, {prov.runs} training "
            f"runs), method '{prov.method}', written {prov.created:%d %B %Y}.")


# --- 1. the answer ----------------------------------------------------------------------------------------------


def _answer(doc: ReportDocument, name: str, plans: Sequence[CurvePlan], prov: Provenance) -> None:
    doc.section(name)
    doc.paragraph(_question(prov), markdown=True)
    best = _best_configuration(plans)
    if best:
        doc.paragraph(best, markdown=True)
    for plan in plans:
        doc.subheading(plan.forecast.curve.label)
        doc.bullets(plan.recommendation.sentences())
    rec = plans[0].recommendation
    with_target, with_cost, with_pool = rec.target_dice is not None, rec.cost_per_case is not None, rec.pool_size
    heading = ["configuration", "cases now", "Dice now"]
    heading += [f"cases for {rec.target_dice:.2f}", "more cases"] if with_target else []
    heading += ["cost"] if with_target and with_cost else []
    heading += ["plateau from"] + ([f"Dice with {rec.pool_size:,} (80%)"] if with_pool else [])
    rows = [heading]
    for plan, label in zip(plans, short_labels([p.forecast.curve for p in plans])):
        r, curve = plan.recommendation, plan.forecast.curve
        row = [label, f"{r.n_observed:,}", f"{curve.dice[-1]:.3f}"]
        if with_target:
            row += [_n(r.n_for_target, r.horizon), _more(r.additional_to_target)]
            row += [_cost(r.cost_to_target)] if with_cost else []
        row.append(_n(r.n_plateau, r.horizon))
        if with_pool:
            d = r.dice_at_pool
            row.append(f"{d['q50']:.3f} ({d['q10']:.2f}–{d['q90']:.2f})")
        rows.append(row)
    widths = [1.6] + [1.0] * (len(heading) - 2) + [1.7 if with_pool else 1.0]
    doc.table(rows, widths, title="At a glance")


def _question(prov: Provenance) -> str:
    o = prov.options
    asked = []
    if o.target_dice is not None:
        asked.append(f"reach test Dice **{o.target_dice:.2f}** with {o.confidence:.0%} confidence")
    asked.append(f"find where doubling the data gains less than {o.plateau_gain:.3f} Dice")
    if o.pool_size is not None:
        asked.append(f"predict Dice if all {o.pool_size:,.0f} cases of the pool were annotated")
    cost = (f" Annotating one case costs {o.cost_per_case:,.2f}; costs count only cases beyond those already used."
            if o.cost_per_case is not None else "")
    return "The question: " + "; ".join(asked) + "." + cost


def _best_configuration(plans: Sequence[CurvePlan]) -> str | None:
    """One sentence naming the configuration that reaches the target with the fewest cases (several curves only)."""
    rec = plans[0].recommendation
    if len(plans) < 2 or rec.target_dice is None:
        return None
    labels = short_labels([p.forecast.curve for p in plans])
    reaching = [(p.recommendation.n_for_target, label) for p, label in zip(plans, labels)
                if p.recommendation.n_for_target is not None]
    if not reaching:
        return (f"No configuration reaches Dice {rec.target_dice:.2f} with {rec.confidence:.0%} confidence within "
                "the search horizon.")
    n, label = min(reaching)
    return (f"Of the {len(plans)} configurations, **{label}** reaches Dice {rec.target_dice:.2f} with the fewest "
            f"cases (about {n:,}).")


# --- 2. learning curves -----------------------------------------------------------------------------------------


def _learning_curves(doc: ReportDocument, name: str, plans: Sequence[CurvePlan]) -> None:
    colors = curve_colors(len(plans))
    figures = [learning_curves_figure(plans[i:i + MAX_PANELS], colors[i:i + MAX_PANELS])
               for i in range(0, len(plans), MAX_PANELS)]
    doc.section(name, keep_with=doc.figure_height(figures[0]) + 22)
    rec = plans[0].recommendation
    reach = f"the pool size ({rec.pool_size:,})" if rec.pool_size else f"{DEFAULT_REACH}x the largest size measured"
    doc.paragraph(
        f"Test Dice measured on nested training subsets (dots), and the forecast beyond them out to {reach}: the "
        "median (line) with its 50% and 80% intervals (shading). The size axis is logarithmic: each step to the "
        "right multiplies the annotated cases."
        + (" The red line marks the cases needed to reach the target with the chosen confidence."
           if rec.target_dice is not None else ""))
    for figure in figures:
        doc.figure(figure)


# --- 3. targets -------------------------------------------------------------------------------------------------


def _targets(doc: ReportDocument, name: str, plans: Sequence[CurvePlan]) -> None:
    doc.section(name)
    rec = plans[0].recommendation
    levels = ("For Dice levels around the target" if rec.target_dice is not None else
              "No target Dice was given, so for Dice levels from just above today's up to the forecast at the reach")
    doc.paragraph(
        f"{levels}, the training cases needed: with {rec.confidence:.0%} confidence (the "
        "recommendation), by the median forecast, and the 80% range of that size; then how many more cases than "
        "today that means" + (" and what they cost." if rec.cost_per_case is not None else ".")
        + " \"> N\" means the level is not reached within the search horizon of N cases; \"≥\" marks a range "
        "whose upper end lies beyond it.")
    with_cost = rec.cost_per_case is not None
    heading = ["configuration", "target Dice", f"needed ({rec.confidence:.0%} conf.)", "median", "80% range",
               "more than today"] + (["cost"] if with_cost else [])
    rows, emphasis = [heading], []
    for plan, label in zip(plans, short_labels([p.forecast.curve for p in plans])):
        r = plan.recommendation
        table = target_table(plan, target_levels(r.target_dice, plan))
        for level in table.itertuples():
            if r.target_dice is not None and abs(level.target_dice - r.target_dice) < 1e-9:
                emphasis.append(len(rows) - 1)
            row = [label, f"{level.target_dice:.2f}", _n(level.n_needed, r.horizon),
                   _n(level.n_median, r.horizon), _span(level.n_low, level.n_high, r.horizon),
                   _more(level.additional)]
            rows.append(row + ([_cost(level.cost)] if with_cost else []))
    doc.table(rows, _widths(len(heading), first=0.2), emphasis=emphasis)

    heading = ["configuration", "cases", "expected Dice (median)", "80% interval"] + (["cost"] if with_cost else [])
    rows = [heading]
    for plan, label in zip(plans, short_labels([p.forecast.curve for p in plans])):
        r = plan.recommendation
        n = r.pool_size or round(DEFAULT_REACH * plan.forecast.curve.n_max)
        d = r.dice_at_pool or expected_dice(plan, n)
        more = max(0, n - r.n_observed)
        rows.append([label, f"{n:,}", f"{d['q50']:.3f}", f"{d['q10']:.3f}–{d['q90']:.3f}"]
                    + ([_cost(more * r.cost_per_case)] if with_cost else []))
    doc.table(rows, _widths(len(heading), first=0.25),
              title="Expected Dice with the whole pool" if rec.pool_size else
              f"Expected Dice at {DEFAULT_REACH}x today's cases (no pool size given)")


# --- 4. marginal value ------------------------------------------------------------------------------------------


def _marginal(doc: ReportDocument, name: str, plans: Sequence[CurvePlan]) -> None:
    figure = marginal_value_figure(plans)
    doc.section(name, keep_with=doc.figure_height(figure) + 18)
    rec = plans[0].recommendation
    step = value_step(max(p.forecast.curve.n_max for p in plans))
    doc.paragraph(
        f"What the next cases buy at each size, by the median forecast. Left: Dice gained by {step:,} more cases "
        f"(log scale). Right: Dice gained by doubling the data; where it drops below {rec.plateau_gain:.3f} (dashed), "
        "more data stops paying and the curve has reached its plateau.")
    doc.figure(figure)
    with_cost = rec.cost_per_case is not None
    heading = ["configuration", "cases now", f"Dice from {step:,} more", "Dice from doubling", "plateau from"]
    heading += ["cost of +0.01 Dice"] if with_cost else []
    rows = [heading]
    for plan, label in zip(plans, short_labels([p.forecast.curve for p in plans])):
        r = plan.recommendation
        value = marginal_value(plan, [r.n_observed], step).iloc[0]
        row = [label, f"{r.n_observed:,}", f"{value.gain_per_step:+.4f}", f"{value.gain_per_doubling:+.4f}",
               _n(r.n_plateau, r.horizon)]
        if with_cost:
            per_case = value.gain_per_step / step
            row.append(_cost(0.01 / per_case * r.cost_per_case) if per_case > 0 else "–")
        rows.append(row)
    doc.table(rows, _widths(len(heading), first=0.22), title="At today's size")


# --- 5. trust ---------------------------------------------------------------------------------------------------


def _trust(doc: ReportDocument, name: str, plans: Sequence[CurvePlan], backtest: BacktestSummary,
           method: str) -> None:
    doc.section(name)
    doc.paragraph(
        "Forecasts are checked by backtesting: complete learning curves are cut short, the method forecasts Dice at "
        "the largest size from the part kept, and the forecast is compared with what was measured there.")
    rows = backtest.for_method(method)
    where = backtest.provenance(None if rows.empty else method)
    if rows.empty:
        doc.paragraph(
            f"The backtest shipped with samplecast ({where}) does not cover the method '{method}' (it covers "
            f"{', '.join(backtest.methods)}). Measure it on complete curves of your own with:")
        doc.code(f"samplecast backtest CURVES.csv --methods {method}")
    else:
        doc.paragraph(f"Method '{method}', {where}")
        table = [["data kept", "forecast reach", "curves", "error (MAE)", "bias", "80% interval held",
                  "90% interval held", "80% width"]]
        for r in rows.itertuples():
            table.append([f"{r.cutoff:.0%} of each curve", f"{1 / r.cutoff:.0f}x", f"{r.curves}", f"{r.mae:.3f}",
                          f"{r.bias:+.3f}", f"{r.coverage80:.0%}", f"{r.coverage90:.0%}", f"{r.width80:.3f}"])
        doc.table(table, _widths(8, first=0.18))
        doc.paragraph(_trust_summary(rows, plans), after=1.2)
    doc.subheading("Caveats")
    doc.bullets(CAVEATS, size=8.8)


def _trust_summary(rows, plans: Sequence[CurvePlan]) -> str:
    """The backtest in words, and how far this report's answer reaches beyond its data compared with the backtest."""
    widest = rows.iloc[0]
    direction = ""
    if abs(widest.bias) > 0.5 * widest.mae:
        direction = ", mostly " + ("too low" if widest.bias < 0 else "too high")
    lines = [f"Forecasting from {widest.cutoff:.0%} of each curve, the median missed the measured Dice by "
             f"{widest.mae:.3f} on average{direction}, and the 80% interval held it in {widest.coverage80:.0%} of "
             "cases (ideally 80%: less means the intervals are too narrow, more that they are wider than needed)."]
    reaches = [(r.n_for_target / r.n_observed, p.forecast.curve.label) for p in plans
               if (r := p.recommendation).n_for_target is not None and r.n_observed > 0]
    if reaches:
        factor, label = max(reaches)
        tested = 1 / float(rows["cutoff"].min())
        verdict = ("within" if factor <= tested else "beyond")
        lines.append(f"This report's farthest recommendation ({label}) reaches {factor:.1f}x beyond the largest size "
                     f"measured, {verdict} the {tested:.0f}x the backtest covered.")
    if int(rows["curves"].max()) < 10:
        lines.append("With so few reference curves these are rough numbers; backtest complete curves of your own "
                     "(samplecast backtest) for a closer check.")
    return " ".join(lines)


# --- 6. provenance ----------------------------------------------------------------------------------------------


def _provenance(doc: ReportDocument, name: str, plans: Sequence[CurvePlan], prov: Provenance, path: Path,
                title: str) -> None:
    doc.section(name, keep_with=80)  # the inputs table below is about this tall
    o = prov.options
    rows = [["input", "value"],
            ["curves table", prov.source or "built in memory (no file)"]]
    if prov.sha256:
        rows.append(["SHA-256", prov.sha256])
    rows += [
        ["runs used", f"{prov.runs} (rows with status ok)"],
        ["method", prov.method],
        ["target Dice", f"{o.target_dice:.2f}" if o.target_dice is not None else "none"],
        ["confidence", f"{o.confidence:.0%}"],
        ["plateau gain", f"{o.plateau_gain:g} Dice per doubling"],
        ["pool size", f"{o.pool_size:,.0f}" if o.pool_size is not None else "not given"],
        ["cost per case", f"{o.cost_per_case:,.2f}" if o.cost_per_case is not None else "not given"],
        ["seeds", "averaged into one curve per configuration" if prov.average_seeds else "one curve per seed"],
        ["written", f"{prov.created:%Y-%m-%d %H:%M} UTC"],
        ["software", ", ".join(f"{k} {v}" for k, v in prov.versions.items())],
    ]
    doc.table(rows, (0.2, 0.8), align=["L", "L"])
    curve_rows = [["curve", "sizes measured (n)", "runs", "Dice at largest"]]
    for plan in plans:
        c = plan.forecast.curve
        curve_rows.append([c.label, ", ".join(f"{x:,.0f}" for x in c.n), f"{int(c.count.sum())}", f"{c.dice[-1]:.3f}"])
    doc.table(curve_rows, (0.38, 0.38, 0.08, 0.16), align=["L", "L", "R", "R"], title="Curves")
    doc.subheading("To write this report again")
    doc.code(prov.command(path, title if title != default_title(plans) else None))


# --- formatting -------------------------------------------------------------------------------------------------


def _n(value: int | None, horizon: int) -> str:
    return f"{value:,}" if value is not None else f"> {horizon:,}"


def _more(value: int | None) -> str:
    return f"{value:,}" if value is not None else "–"


def _span(low: int | None, high: int | None, horizon: int) -> str:
    """An 80% range of sizes; open-ended (``≥ low``) when its upper end lies beyond the search horizon."""
    if low is None:
        return "–"
    return f"{low:,}–{high:,}" if high is not None else f"≥ {low:,}"


def _range(r: Recommendation) -> str:
    low, high = r.n_target_range or (None, None)
    return _span(low, high, r.horizon)


def _cost(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "–"


def _widths(columns: int, first: float) -> tuple[float, ...]:
    """Relative column widths: ``first`` for the label column, the rest shared equally."""
    rest = (1 - first) / (columns - 1)
    return (first, *([rest] * (columns - 1)))

