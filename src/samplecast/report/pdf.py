"""The planner's PDF: the answer first, then the learning curves, the cases each target needs, what more data buys,
how far to trust the forecast, and where the numbers came from.

The PDF renders a plan document (:func:`samplecast.plan.plan_document`, what ``samplecast forecast --json`` writes)
and fits nothing, so the report and the JSON agree and ``samplecast report --plan`` is as quick as typesetting.

Example:
    >>> document = json.loads(Path("forecast.json").read_text())   # doctest: +SKIP
    >>> render_report(document, "report.pdf")                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from samplecast.errors import InputError
from samplecast.forecast.folder import ForecasterFolder
from samplecast.plan import DEFAULT_REACH, DOCUMENT_FORMAT, CurvePlan, plan_document
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
from samplecast.report.trust import CAVEATS

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
Document = dict[str, Any]


def write_report(
    plans: Sequence[CurvePlan],
    method: str,
    path: str | Path,
    *,
    source: str | Path | None = None,
    title: str | None = None,
    backtest: dict[str, Any] | None = None,
    folder: ForecasterFolder | None = None,
    created: datetime | None = None,
    progress: SectionCallback | None = None,
) -> Path:
    """Write the planner's report on ``plans`` (made with ``method`` from the curves file ``source``) to ``path``:
    :func:`~samplecast.plan.plan_document`, then :func:`render_report`.

    Args:
        plans: one forecast and recommendation per curve, from :func:`samplecast.plan.plan_curves`.
        method: the forecasting method's name.
        path: the PDF to write.
        source: the curves file the plans came from, for the provenance section (checksummed).
        title: the document title; default names the datasets.
        backtest: the backtest summary document to quote (format 2); default the one in ``folder``.
        folder: the forecaster folder the plans were forecast with; default the one shipped with the package.
        created: the date to print; default now.
        progress: called with each section's name as it is written.
    """
    document = plan_document(plans, method, source=source, created=created, folder=folder, backtest_summary=backtest)
    return render_report(document, path, title=title, progress=progress)


def check_document(document: Any, origin: str = "plan") -> Document:
    """A plan document read from JSON, checked for what rendering needs (one line per problem)."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise InputError(f"{origin}: not a samplecast plan document of format {DOCUMENT_FORMAT} (found {found!r}); "
                         "write one with samplecast forecast --json")
    missing = [k for k in ("method", "options", "source", "curves", "trust", "created", "versions", "value_step",
                           "warnings", "title", "confidence_words") if k not in document]
    if missing or not document.get("curves"):
        raise InputError(f"{origin}: plan document lacks {', '.join(missing) or 'curves'}")
    return document


def render_report(document: Document, path: str | Path, *, title: str | None = None,
                  progress: SectionCallback | None = None) -> Path:
    """Typeset the plan ``document`` as the planner's PDF at ``path``, calling ``progress`` with each section."""
    from samplecast import __version__

    path = Path(path)
    title = title or document["title"]
    doc = ReportDocument(title, footer_note=f"samplecast {__version__} · {document['created'][:10]}")
    doc.add_page()
    doc.title_block(title, _subtitle(document))
    writers = (_answer, _learning_curves, _targets, _marginal, _trust, _provenance)
    for name, write in zip(SECTIONS, writers):
        if progress:
            progress(name)
        write(doc, name, document)
    doc.subheading("To write this report again")
    doc.code(report_command(document, path, title if title != document["title"] else None))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.output(str(path))
    return path


def _subtitle(document: Document) -> str:
    source, count = document["source"], len(document["curves"])
    where = source["file"] or "curves in memory"
    return (f"Learning-curve forecast from {where} ({count} curve{'s' if count != 1 else ''}, {source['runs']} "
            f"training runs), method '{document['method']}', written {document['created']}.")


# --- 1. the answer ----------------------------------------------------------------------------------------------


def _answer(doc: ReportDocument, name: str, document: Document) -> None:
    doc.section(name)
    doc.paragraph(_question(document), markdown=True)
    best = _best_configuration(document)
    if best:
        doc.paragraph(best, markdown=True)
    for view in document["curves"]:
        doc.subheading(view["label"])
        doc.bullets(view["sentences"])
    if document["warnings"]:
        doc.subheading("Warnings: curves that may not support a forecast")
        doc.bullets(document["warnings"])
    rows = glance_rows(document)
    pool = document["options"]["pool_size"]
    widths = [1.6] + [1.0] * (len(rows[0]) - 2) + [1.7 if pool else 1.0]
    doc.table(rows, widths, title="At a glance")


def _question(document: Document) -> str:
    o = document["options"]
    asked = []
    if o["target_dice"] is not None:
        asked.append(f"reach test Dice **{o['target_dice']:.2f}** with {o['confidence']:.0%} confidence")
    asked.append(f"find where doubling the data gains less than {o['plateau_gain']:.3f} Dice")
    if o["pool_size"] is not None:
        asked.append(f"predict Dice if all {o['pool_size']:,} cases of the pool were annotated (no answer exceeds "
                     "the pool)")
    cost = (f" Annotating one case costs {o['cost_per_case']:,.2f}; costs count only cases beyond those already used."
            if o["cost_per_case"] is not None else "")
    return "The question: " + "; ".join(asked) + "." + cost + " " + document["confidence_words"]


def _best_configuration(document: Document) -> str | None:
    """One sentence naming the configuration that reaches the target with the fewest cases (several curves only)."""
    o = document["options"]
    if len(document["curves"]) < 2 or o["target_dice"] is None:
        return None
    reaching = [(v["recommendation"]["n_for_target"], v["short_label"]) for v in document["curves"]
                if v["recommendation"]["n_for_target"] is not None]
    if not reaching:
        where = (f"the pool of {o['pool_size']:,} cases" if o["pool_size"] is not None else "the horizon searched")
        return (f"No configuration reaches Dice {o['target_dice']:.2f} with {o['confidence']:.0%} confidence within "
                f"{where}.")
    n, label = min(reaching)
    return (f"Of the {len(document['curves'])} configurations, **{label}** reaches Dice {o['target_dice']:.2f} with "
            f"the fewest cases (about {n:,}).")


# --- 2. learning curves -----------------------------------------------------------------------------------------


def _learning_curves(doc: ReportDocument, name: str, document: Document) -> None:
    views = document["curves"]
    colors = curve_colors(len(views))
    figures = [learning_curves_figure(views[i:i + MAX_PANELS], colors[i:i + MAX_PANELS])
               for i in range(0, len(views), MAX_PANELS)]
    doc.section(name, keep_with=doc.figure_height(figures[0]) + 22)
    o = document["options"]
    reach = (f"the pool size ({o['pool_size']:,})" if o["pool_size"] is not None
             else f"{DEFAULT_REACH}x the largest size measured (further where the target needs it)")
    doc.paragraph(
        f"Test Dice measured on nested training subsets (dots), and the forecast beyond them out to {reach}: the "
        "median (line) with its 50% and 80% intervals (shading). The size axis is logarithmic: each step to the "
        "right multiplies the annotated cases."
        + (" The red line marks the cases needed to reach the target with the chosen confidence."
           if o["target_dice"] is not None else ""))
    for figure in figures:
        doc.figure(figure)


# --- 3. targets -------------------------------------------------------------------------------------------------


def _targets(doc: ReportDocument, name: str, document: Document) -> None:
    doc.section(name)
    o = document["options"]
    levels = ("For Dice levels around the target" if o["target_dice"] is not None else
              "No target Dice was given, so for Dice levels from just above today's up to the forecast at the reach")
    limit = f"the pool of {o['pool_size']:,} cases" if o["pool_size"] is not None else "the horizon searched"
    doc.paragraph(
        f"{levels}, the training cases needed: with {o['confidence']:.0%} confidence (the recommendation), by the "
        f"median forecast, and the range of that size at the same {o['confidence']:.0%}; then how many more cases "
        "than today that means" + (" and what they cost." if o["cost_per_case"] is not None else ".")
        + f" \"> N\" means the level is not reached within {limit} (N cases); \"≥\" marks a range whose upper end "
        "lies beyond it." + (" Where the pool does not suffice, the last column gives the size the forecast would "
                             "need beyond it: an extrapolation to more cases than exist, not a recommendation."
                             if o["pool_size"] is not None else ""))
    rows, emphasis = target_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.2), emphasis=emphasis)
    rows = expected_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22),
              title="Expected Dice with the whole pool" if o["pool_size"] is not None else
              f"Expected Dice at {DEFAULT_REACH}x today's cases (no pool size given)")


# --- 4. marginal value ------------------------------------------------------------------------------------------


def _marginal(doc: ReportDocument, name: str, document: Document) -> None:
    step = document["value_step"]
    figure = marginal_value_figure(document["curves"], step)
    doc.section(name, keep_with=doc.figure_height(figure) + 18)
    gain = document["options"]["plateau_gain"]
    doc.paragraph(
        f"What the next cases buy at each size, by the median forecast. Left: Dice gained by {step:,} more cases "
        f"(log scale). Right: Dice gained by doubling the data; where it drops below {gain:.3f} (dashed), "
        "more data stops paying and the curve has reached its plateau.")
    doc.figure(figure)
    rows = marginal_rows(document)
    doc.table(rows, _widths(len(rows[0]), first=0.22), title="At today's size")


# --- 5. trust ---------------------------------------------------------------------------------------------------


def _trust(doc: ReportDocument, name: str, document: Document) -> None:
    doc.section(name)
    trust, method = document["trust"], document["method"]
    doc.paragraph(
        "Forecasts are checked by backtesting: complete learning curves are cut short, the method forecasts Dice at "
        "the largest size from the part kept, and the forecast is compared with what was measured there. Every "
        f"figure below comes from curves the method '{method}' never learned from.")
    shipped = trust["shipped"]
    if shipped is None:
        doc.paragraph(f"No reference figures: {trust['shipped_note']}. Measure the method on complete curves of your "
                      "own with:")
        doc.code(f"samplecast backtest CURVES.csv --methods {method}")
    else:
        overall, per_set = shipped_trust_rows(shipped)
        doc.keep_together(doc.table_height(overall, _widths(len(overall[0]), first=0.18)) + 6 * LINE_MM)
        built = document.get("forecaster", "shipped")
        curves = ("shipped with samplecast" if built == "shipped" else
                  f"the forecaster in {built} was built from")
        doc.paragraph(
            f"Method '{method}', {shipped['protocol']} on the real learning curves {curves}: "
            f"{datasets_text(shipped)}. Each dataset's curves were forecast by the method as learned from the other "
            f"datasets only. Measured {shipped.get('created') or 'on an unrecorded date'}"
            + (f" on {shipped['machine']}" if shipped.get("machine") else "") + ".")
        if len(overall) > 1:
            doc.table(overall, _widths(len(overall[0]), first=0.18), title="All held-out datasets")
            doc.paragraph(_trust_summary(document), after=1.2)
        if len(per_set) > 1:
            doc.table(per_set, _widths(len(per_set[0]), first=0.16), title="Per held-out dataset", size=7.4)
        if shipped.get("command"):
            doc.paragraph("Reproduce with:", size=8, muted=True, after=0.5)
            doc.code(shipped["command"])
    own = trust["own"]
    if own is None:
        doc.paragraph(f"Your own curves: {trust['own_note']}.")
    else:
        rows, widths = own_trust_rows(own), _widths(8, first=0.18)
        doc.keep_together(doc.table_height(rows, widths) + 3 * LINE_MM)  # the sentence stays with its table
        doc.paragraph(
            f"On your own curves ({own['curves']} curve{'s' if own['curves'] != 1 else ''} of "
            f"{document['source']['file'] or 'this plan'}), each cut at "
            f"{' and '.join(f'{c:.0%}' for c in own['cutoffs'])} of its largest size and forecast to it:")
        doc.table(rows, widths)
    doc.subheading("Caveats")
    doc.bullets(CAVEATS, size=8.8)


def _trust_summary(document: Document) -> str:
    """The widest-reaching backtest row in words, and how far this report's answers reach compared with it."""
    shipped = document["trust"]["shipped"]
    rows = [r for r in shipped["rows"] if r["held_out"] == "all"]
    widest = min(rows, key=lambda r: r["cutoff"])
    direction = ""
    if abs(widest["bias"]) > 0.5 * widest["mae"]:
        direction = ", mostly " + ("too low" if widest["bias"] < 0 else "too high")
    lines = [f"Forecasting from {widest['cutoff']:.0%} of each curve, the median missed the measured Dice by "
             f"{widest['mae']:.3f} on average{direction}, and the 80% interval held it in {widest['coverage80']:.0%} "
             "of cases (ideally 80%: less means the intervals are too narrow, more that they are wider than needed)."]
    reaches = [(r["n_for_target"] / r["n_observed"], v["label"]) for v in document["curves"]
               if (r := v["recommendation"])["n_for_target"] is not None and r["n_observed"] > 0]
    factor, label = max(reaches, default=(0.0, ""))
    if factor > 1:
        tested = 1 / widest["cutoff"]
        verdict = "within" if factor <= tested else "beyond"
        lines.append(f"This report's farthest recommendation ({label}) is {factor:.1f}x the largest size measured, "
                     f"{verdict} the {tested:.0f}x reach the backtest covered.")
    return " ".join(lines)


# --- 6. provenance ----------------------------------------------------------------------------------------------


def _provenance(doc: ReportDocument, name: str, document: Document) -> None:
    doc.section(name, keep_with=80)  # the inputs table below is about this tall
    doc.table(input_rows(document), (0.2, 0.8), align=["L", "L"])
    doc.table(curve_rows(document), (0.38, 0.38, 0.08, 0.16), align=["L", "L", "R", "R"], title="Curves")


def _widths(columns: int, first: float) -> tuple[float, ...]:
    """Relative column widths: ``first`` for the label column, the rest shared equally."""
    rest = (1 - first) / (columns - 1)
    return (first, *([rest] * (columns - 1)))
