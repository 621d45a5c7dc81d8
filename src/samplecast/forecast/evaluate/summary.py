"""The one summary of a backtest: error and interval coverage per method, held-out image set and cutoff, and its
one reader (:meth:`BacktestSummary.from_dict`, :func:`read_summary`).

The numbers live in the ``backtest_summary.json`` of a forecaster folder (``samplecast/assets/`` for the shipped one),
written by :func:`samplecast.forecast.build.build_forecaster` (``samplecast surrogate build``): a leave-one-dataset-out
backtest (:func:`samplecast.forecast.folds.held_out_folds`) on the real curves it was built from (``data/`` for the
shipped one), summarised by :func:`summarize_backtest`. Every part learned from those curves (the ensemble's weights
and correction, the LSTM's interval widening) is learned without the image set it is scored on, so no figure is
measured on curves the method learned from. The file is plain JSON (format 2):

.. code-block:: json

    {"format": 2,
     "description": "what was measured, in a few sentences",
     "protocol": "leave-one-dataset-out",
     "source": {"datasets": [{"name": "kvasir-seg", "files": ["data/kvasir_h100_curves.csv"], "curves": 13}],
                "command": "samplecast surrogate build data/... -o src/samplecast/assets --pretrain",
                "created": "2026-12-01",
                "samplecast": "0.1.0", "machine": "..."},
     "rows": [{"method": "ensemble", "held_out": "all", "cutoff": 0.2, "curves": 17, "mae": 0.016, "bias": 0.002,
               "coverage80": 0.82, "coverage90": 0.88, "width80": 0.07}],
     "build": "20261207T061600Z-f2a566d0"}

Every field is checked on reading against :class:`SummaryFile` (rows against
:class:`~samplecast.forecast.backtest_rows.SummaryRow`); ``build`` is the id of the forecaster build that wrote it
(:mod:`samplecast.forecast.folder`).

An optional ``decisions`` list holds the backtest of decisions (:mod:`samplecast.forecast.evaluate.decisions`): one
row per (policy, held-out image set) with the fields of :data:`DECISION_FIELDS`: the decisions replayed, the share
of targets reached, the median and 90th percentile of the cases annotated against the fewest that sufficed, the share
of "not reachable" answers or stops, the mean rounds used and the mean cost in units of the pool.

One row per (method, held-out image set, cutoff), with the fields of :data:`ROW_FIELDS`: each complete curve is cut
where its sizes reach ``cutoff`` of its largest size and the method forecasts Dice at the largest size from that
prefix; ``held_out`` names the image set scored (``"all"``: every set's held-out forecasts pooled); ``curves`` counts
the forecasts scored; ``mae`` and ``bias`` are the mean absolute and mean signed error of the median forecast (Dice),
``coverage80`` and ``coverage90`` the share of forecasts whose measured Dice fell inside the 80% and 90% intervals,
``width80`` the mean width of the 80% interval; the pooled rows add ``mae_low`` and ``mae_high``, the 95% interval of
their MAE resampling the configurations scored (:func:`~samplecast.forecast.evaluate.forecasts.
configuration_interval`; ``null`` elsewhere, and in summaries written before them).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from samplecast import schema
from samplecast.errors import InputError, raise_if_any
from samplecast.files import put_text
from samplecast.forecast.backtest_rows import BacktestSet, DecisionRow, SummaryRow
from samplecast.forecast.evaluate.decisions import summarize_decisions
from samplecast.forecast.evaluate.forecasts import mae_intervals, summarize

FORMAT = 2
PROTOCOL = "leave-one-dataset-out"
ROW_FIELDS: tuple[str, ...] = ("method", "held_out", "cutoff", "curves", "mae", "bias", "coverage80", "coverage90",
                               "width80", "mae_low", "mae_high")
DECISION_FIELDS: tuple[str, ...] = ("policy", "held_out", "decisions", "reached", "cases_ratio_median",
                                    "cases_ratio_p90", "said_unreachable", "rounds_used", "cost_share")
#: The ``held_out`` value of rows pooled over every held-out image set.
POOLED = "all"
SHIPPED = "backtest_summary.json"
@dataclass(frozen=True)
class SummarySource:
    """Where a summary's figures come from: the image sets scored, and the build's date, version, machine, command."""

    datasets: tuple[BacktestSet, ...] = ()
    created: str | None = None
    samplecast: str | None = None
    machine: str | None = None
    command: str | None = field(default=None, metadata={"max_length": 100_000})


@dataclass(frozen=True)
class SummaryFile:
    """The schema of a summary's JSON document (the module docstring); ``build`` is the id of the forecaster build
    that wrote it (:mod:`samplecast.forecast.folder`)."""

    format: int
    rows: tuple[SummaryRow, ...] = field(metadata=schema.NON_EMPTY)
    description: str = ""
    protocol: str = PROTOCOL
    source: SummarySource = field(default_factory=SummarySource)
    decisions: tuple[DecisionRow, ...] | None = None
    build: str | None = None

    def __post_init__(self) -> None:
        repeated = sorted(k for k, n in Counter((r.method, r.held_out, r.cutoff) for r in self.rows).items() if n > 1)
        if repeated:
            raise InputError(f"rows: {len(repeated)} (method, held_out, cutoff) given twice, e.g. {repeated[0]}")


@dataclass(frozen=True)
class BacktestSummary:
    """Backtest error and interval coverage per method, held-out image set and cutoff, with where they came from.

    Args:
        rows: one row per (method, held_out, cutoff) with the columns :data:`ROW_FIELDS`.
        source: provenance: ``datasets`` (a list of ``{"name", "files", "curves"}``, one per image set), the command,
            date, samplecast version and machine.
        description: a few sentences saying what was measured and what each method learned from.
        protocol: how the curves scored were kept from the methods' learning (:data:`PROTOCOL`).
        decisions: the backtest of decisions of the default method, one row per (policy, held_out) with the columns
            :data:`DECISION_FIELDS`, or ``None`` when it was not run.
        origin: the file it was read from, named when a reader finds a value of the wrong type.
    """

    rows: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    protocol: str = PROTOCOL
    decisions: pd.DataFrame | None = None
    origin: str = "backtest summary"

    @classmethod
    def from_dict(cls, document: dict[str, Any], origin: str = "backtest summary") -> BacktestSummary:
        """Read the JSON document; ``origin`` names it in error messages.

        Raises:
            InputError: when the format is unknown or a field is missing, of the wrong type or out of its range
                (:class:`SummaryFile`; one line per problem).
        """
        found = document.get("format") if isinstance(document, dict) else None
        problems = [] if found == FORMAT else [f"{origin}: format {found!r} is not {FORMAT}"]
        try:
            checked = schema.load(SummaryFile, document, origin)
        except InputError as exc:
            problems += exc.problems
        raise_if_any(problems)
        table = pd.DataFrame(document["rows"], columns=list(ROW_FIELDS))
        decisions = document.get("decisions")
        return cls(table, dict(document.get("source", {})), checked.description, checked.protocol,
                   None if decisions is None else pd.DataFrame(decisions, columns=list(DECISION_FIELDS)), origin)

    @classmethod
    def load(cls, path: str | Path | None = None) -> BacktestSummary:
        """Read a summary file, by default the one shipped with the package."""
        if path is None:
            text = resources.files("samplecast").joinpath("assets", SHIPPED).read_text()
            return cls.from_dict(json.loads(text), origin=f"samplecast/assets/{SHIPPED}")
        path = Path(path)
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        return cls.from_dict(document, origin=str(path))

    @property
    def methods(self) -> list[str]:
        """The methods the summary holds, in file order."""
        return list(dict.fromkeys(self.rows["method"]))

    def for_method(self, method: str, held_out: str = POOLED) -> pd.DataFrame:
        """The rows of one method and held-out set (default: pooled over every held-out set), by increasing cutoff;
        empty when the method was not backtested. What a report quotes for the method it used."""
        rows = self.rows[(self.rows["method"] == method) & (self.rows["held_out"] == held_out)]
        return rows.sort_values("cutoff").reset_index(drop=True)

    def method_rows(self, method: str) -> list[dict[str, Any]]:
        """Every row of ``method`` as plain values without the method: the pooled rows first, then each held-out set,
        each by increasing cutoff; empty when the method was not backtested."""
        rows = self.rows[self.rows["method"] == method].drop(columns="method")
        rows = rows.sort_values(["held_out", "cutoff"], key=lambda c: c.map(_pooled_first) if c.name == "held_out"
                                else c, kind="stable")
        return _records(rows)

    def curve_files(self) -> set[str]:
        """The names of the curves files the backtest scored (and the forecaster learned from)."""
        return {Path(f).name for d in self.source.get("datasets", []) for f in d.get("files", [])}

    def decision_rows(self, held_out: str = POOLED) -> list[dict[str, Any]]:
        """The backtest of decisions for one held-out set (default: pooled) as plain values, in file order; empty
        when it was not run."""
        if self.decisions is None:
            return []
        return _records(self.decisions[self.decisions["held_out"] == held_out])

    def provenance(self, method: str | None = None) -> str:
        """Where the figures come from, in one sentence for a report: the protocol, the image sets with their files
        and curve counts, the cutoffs (with the forecasts scored at each, for ``method``), and the date."""
        datasets = self.source.get("datasets", [])
        named = "; ".join(f"{d['name']} ({d['curves']} curves: {', '.join(d.get('files', []))})" for d in datasets)
        rows = self.for_method(method) if method is not None else self.rows[self.rows["held_out"] == POOLED]
        cutoffs = ", ".join(f"{c:.0%} ({int(k)} forecasts)" if method is not None else f"{c:.0%}"
                            for c, k in zip(rows["cutoff"], rows["curves"]))
        if method is None:
            cutoffs = ", ".join(dict.fromkeys(cutoffs.split(", ")))
        created = self.source.get("created", "date unknown")
        return (f"{self.protocol} backtest on {named or 'curves not recorded'}; cutoffs {cutoffs or 'none'} of each "
                f"curve's largest size; {created}.")

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (see the module docstring)."""
        document = {"format": FORMAT, "description": self.description, "protocol": self.protocol,
                    "source": self.source, "rows": _records(self.rows)}
        return document if self.decisions is None else {**document, "decisions": _records(self.decisions)}

    def save(self, path: str | Path) -> Path:
        """Write the JSON document to ``path``."""
        return put_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def summarize_backtest(results: pd.DataFrame, *, source: dict[str, Any] | None = None, description: str = "",
                       protocol: str = PROTOCOL, decisions: pd.DataFrame | None = None) -> BacktestSummary:
    """Summarise backtest rows (from :func:`samplecast.forecast.evaluate.forecasts.backtest` or
    :func:`samplecast.forecast.folds.held_out_folds`) per method, held-out set and cutoff, plus the rows pooled
    over every held-out set (``held_out`` = ``"all"``), rounded to 4 places. Rows without a ``held_out`` column are
    all pooled. ``decisions`` are replayed decisions (:func:`~samplecast.forecast.evaluate.decisions.
    held_out_decisions`), summarised the same way per policy."""
    if "held_out" not in results:
        results = results.assign(held_out=POOLED)
    by = ("method", "held_out", "cutoff")
    pooled = results.assign(held_out=POOLED)
    parts = [summarize(results, by=by)] if results["held_out"].ne(POOLED).any() else []
    parts.append(summarize(pooled, by=by).merge(mae_intervals(pooled, by=by), on=list(by)))
    table = pd.concat(parts, ignore_index=True).reindex(columns=list(ROW_FIELDS))
    numeric = ["mae", "bias", "coverage80", "coverage90", "width80", "mae_low", "mae_high"]
    table[numeric] = table[numeric].astype(float).round(4)
    table = table.sort_values(["method", "held_out", "cutoff"], key=lambda c: c.map(_order) if c.name == "held_out"
                              else c, kind="stable")
    return BacktestSummary(table.reset_index(drop=True), dict(source or {}), description, protocol,
                           None if decisions is None else _decision_table(decisions))


def _decision_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """Replayed decisions per policy and held-out set, then pooled, rounded to 4 places."""
    parts = [summarize_decisions(decisions, by=("policy", "held_out")),
             summarize_decisions(decisions.assign(held_out=POOLED), by=("policy", "held_out"))]
    table = pd.concat(parts, ignore_index=True)[list(DECISION_FIELDS)]
    numeric = list(DECISION_FIELDS[3:])
    table[numeric] = table[numeric].astype(float).round(4)
    return table


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def read_summary(document: dict[str, Any], origin: str = "backtest summary") -> BacktestSummary | None:
    """The summary in a JSON document, or ``None`` for a document of another format (a forecaster built by another
    version of samplecast), which a report names rather than quotes.

    Raises:
        InputError: for a document of this format whose rows lack fields (see :meth:`BacktestSummary.from_dict`).
    """
    if isinstance(document, dict) and document.get("format") != FORMAT:
        return None
    return BacktestSummary.from_dict(document, origin)


def _pooled_first(held_out: str) -> str:
    """Sort key putting the pooled rows before the image sets."""
    return "" if held_out == POOLED else held_out


def _order(held_out: str) -> str:
    """Sort key putting the pooled rows after the image sets."""
    return "~" if held_out == POOLED else held_out


def _plain(value: Any) -> Any:
    """NumPy scalars to Python scalars for JSON; a missing number (NaN) to null."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value
