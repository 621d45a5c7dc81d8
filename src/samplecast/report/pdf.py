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

from samplecast.errors import InputError
from samplecast.files import put_file
from samplecast.plan import PlanDocument
from samplecast.report.document import LINE_MM, ReportDocument, markdown_literal
from samplecast.report.figures import MAX_PANELS, curve_colors, learning_curves_figure, marginal_value_figure
from samplecast.report.provenance import report_command
from samplecast.report.scenarios import SECTION as SCENARIO_SECTION
from samplecast.report.scenarios import write_scenarios
from samplecast.report.tables import (
    curve_rows,
    decision_rows,
    expected_rows,
    glance_rows,
    input_rows,
    marginal_rows,
    own_trust_rows,
    round_rows,
    shipped_trust_rows,
    target_rows,
)

#: The sections of every report, in order (tests and readers look for these headings).
SECTIONS: tuple[str, ...] = (
    "The answer",
    "Annotate in rounds",
    "Learning curves and forecast",
    "Cases needed for each target",
    "What more data buys",
    "How far to trust it",
    "Inputs and provenance",
)

#: Most curves one report shows: each has its sentences, table rows and figure panel, so a report of more is neither
#: written in a minute nor read (2,000 curves took five minutes).
MAX_CURVES = 100

#: Called with the name of each section as it is written (the CLI shows it as progress).
SectionCallback = Callable[[str], None]


def check_curve_count(count: int, origin: str) -> None:
    """Refuse a report of ``count`` curves from ``origin`` when they are more than :data:`MAX_CURVES`, before
    anything is forecast or typeset."""
    if count > MAX_CURVES:
        raise InputError(f"{origin}: {count:,} curves; a report shows at most {MAX_CURVES} (each with its own "
                         "sentences, table rows and figure panel): select the configurations to compare (a plan "
                         "document can hold them all)")


def render_report(document: PlanDocument, path: str | Path, *, title: str | None = None,
                  progress: SectionCallback | None = None) -> Path:
    """Typeset the plan ``document`` as the planner's PDF at ``path``, calling ``progress`` with each section.

    Raises:
        InputError: when the document holds more than :data:`MAX_CURVES` curves.
    """
    from samplecast import __version__

    check_curve_count(len(document.curves), "the plan document")
    path = Path(path)
    title = title or document.title
    doc = ReportDocument(title, footer_note=f"samplecast {__version__} · {document.created[:10]}")
    doc.add_page()
    doc.title_block(title, document.subtitle)
    writers = (_answer, _rounds, _learning_curves, _targets, _marginal, _trust, _provenance)
    sections = list(zip(SECTIONS, writers))
    if document.comparisons:  # the scenarios of a configuration side by side, right after the answer
        sections.insert(1, (SCENARIO_SECTION, write_scenarios))
    for name, write in sections:
        if progress:
            progress(name)
        write(doc, name, document)
    doc.subheading("To write this report again")
    doc.code(report_command(document, path, title if title != document.title else None))
    if doc.transliterated:
        doc.paragraph("Names in scripts the report's font cannot show are transliterated to Latin letters here; the "
                      "plan document (forecast --json) keeps them as written.", size=8, muted=True)
    pdf = bytes(doc.output())
    return put_file(path, lambda stream: stream.write(pdf))


# --- 1. the answer ----------------------------------------------------------------------------------------------


def _answer(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    doc.paragraph(document.question, markdown=True)
    if document.best_configuration:
        doc.paragraph(_literal_labels(document.best_configuration, [v.short_label for v in document.curves]),
                      markdown=True)
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


def _literal_labels(text: str, labels: list[str]) -> str:
    """``text``, markdown whose ``**bold**`` spans samplecast set, with the first bold label in it escaped, so a label
    holding markdown (``a**b**c --u--``) shows as written."""
    for label in sorted(set(labels), key=len, reverse=True):
        if f"**{label}**" in text:
            return text.replace(f"**{label}**", f"**{markdown_literal(label)}**", 1)
    return text


# --- 2. rounds --------------------------------------------------------------------------------------------------


def _rounds(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    plans = [(view, view.recommendation.next_round) for view in document.curves]
    for view, plan in plans:
        if plan is not None:
            doc.subheading(view.label)
            doc.bullets(view.round_sentences)
    rows = round_rows(document)
    if len(rows) > 1:
        doc.table(rows, _widths(len(rows[0]), first=0.2), title="The plan in rounds")
    doc.paragraph(document.captions.rounds, size=8.8, muted=True)
    if document.trust.decisions_words:
        doc.paragraph(document.trust.decisions_words, size=8.8)


# --- 3. learning curves -----------------------------------------------------------------------------------------


def _learning_curves(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    views = document.curves
    colors = curve_colors(len(views))
    figures = [learning_curves_figure(views[i:i + MAX_PANELS], colors[i:i + MAX_PANELS])
               for i in range(0, len(views), MAX_PANELS)]
    doc.section(name, keep_with=doc.figure_height(figures[0]) + 22)
    doc.paragraph(document.captions.learning_curves)
    for figure in figures:
        doc.figure(figure)


# --- 3. targets -------------------------------------------------------------------------------------------------


def _targets(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    rows, emphasis = target_rows(document)
    widths = _widths(len(rows[0]), first=0.2)
    # the caption stays with its table, unless the table would fill most of a page anyway
    doc.section(name, keep_with=min(doc.table_height(rows, widths) + 8 * LINE_MM, 150))
    doc.paragraph(document.captions.targets)
    doc.table(rows, widths, emphasis=emphasis)
    rows = expected_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22), title=document.captions.expected)


# --- 4. marginal value ------------------------------------------------------------------------------------------


def _marginal(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    figure = marginal_value_figure(document.curves, document.value_step)
    doc.section(name, keep_with=doc.figure_height(figure) + 18)
    doc.paragraph(document.captions.marginal)
    doc.figure(figure)
    rows = marginal_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22), title="At today's size")


# --- 5. trust ---------------------------------------------------------------------------------------------------


def _trust(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name)
    trust = document.trust
    doc.paragraph(trust.intro)
    shipped = trust.shipped
    if shipped is None:
        doc.paragraph(trust.shipped_words)
        doc.code(f"samplecast backtest CURVES.csv --methods {document.method}")
    else:
        overall, per_set = shipped_trust_rows(shipped)
        doc.keep_together(doc.table_height(overall, _widths(len(overall[0]), first=0.18)) + 6 * LINE_MM)
        doc.paragraph(trust.shipped_words)
        if len(overall) > 1:
            doc.table(overall, _widths(len(overall[0]), first=0.18), title="All held-out datasets")
            doc.paragraph(trust.summary, after=1.2)
        if len(per_set) > 1:
            doc.table(per_set, _widths(len(per_set[0]), first=0.16), title="Per held-out dataset", size=7.4)
        if shipped.decisions:
            rows = decision_rows(shipped)
            doc.keep_together(doc.table_height(rows, _widths(len(rows[0]), first=0.2)) + 8 * LINE_MM)
            doc.paragraph(trust.decisions_words)
            doc.table(rows, _widths(len(rows[0]), first=0.2), title="Decisions on the held-out datasets")
        if shipped.command:
            doc.paragraph("Reproduce with:", size=8, muted=True, after=0.5)
            doc.code(shipped.command)
    own = trust.own
    if own is None:
        doc.paragraph(trust.own_words)
    else:
        rows = own_trust_rows(own)
        widths = _widths(len(rows[0]), first=0.18 if len(rows[0]) == 8 else 0.16)
        doc.keep_together(doc.table_height(rows, widths) + 3 * LINE_MM)  # the sentence stays with its table
        doc.paragraph(trust.own_words)
        doc.table(rows, widths)
    doc.subheading("Caveats")
    doc.bullets(trust.caveats, size=8.8)


# --- 6. provenance ----------------------------------------------------------------------------------------------


def _provenance(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    doc.section(name, keep_with=80)  # the inputs table below is about this tall
    doc.table(input_rows(document), (0.2, 0.8), align=["L", "L"])
    doc.table(curve_rows(document), (0.38, 0.38, 0.08, 0.16), align=["L", "L", "R", "R"], title="Curves")


def _widths(columns: int, first: float) -> tuple[float, ...]:
    """Relative column widths: ``first`` for the label column, the rest shared equally."""
    rest = (1 - first) / (columns - 1)
    return (first, *([rest] * (columns - 1)))
