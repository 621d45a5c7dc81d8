"""The report's figures, drawn with matplotlib's object API (no global pyplot state, Agg only): the learning curves
with their forecasts, and what more data buys. They draw the curve views of a plan document
(:class:`samplecast.plan.CurveView`) and never call a forecaster.

Figures are as wide as the report's text block (:data:`~samplecast.report.page.TEXT_WIDTH_IN`), so text is printed at
the size it was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator

from samplecast.plan import CurveView
from samplecast.plan.wording import cost_words, size_text
from samplecast.report.document import in_font
from samplecast.report.page import TEXT_WIDTH_IN

#: Most panels per row, and per figure, of the learning-curve figure (a report draws more curves as more figures).
MAX_COLUMNS = 3
MAX_PANELS = 9
#: Curves listed inside the marginal-value panels; more get a legend below them.
_INSET_LEGEND = 4
_BAND = ("q10", "q25", "q50", "q75", "q90")
STYLE = {
    "font.size": 7.5, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 7, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.color": "#d9d9d9", "grid.linewidth": 0.5, "font.family": "DejaVu Sans",
}

#: The smallest Dice gain per step the marginal-value panel draws (its axis is logarithmic).
_SMALLEST_GAIN = 1e-4
_RED = "#c00000"
_MEASURED = dict(fmt="o", ms=3.5, color="black", mfc="white", mew=1.0, elinewidth=0.8, capsize=2, zorder=5)
_LAST_MEASURED = dict(color="#888888", lw=0.6, ls=":", zorder=1)
_POOL = dict(color="#555555", lw=0.8, ls="-.")
_TARGET = dict(color="#444444", lw=0.8, ls="--")
_RECOMMENDED = dict(color=_RED, lw=1.0)


def curve_colors(count: int) -> list[str]:
    """One colour per curve, the same in every figure (matplotlib's tab10 cycle)."""
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"]
    return [palette[i % len(palette)] for i in range(count)]


def learning_curves_figure(views: Sequence[CurveView], colors: Sequence[str] | None = None) -> Figure:
    """One panel per curve: measured Dice (error bars: spread across seeds), forecast median with 50% and 80%
    bands out to the reach, the target line and the recommended size; one legend for all panels.

    Args:
        views: at most :data:`MAX_PANELS` curve views of a plan document.
        colors: one colour per curve; default :func:`curve_colors`.
    """
    count = len(views)
    if not 0 < count <= MAX_PANELS:
        raise ValueError(f"a learning-curve figure draws 1 to {MAX_PANELS} curves, got {count}")
    colors = list(colors) if colors is not None else curve_colors(count)
    columns = 1 if count == 1 else 2 if count in (2, 4) else MAX_COLUMNS
    rows = -(-count // columns)
    height = 3.4 if count == 1 else 2.4 * rows + 0.45
    with rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH_IN, height), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
        axes[0, 0].set_ylim(*_dice_limits(views))
        for ax, view, color in zip(axes.flat, views, colors):
            _draw_curve(ax, view, color, columns)
            ax.set_title(_figure_label(view), loc="left", fontweight="bold")
            ax.set_xlabel("training cases (n)")
        for ax in axes.flat[count:]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("test Dice")
        handles, names = _curve_legend(views)
        fig.legend(handles, names, loc="outside lower center", ncols=4, frameon=False)
    return fig


def _dice_limits(views: Sequence[CurveView]) -> tuple[float, float]:
    """A Dice range holding every measured point, band and target, with a margin, inside [0, 1]."""
    values = [v for view in views for v in (*view.observed.dice, min(view.band.q10), max(view.band.q90))]
    targets = [v.recommendation.target_dice for v in views if v.recommendation.target_dice is not None]
    low, high = min(values + targets), max(values + targets)
    margin = 0.06 * (high - low) + 0.01
    return max(0.0, low - margin), min(1.0, high + margin)


def _draw_curve(ax, view: CurveView, color: str, columns: int) -> None:
    observed, rec, band = view.observed, view.recommendation, view.band
    n = np.asarray(band.n)
    q = np.column_stack([getattr(band, k) for k in _BAND])
    ax.fill_between(n, q[:, 0], q[:, 4], color=color, alpha=0.14, lw=0)
    ax.fill_between(n, q[:, 1], q[:, 3], color=color, alpha=0.28, lw=0)
    ax.plot(n, q[:, 2], color=color, lw=1.4)
    sd = np.array([np.nan if v is None else v for v in observed.sd], dtype=float)
    spread = np.where(np.asarray(observed.count) >= 2, np.nan_to_num(sd), 0.0)
    ax.errorbar(observed.n, observed.dice, yerr=spread if np.any(spread > 0) else None, **_MEASURED)
    ax.axvline(observed.n[-1], **_LAST_MEASURED)
    if rec.pool_size is not None and rec.pool_size <= n[-1] * 1.001:
        ax.axvline(rec.pool_size, **_POOL)
    if rec.target_dice is not None:
        ax.axhline(rec.target_dice, **_TARGET)
        needed = rec.n_for_target
        if _drawn_need(rec):
            bottom = ax.get_ylim()[0]
            ax.plot([needed] * 2, [bottom, rec.target_dice], **_RECOMMENDED)
            ax.plot(needed, rec.target_dice, "v", color=_RED, ms=5, zorder=6)
            left_half = needed < np.sqrt(n[0] * n[-1])
            ax.annotate(f"n ≈ {size_text(needed, rec.n_observed)}", (needed, bottom),
                        xytext=(3 if left_half else -3, 4),
                        textcoords="offset points", color=_RED, fontsize=7, fontweight="bold",
                        ha="left" if left_half else "right", va="bottom")
    _log_x(ax, n[0], n[-1], crowded=columns >= 3)
    ax.set_xlim(n[0] * 0.85, n[-1] * 1.1)


def _drawn_need(rec) -> bool:
    """Whether a panel marks the cases its target needs: not where the forecast is already there at the smallest
    size measured (the marker would sit in the axis corner and mean nothing)."""
    return rec.n_for_target is not None and not (rec.n_smallest is not None and rec.n_for_target <= rec.n_smallest)


def _curve_legend(views: Sequence[CurveView]) -> tuple[list, list[str]]:
    """Neutral-coloured legend entries for what the learning-curve panels show."""
    rec = views[0].recommendation
    replicated = any(max(v.observed.count) >= 2 for v in views)
    entries = [
        (Line2D([], [], marker="o", ls="none", ms=3.5, color="black", mfc="white"),
         "measured (bars: ±1 sd across seeds)" if replicated else "measured"),
        (Line2D([], [], color="#555555", lw=1.4), "forecast median"),
        (Patch(color="#555555", alpha=0.35, lw=0), "50% interval"),
        (Patch(color="#555555", alpha=0.14, lw=0), "80% interval"),
        (Line2D([], [], **_LAST_MEASURED), "largest size measured"),
    ]
    if rec.target_dice is not None:
        entries.append((Line2D([], [], **_TARGET), f"target Dice {rec.target_dice:.2f}"))
    if any(_drawn_need(v.recommendation) for v in views):
        entries.append((Line2D([], [], **_RECOMMENDED), f"cases needed ({rec.confidence:.0%} confidence)"))
    if rec.pool_size is not None:
        entries.append((Line2D([], [], **_POOL), f"pool size ({rec.pool_size:,})"))
    handles, names = zip(*entries)
    return list(handles), list(names)


def marginal_value_figure(views: Sequence[CurveView], step: int) -> Figure:
    """Two panels over training-set size: median Dice gained per ``step`` more cases (priced when a cost per case is
    known), and Dice gained by doubling the data against the plateau threshold; one line per curve, coloured as in
    :func:`learning_curves_figure`."""
    rec = views[0].recommendation
    with rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH_IN, 2.9), layout="constrained")
        per_step, per_doubling = fig.subplots(1, 2)
        low, high = np.inf, 0.0
        shown_step, shown_doubling = [], []
        for view, color in zip(views, curve_colors(len(views))):
            value = {k: np.asarray(getattr(view.marginal, k)) for k in ("n", "gain_per_step", "gain_per_doubling")}
            n = value["n"]
            low, high = min(low, n[0]), max(high, n[-1])
            measured = n <= view.observed.n[-1]
            local = n >= step  # below ``step`` cases, "step more" is no longer a small change
            step_gain = value["gain_per_step"]
            value["gain_per_step"] = np.where(step_gain >= _SMALLEST_GAIN, step_gain, np.nan)  # kept on the log axis
            for ax, column, shown in ((per_step, "gain_per_step", local), (per_doubling, "gain_per_doubling", True)):
                ax.plot(n[measured & shown], value[column][measured & shown], color=color, lw=1.4,
                        label=_figure_label(view))
                ax.plot(n[~measured & shown], value[column][~measured & shown], color=color, lw=1.4,
                        ls=(0, (4, 2)))
            plateau, smallest = view.recommendation.n_plateau, view.recommendation.n_smallest
            if plateau is not None and (smallest is None or plateau > smallest):  # flat from the start: no point
                per_doubling.plot(plateau, rec.plateau_gain, "o", color=color, ms=4, zorder=5)
            shown_step.append(value["gain_per_step"][local])
            shown_doubling.append(value["gain_per_doubling"])
        cost = f"\n(costing {cost_words(step * rec.cost_per_case)})" if rec.cost_per_case else ""
        per_step.set_ylabel(f"Dice gained by {step:,} more cases{cost}")
        per_step.set_yscale("log")
        per_step.set_ylim(*_gain_limits(np.concatenate(shown_step)))
        per_step.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        per_doubling.set_ylabel("Dice gained by doubling the data")
        doubling = np.concatenate(shown_doubling)
        per_doubling.set_ylim(min(0.0, float(np.nanmin(doubling)) * 1.1),
                              max(float(np.nanmax(doubling)), rec.plateau_gain) * 1.3)
        per_doubling.axhline(rec.plateau_gain, **_TARGET)
        for ax in (per_step, per_doubling):
            ax.set_xlabel("training cases (n)")
            _log_x(ax, low, high, crowded=True)
            ax.set_xlim(low, high)
        per_step.set_title("Return on the next cases", loc="left", fontweight="bold")
        per_doubling.set_title("Return on doubling the data", loc="left", fontweight="bold")
        if len(views) <= _INSET_LEGEND:
            per_step.legend(loc="upper right", frameon=False)
        else:
            fig.legend(*per_step.get_legend_handles_labels(), loc="outside lower center", ncols=4,
                       frameon=False)
        per_doubling.legend(
            [Line2D([], [], color="black", lw=1.4), Line2D([], [], color="black", lw=1.4, ls=(0, (4, 2))),
             Line2D([], [], **_TARGET), Line2D([], [], marker="o", ls="none", color="black", ms=4)],
            ["measured range", "forecast", f"plateau threshold ({rec.plateau_gain:.3f})", "plateau point"],
            loc="upper right", frameon=False)
    return fig


def _gain_limits(gains: np.ndarray) -> tuple[float, float]:
    """Log-axis limits holding every positive gain drawn, down to :data:`_SMALLEST_GAIN` (smaller ones are not
    drawn), so no line leaves the panel."""
    shown = gains[np.isfinite(gains) & (gains >= _SMALLEST_GAIN)]
    if shown.size == 0:
        return _SMALLEST_GAIN, 10 * _SMALLEST_GAIN
    return float(shown.min()) / 1.3, float(shown.max()) * 1.3


def _log_x(ax, low: float, high: float, crowded: bool) -> None:
    """Log-scaled size axis with plain numbers (20, 50, 100, ...) rather than powers of ten; fewer ticks where
    a narrow panel spans several decades."""
    ax.set_xscale("log")
    decades = np.log10(high / low) + (0.7 if crowded else 0)  # a narrow panel holds fewer labels
    subs = (1.0,) if decades > 3.5 else (1.0, 3.0) if decades > 2 else (1.0, 2.0, 5.0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=np.arange(1, 10)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


#: Most characters of a curve's name in a figure; the tables give it whole (or cut with a note).
FIGURE_LABEL_CHARS = 48


def _figure_label(view: CurveView) -> str:
    """A curve's short name as a figure shows it: in the font's letters (:func:`in_font`), at most
    :data:`FIGURE_LABEL_CHARS` characters (a longer one ends in "…")."""
    label = in_font(view.short_label)
    return label if len(label) <= FIGURE_LABEL_CHARS else label[:FIGURE_LABEL_CHARS - 1] + "…"

