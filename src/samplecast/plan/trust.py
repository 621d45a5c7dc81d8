"""How far to trust a plan, measured only on curves the method never learned from: the forecaster's own
leave-one-dataset-out backtest (read from its summary, :mod:`samplecast.forecast.evaluate.summary`), and a backtest
of the method on the planner's own curves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from samplecast.curves import Curve, sources_words
from samplecast.errors import InputError
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.backtest_rows import BacktestSet, DecisionRow, TrustRow
from samplecast.plan import trust_sentences as sentences
from samplecast.schema import NON_EMPTY, SIZE, UNIT

if TYPE_CHECKING:
    from samplecast.forecast.evaluate import BacktestSummary

#: Cutoffs at which a user's own curves are backtested (fractions of each curve's largest size).
OWN_CUTOFFS: tuple[float, ...] = (0.2, 0.5)


@dataclass(frozen=True)
class ShippedTrust:
    """The forecaster's leave-one-dataset-out backtest of the method: its protocol, image sets and provenance, the
    rows pooled over every held-out set, the rows of each held-out set (each by increasing cutoff), and the backtest
    of the planner's decisions pooled over the held-out sets (empty when the forecaster's backtest has none)."""

    protocol: str
    datasets: tuple[BacktestSet, ...]
    command: str | None
    created: str | None
    machine: str | None
    pooled: tuple[TrustRow, ...] = field(metadata=NON_EMPTY)
    per_set: tuple[TrustRow, ...]
    decisions: tuple[DecisionRow, ...] = ()


@dataclass(frozen=True)
class OwnTrust:
    """The backtest of the method on the planner's curves, each cut at ``cutoffs`` of its largest size."""

    cutoffs: tuple[float, ...] = field(metadata=UNIT)
    curves: int = field(metadata=SIZE)
    rows: tuple[TrustRow, ...]


@dataclass(frozen=True)
class Trust:
    """How far to trust the plan: each backtest, or the note saying why there is none; in words, what a backtest is
    (``intro``), where the forecaster's figures come from or why there are none (``shipped_words``), the pooled
    backtest against how far the plan reaches (``summary``), the backtest on the planner's curves or why there is
    none (``own_words``), the caveats every forecast carries, and what the planner's decisions achieved on the held-out
    sets (``decisions_words``, ``None`` without a backtest of decisions)."""

    method: str
    shipped: ShippedTrust | None
    shipped_note: str | None
    own: OwnTrust | None
    own_note: str | None
    intro: str
    shipped_words: str
    summary: str | None
    own_words: str
    caveats: tuple[str, ...]
    decisions_words: str | None = None


def shipped_trust(summary: BacktestSummary | None, method: str) -> tuple[ShippedTrust | None, str | None]:
    """The forecaster's backtest of ``method``, or ``None`` and why (no summary of this format, or the method not
    backtested)."""
    from samplecast.forecast.evaluate import POOLED

    if summary is None:
        return None, sentences.NO_SHIPPED_BACKTEST
    rows = tuple(TrustRow(**row) for row in summary.method_rows(method))
    if not rows:
        return None, sentences.method_not_backtested(method, summary.methods)
    source = summary.source
    datasets = tuple(BacktestSet(str(d["name"]), tuple(d.get("files", [])), int(d["curves"]))
                     for d in source.get("datasets", []))
    return ShippedTrust(summary.protocol, datasets, source.get("command"), source.get("created"),
                        source.get("machine"), tuple(r for r in rows if r.held_out == POOLED),
                        tuple(r for r in rows if r.held_out != POOLED),
                        tuple(DecisionRow(**row) for row in summary.decision_rows(POOLED))), None


def own_trust(curves: Sequence[Curve], forecaster: CurveForecaster, sources: Sequence[str | Path],
              summary: BacktestSummary | None) -> tuple[OwnTrust | None, str | None]:
    """The backtest of ``forecaster`` (cloned unfitted for each prefix) on the user's own curves (each cut at
    :data:`OWN_CUTOFFS` of its largest size and forecast to it), or ``None`` and why. Curves of several scenarios
    are summarised one scenario at a time, never pooled.

    Left out for a curves file of the forecaster's backtest: its curves were scored there, held out from what the
    method learned, while the method forecasting has learned from them, so scoring it on them again would flatter
    it. ``sources``: the curves files (none for curves made in memory)."""
    from samplecast.forecast.evaluate import backtest, summarize

    learned = summary.curve_files() if summary is not None else set()
    scored = [Path(p).name for p in sources if Path(p).name in learned]
    if scored:
        others = [str(p) for p in sources if Path(p).name not in scored]
        return None, sentences.scored_in_the_backtest(sources_words(scored), sources_words(others) if others else None)
    try:
        results = backtest(curves, [forecaster], OWN_CUTOFFS)
    except InputError:
        return None, sentences.too_short_to_backtest(max(OWN_CUTOFFS))
    scenario = ["scenario"] if len({c.scenario for c in curves}) > 1 else []
    rows = tuple(TrustRow(float(r.cutoff), int(r.curves), round(float(r.mae), 4), round(float(r.bias), 4),
                          round(float(r.coverage80), 4), round(float(r.coverage90), 4), round(float(r.width80), 4),
                          scenario=r.scenario if scenario else None)
                 for r in summarize(results, by=(*scenario, "cutoff")).itertuples())
    return OwnTrust(OWN_CUTOFFS, len({*results["curve"]}), rows), None


def trust_figures(method: str, curves: Sequence[Curve], forecaster: CurveForecaster, sources: Sequence[str | Path],
                  summary: BacktestSummary | None, reaches: Sequence[tuple[float, str]],
                  forecaster_name: str) -> Trust:
    """Both backtests with their sentences, and the pooled one in words against how far the plan reaches
    (``reaches``: each curve's recommended size over its largest measured size, with its label);
    ``forecaster_name`` is ``"shipped"`` or the forecaster folder."""
    shipped, shipped_note = shipped_trust(summary, method)
    own, own_note = own_trust(curves, forecaster, sources, summary)
    pooled_words = decisions_words = None
    if shipped is None:
        shipped_words = sentences.no_reference_figures(shipped_note)
    else:
        datasets = sentences.datasets_words([(d.name, d.curves, d.files) for d in shipped.datasets])
        shipped_words = sentences.shipped_backtest(method, shipped.protocol, forecaster_name, datasets,
                                                   shipped.created, shipped.machine)
        widest = min(shipped.pooled, key=lambda r: r.cutoff)
        pooled_words = " ".join(filter(None, [
            sentences.trust_summary(widest.cutoff, widest.mae, widest.bias, widest.coverage80, reaches,
                                    (widest.mae_low, widest.mae_high)),
            sentences.fewer_scored([(r.cutoff, r.curves) for r in shipped.pooled])]))
        decisions_words = sentences.decisions_summary(shipped.decisions)
    if own is None:
        own_words = sentences.no_own_backtest(own_note)
    else:
        from samplecast.forecast.evaluate import cutoff_coverage

        notes = sentences.cutoff_notes(cutoff_coverage(curves, own.cutoffs), len(curves))
        own_words = sentences.own_backtest(own.curves, sources_words(sources) if sources else None, own.cutoffs,
                                           notes)
    fewest, most = min(int(c.count.min()) for c in curves), max(int(c.count.max()) for c in curves)
    return Trust(method, shipped, shipped_note, own, own_note, sentences.backtest_intro(method), shipped_words,
                 pooled_words, own_words, sentences.caveats(fewest, most), decisions_words)
