"""The planner's PDF: the answer first, then the learning curves, the cases each target needs, what more data buys,
how far to trust the forecast, and where the numbers came from.

The PDF renders a plan document (:class:`samplecast.plan.PlanDocument`, what ``samplecast forecast --json`` writes)
and fits nothing, so the report and the JSON agree and ``samplecast report --plan`` is as quick as typesetting.

Example:
    >>> document = PlanDocument.read("forecast.json")   # doctest: +SKIP
    >>> render_report(document, "report.pdf")           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from samplecast.plan import DEFAULT_REACH, PlanDocument
from samplecast.report.document import LINE_MM, ReportDocument
from samplecast.report.figures import MAX_PANELS, curve_colors, learning_curves_figure, marginal_value_figure
from samplecast.report.provenance import report_command
from samplecast.report.tables import (
    curve_rows,
    datasets_text,
    expected_rows,
    glance_rows,
    input_rows,
    marginal_rows,
    own_trust_rows,
    shipped_trust_rows,
    target_rows,
)

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


def render_report(document: PlanDocument, path: str | Path, *, title: str | None = None,
                  progress: SectionCallback | None = None) -> Path:
    """Typeset the plan ``document`` as the planner's PDF at ``path``, calling ``progress`` with each section."""
    from samplecast import __version__

    path = Path(path)
    title = title or document.title
    doc = ReportDocument(title, footer_note=f"samplecast {__version__} · {document.created[:10]}")
    doc.add_page()
    doc.title_block(title, _subtitle(document))
    writers = (_answer, _learning_curves, _targets, _marginal, _trust, _provenance)
    for name, write in zip(SECTIONS, writers):
        if progress:
            progress(name)
        write(doc, name, document)
    doc.subheading("To write this report again")
    doc.code(report_command(document, path, title if title != document.title else None))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.output(str(path))
    return path


def _subtitle(document: PlanDocument) -> str:
    source, count = document.source, len(document.curves)
    where = source.file or "curves in memory"
    return (f"Learning-curve forecast from {where} ({count} curve{'s' if count != 1 else ''}, {source.runs} "
            f"training runs), method '{document.method}', written {document.created}.")


# --- 1. the answer ----------------------------------------------------------------------------------------------


def _answer(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    doc.paragraph(document.question, markdown=True)
    if document.best_configuration:
        doc.paragraph(document.best_configuration, markdown=True)
    for view in document.curves:
        doc.subheading(view.label)
        doc.bullets(view.sentences)
    if document.warnings:
        doc.subheading("Warnings: curves that may not support a forecast")
        doc.bullets(document.warnings)
    rows = glance_rows(document)
    pool = document.options.pool_size
    widths = [1.6] + [1.0] * (len(rows[0]) - 2) + [1.7 if pool else 1.0]
    doc.table(rows, widths, title="At a glance")


# --- 2. learning curves -----------------------------------------------------------------------------------------


def _learning_curves(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    views = document.curves
    colors = curve_colors(len(views))
    figures = [learning_curves_figure(views[i:i + MAX_PANELS], colors[i:i + MAX_PANELS])
               for i in range(0, len(views), MAX_PANELS)]
    doc.section(name, keep_with=doc.figure_height(figures[0]) + 22)
    o = document.options
    reach = (f"the pool size ({o.pool_size:,})" if o.pool_size is not None
             else f"{DEFAULT_REACH}x the largest size measured (further where the target needs it)")
    doc.paragraph(
        f"Test Dice measured on nested training subsets (dots), and the forecast beyond them out to {reach}: the "
        "median (line) with its 50% and 80% intervals (shading). The size axis is logarithmic: each step to the "
        "right multiplies the annotated cases."
        + (" The red line marks the cases needed to reach the target with the chosen confidence."
           if o.target_dice is not None else ""))
    for figure in figures:
        doc.figure(figure)


# --- 3. targets -------------------------------------------------------------------------------------------------


def _targets(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    o = document.options
    levels = ("For Dice levels around the target" if o.target_dice is not None else
              "No target Dice was given, so for Dice levels from just above today's up to the forecast at the reach")
    limit = f"the pool of {o.pool_size:,} cases" if o.pool_size is not None else "the horizon searched"
    doc.paragraph(
        f"{levels}, the training cases needed: with {o.confidence:.0%} confidence (the recommendation), by the "
        f"median forecast, and the range of that size at the same {o.confidence:.0%}; then how many more cases "
        "than today that means" + (" and what they cost." if o.cost_per_case is not None else ".")
        + f" \"> N\" means the level is not reached within {limit} (N cases); \"≥\" marks a range whose upper end "
        "lies beyond it." + (" Where the pool does not suffice, the last column gives the size the forecast would "
                             "need beyond it: an extrapolation to more cases than exist, not a recommendation."
                             if o.pool_size is not None else ""))
    rows, emphasis = target_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.2), emphasis=emphasis)
    rows = expected_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22),
              title="Expected Dice with the whole pool" if o.pool_size is not None else
              f"Expected Dice at {DEFAULT_REACH}x today's cases (no pool size given)")


# --- 4. marginal value ------------------------------------------------------------------------------------------


def _marginal(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    step = document.value_step
    figure = marginal_value_figure(document.curves, step)
    doc.section(name, keep_with=doc.figure_height(figure) + 18)
    gain = document.options.plateau_gain
    doc.paragraph(
        f"What the next cases buy at each size, by the median forecast. Left: Dice gained by {step:,} more cases "
        f"(log scale). Right: Dice gained by doubling the data; where it drops below {gain:.3f} (dashed), "
        "more data stops paying and the curve has reached its plateau.")
    doc.figure(figure)
    rows = marginal_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22), title="At today's size")


# --- 5. trust ---------------------------------------------------------------------------------------------------


def _trust(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    trust, method = document.trust, document.method
    doc.paragraph(
        "Forecasts are checked by backtesting: complete learning curves are cut short, the method forecasts Dice at "
        "the largest size from the part kept, and the forecast is compared with what was measured there. Every "
        f"figure below comes from curves the method '{method}' never learned from.")
    shipped = trust.shipped
    if shipped is None:
        doc.paragraph(f"No reference figures: {trust.shipped_note}. Measure the method on complete curves of your "
                      "own with:")
        doc.code(f"samplecast backtest CURVES.csv --methods {method}")
    else:
        overall, per_set = shipped_trust_rows(shipped)
        doc.keep_together(doc.table_height(overall, _widths(len(overall[0]), first=0.18)) + 6 * LINE_MM)
        built = document.forecaster
        curves = ("shipped with samplecast" if built == "shipped" else
                  f"the forecaster in {built} was built from")
        doc.paragraph(
            f"Method '{method}', {shipped.protocol} on the real learning curves {curves}: "
            f"{datasets_text(shipped.datasets)}. Each dataset's curves were forecast by the method as learned from "
            f"the other datasets only. Measured {shipped.created or 'on an unrecorded date'}"
            + (f" on {shipped.machine}" if shipped.machine else "") + ".")
        if len(overall) > 1:
            doc.table(overall, _widths(len(overall[0]), first=0.18), title="All held-out datasets")
            doc.paragraph(trust.summary, after=1.2)
        if len(per_set) > 1:
            doc.table(per_set, _widths(len(per_set[0]), first=0.16), title="Per held-out dataset", size=7.4)
        if shipped.command:
            doc.paragraph("Reproduce with:", size=8, muted=True, after=0.5)
            doc.code(shipped.command)
    own = trust.own
    if own is None:
        doc.paragraph(f"Your own curves: {trust.own_note}.")
    else:
        rows, widths = own_trust_rows(own), _widths(8, first=0.18)
        doc.keep_together(doc.table_height(rows, widths) + 3 * LINE_MM)  # the sentence stays with its table
        doc.paragraph(
            f"On your own curves ({own.curves} curve{'s' if own.curves != 1 else ''} of "
            f"{document.source.file or 'this plan'}), each cut at "
            f"{' and '.join(f'{c:.0%}' for c in own.cutoffs)} of its largest size and forecast to it:")
        doc.table(rows, widths)
    doc.subheading("Caveats")
    doc.bullets(document.trust.caveats, size=8.8)


# --- 6. provenance ----------------------------------------------------------------------------------------------


def _provenance(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name, keep_with=80)  # the inputs table below is about this tall
    doc.table(input_rows(document), (0.2, 0.8), align=["L", "L"])
    doc.table(curve_rows(document), (0.38, 0.38, 0.08, 0.16), align=["L", "L", "R", "R"], title="Curves")


def _widths(columns: int, first: float) -> tuple[float, ...]:
    """Relative column widths: ``first`` for the label column, the rest shared equally."""
    rest = (1 - first) / (columns - 1)
    return (first, *([rest] * (columns - 1)))
