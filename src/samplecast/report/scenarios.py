"""The report's section on scenarios: each configuration's scenarios side by side, read off the plan document's
``comparisons`` (:class:`samplecast.plan.scenarios.ScenarioComparison`): their sentences, a table of what each
scenario needs and one of the difference, and one figure with both scenarios' curves and forecast bands."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from samplecast.plan import PlanDocument
from samplecast.plan.scenario_sentences import round_words
from samplecast.plan.scenarios import ScenarioAnswer, ScenarioComparison
from samplecast.report.document import ReportDocument
from samplecast.report.figures import STYLE, _dice_limits, _log_x, curve_colors
from samplecast.report.page import TEXT_WIDTH_IN
from samplecast.report.tables import Rows, cost_text, span_text

#: The heading of the section, written after the answer when the document compares scenarios.
SECTION = "Scenarios compared"
#: Most comparisons drawn in one figure (a report with more draws more figures).
MAX_PANELS = 6
_COLUMNS = 2
_TARGET = dict(color="#444444", lw=0.8, ls="--")
_POOL = dict(color="#555555", lw=0.8, ls="-.")


def _needed_text(answer: ScenarioAnswer, comparison: ScenarioComparison) -> str:
    if answer.reaches == "not_reached":
        return f"> {comparison.searched:,}"
    return f"{answer.n_needed:,}" + (" (beyond the pool)" if answer.reaches == "beyond_pool" else "")


def answer_rows(document: PlanDocument) -> Rows:
    """Per comparison, one row per scenario: cases and Dice now, cases for the target at the confidence, their
    range, the cost of the cases beyond today, and the next round."""
    options = document.options
    heading = ["configuration", "scenario", "cases now", "Dice now",
               f"cases for {options.target_dice:.2f} ({options.confidence:.0%} conf.)",
               f"{options.confidence:.0%} range"] + (["cost"] if options.cost_per_case is not None else [])
    rows = [heading + ["next round"]]
    for c in document.comparisons:
        for answer in (c.baseline, c.alternative):
            row = [c.configuration, answer.scenario, f"{answer.n_observed:,}", f"{answer.dice_now:.3f}",
                   _needed_text(answer, c),
                   span_text(*answer.n_range, document.curves[answer.curve].recommendation)]
            row += [cost_text(answer.cost)] if options.cost_per_case is not None else []
            rows.append(row + [round_words(answer.next_round) if answer.next_round is not None else "–"])
    return rows


def difference_rows(document: PlanDocument) -> Rows:
    """Per comparison: the cases (and cost) the alternative saves at the confidence, the median and range of that
    difference, and the chance that the alternative needs fewer cases."""
    options = document.options
    cost = options.cost_per_case is not None
    rows = [["configuration", "alternative vs baseline", f"cases saved ({options.confidence:.0%} conf.)"]
            + (["cost saved"] if cost else [])
            + ["median difference", f"{options.confidence:.0%} range of the difference", "chance it needs fewer"]]
    for c in document.comparisons:
        low, high = c.saved_range
        row = [c.configuration, f"{c.alternative.scenario} vs {c.baseline.scenario}", _signed(c.saved)]
        row += [cost_text(c.saved_cost)] if cost else []
        chance = ">99%" if c.chance_fewer > 0.99 else "<1%" if c.chance_fewer < 0.01 else f"{c.chance_fewer:.0%}"
        rows.append(row + [_signed(c.saved_median), f"{_signed(low)} to {_signed(high)}", chance])
    return rows


def _signed(value: int | None) -> str:
    """Cases saved as a table shows them: ``+120`` (fewer cases), ``-40`` (more), ``?`` beyond the sizes searched."""
    return "?" if value is None else f"{value:+,}"


def scenarios_figure(document: PlanDocument, comparisons: Sequence[ScenarioComparison]) -> Figure:
    """One panel per comparison: both scenarios' measured Dice, forecast medians and 50%/80% bands on one axis, the
    target and each scenario's size for it."""
    count = len(comparisons)
    if not 0 < count <= MAX_PANELS:
        raise ValueError(f"a scenarios figure draws 1 to {MAX_PANELS} comparisons, got {count}")
    columns = 1 if count == 1 else _COLUMNS
    rows = -(-count // columns)
    with rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH_IN, 3.2 if count == 1 else 2.6 * rows + 0.3), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False)
        for ax, c in zip(axes.flat, comparisons):
            _draw_comparison(ax, document, c)
        for ax in axes.flat[count:]:
            ax.set_visible(False)
    return fig


def _draw_comparison(ax, document: PlanDocument, c: ScenarioComparison) -> None:
    views = [document.curves[a.curve] for a in (c.baseline, c.alternative)]
    ax.set_ylim(*_dice_limits(views))
    low, high = np.inf, 0.0
    handles = []
    for answer, view, color in zip((c.baseline, c.alternative), views, curve_colors(2)):
        band, observed = view.band, view.observed
        n = np.asarray(band.n)
        low, high = min(low, n[0]), max(high, n[-1])
        ax.fill_between(n, band.q10, band.q90, color=color, alpha=0.13, lw=0)
        ax.fill_between(n, band.q25, band.q75, color=color, alpha=0.26, lw=0)
        ax.plot(n, band.q50, color=color, lw=1.4)
        ax.plot(observed.n, observed.dice, "o", ms=3.5, color=color, mfc="white", mew=1.0, zorder=5)
        if answer.n_needed is not None and answer.n_needed <= n[-1]:
            ax.plot([answer.n_needed] * 2, [ax.get_ylim()[0], c.target_dice], color=color, lw=1.0)
        handles.append((Line2D([], [], color=color, lw=1.4, marker="o", ms=3.5, mfc="white"),
                        f"{answer.scenario}: {_needed_text(answer, c)}"))
    ax.axhline(c.target_dice, **_TARGET)
    if c.pool_size is not None and c.pool_size <= high * 1.001:
        ax.axvline(c.pool_size, **_POOL)
    _log_x(ax, low, high, crowded=False)
    ax.set_xlim(low * 0.85, high * 1.1)
    ax.set_title(c.configuration, loc="left", fontweight="bold")
    ax.set_xlabel("training cases (n)")
    ax.set_ylabel("test Dice")
    ax.legend(*zip(*handles), loc="lower right", frameon=False,
              title=f"cases for {c.target_dice:.2f} ({c.confidence:.0%} conf.)", title_fontsize=7)


def write_scenarios(doc: ReportDocument, name: str, document: PlanDocument) -> None:
    """The section: each comparison's sentences, the two tables, and the figure(s)."""
    comparisons = document.comparisons
    figures = [scenarios_figure(document, comparisons[i:i + MAX_PANELS])
               for i in range(0, len(comparisons), MAX_PANELS)]
    doc.section(name)
    for c in comparisons:
        doc.subheading(f"{c.configuration}: {c.alternative.scenario} against {c.baseline.scenario}")
        doc.bullets(c.sentences)
    cost = (0.08,) if document.options.cost_per_case is not None else ()
    answers = (0.16, 0.13, 0.07, 0.07, 0.09, 0.11, *cost)
    doc.table(answer_rows(document), (*answers, 1 - sum(answers)), title="What each scenario needs", size=7.4)
    difference = (0.17, 0.18, 0.1, *cost, 0.12, 0.17)
    doc.table(difference_rows(document), (*difference, 1 - sum(difference)), title="The difference", size=7.4)
    for figure in figures:
        doc.figure(figure, caption="Measured Dice (circles), forecast median (line) and 50% and 80% intervals "
                                   "(bands) of both scenarios; the dashed line is the target, the vertical lines "
                                   "each scenario's cases for it at the plan's confidence.")

