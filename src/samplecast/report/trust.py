"""How far to trust a forecast: the backtest numbers shipped with the package, and the caveats every report states.

The numbers live in ``samplecast/assets/backtest_summary.json``, written by ``benchmarks/backtest_summary.py`` with
:func:`summarize_backtest` (which runs :func:`samplecast.forecast.backtest.backtest`) on the shipped reference
curves. The file is plain JSON, so another benchmark can regenerate it with more methods:

.. code-block:: json

    {"format": 1,
     "description": "what was measured, in one sentence",
     "source": {"curves": "data/kvasir_reference_curves.csv", "curves_sha256": "...", "n_curves": 3,
                "command": "python benchmarks/backtest_summary.py ...", "created": "2026-11-22",
                "samplecast": "0.1.0", "machine": "..."},
     "rows": [{"method": "average", "cutoff": 0.5, "curves": 3, "mae": 0.019, "bias": -0.019,
               "coverage80": 1.0, "coverage90": 1.0, "width80": 0.079}]}

One row per (method, cutoff), with the fields of :data:`ROW_FIELDS`: each complete curve is cut where its sizes reach
``cutoff`` of its largest size and the method forecasts Dice at the largest size from that prefix; ``mae`` and
``bias`` are the mean absolute and mean signed error of the median forecast (Dice), ``coverage80`` and ``coverage90``
the share of curves whose measured Dice fell inside the 80% and 90% intervals, ``width80`` the mean width of the 80%
interval. ``source`` is free-form provenance; reports print ``curves``, ``n_curves`` and ``created``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.backtest import DEFAULT_CUTOFFS, backtest, summarize

FORMAT = 1
ROW_FIELDS: tuple[str, ...] = ("method", "cutoff", "curves", "mae", "bias", "coverage80", "coverage90", "width80")
SHIPPED = "backtest_summary.json"

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


@dataclass(frozen=True)
class BacktestSummary:
    """Backtest error and interval coverage per method and cutoff, with where the numbers came from.

    Args:
        rows: one row per (method, cutoff) with the columns :data:`ROW_FIELDS`.
        source: provenance (curves file, number of curves, command, date, ...).
        description: one sentence saying what was measured.
    """

    rows: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @classmethod
    def from_dict(cls, document: dict[str, Any], origin: str = "backtest summary") -> BacktestSummary:
        """Read the JSON document; ``origin`` names it in error messages.

        Raises:
            InputError: when the format is unknown or rows lack fields (one line per problem).
        """
        problems = []
        if document.get("format") != FORMAT:
            problems.append(f"{origin}: format {document.get('format')!r} is not {FORMAT}")
        rows = document.get("rows")
        if not isinstance(rows, list) or not rows:
            problems.append(f"{origin}: no rows; expected a list of {{{', '.join(ROW_FIELDS)}}}")
            rows = []
        for i, row in enumerate(rows, start=1):
            missing = [f for f in ROW_FIELDS if f not in row]
            if missing:
                problems.append(f"{origin}: row {i} lacks {', '.join(missing)}")
        if problems:
            raise InputError(problems)
        table = pd.DataFrame(rows, columns=list(ROW_FIELDS))
        return cls(table, dict(document.get("source", {})), str(document.get("description", "")))

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

    def for_method(self, method: str) -> pd.DataFrame:
        """The rows of one method, by increasing cutoff (empty when the method was not backtested)."""
        rows = self.rows[self.rows["method"] == method]
        return rows.sort_values("cutoff").reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (see the module docstring)."""
        return {"format": FORMAT, "description": self.description, "source": self.source,
                "rows": [{k: _plain(v) for k, v in row.items()} for row in self.rows.to_dict(orient="records")]}

    def save(self, path: str | Path) -> Path:
        """Write the JSON document to ``path``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def summarize_backtest(curves: Sequence[Curve], methods: Sequence[str],
                       cutoffs: Sequence[float] = DEFAULT_CUTOFFS, *,
                       source: dict[str, Any] | None = None) -> BacktestSummary:
    """Backtest ``methods`` on complete ``curves`` and keep the per-(method, cutoff) summary, rounded to 4 places."""
    table = summarize(backtest(curves, methods, cutoffs))[list(ROW_FIELDS)]
    numeric = ["mae", "bias", "coverage80", "coverage90", "width80"]
    table[numeric] = table[numeric].astype(float).round(4)
    description = (f"Each of {len(curves)} complete curves cut where its sizes reach a cutoff fraction of its "
                   "largest size; every method forecasts Dice at the largest size from that prefix.")
    return BacktestSummary(table.reset_index(drop=True), {"n_curves": len(curves), **(source or {})}, description)


def _plain(value: Any) -> Any:
    """NumPy scalars to Python scalars for JSON."""
    return value.item() if hasattr(value, "item") else value
