"""Where a report's numbers came from, as the plan document records it, and the command that writes it again."""

from __future__ import annotations

import shlex
from pathlib import Path

from samplecast.plan import DEFAULT_SHORTFALL, PlanDocument


def report_command(document: PlanDocument, output: str | Path, title: str | None = None) -> str:
    """The ``samplecast report`` command line that writes the report of ``document`` again (a placeholder for the
    curves file of a plan made in memory)."""
    o, source = document.options, document.source
    words = ["samplecast", "report", *([f.path for f in source.files] or ["CURVES.csv"]), "-o", str(output),
             "--method", document.method]
    if document.forecaster != "shipped":
        words += ["--forecaster", document.forecaster]
    if o.target_dice is not None:
        words += ["--target-dice", f"{o.target_dice:g}"]
    words += ["--confidence", f"{o.confidence:g}", "--plateau-gain", f"{o.plateau_gain:g}"]
    if o.pool_size is not None:
        words += ["--pool-size", f"{o.pool_size:g}"]
    if o.cost_per_case is not None:
        words += ["--cost-per-case", f"{o.cost_per_case:g}"]
    if o.rounds is not None:
        words += ["--rounds", str(o.rounds)]
    if o.target_dice is not None and o.shortfall_cost != DEFAULT_SHORTFALL:
        words += ["--shortfall-cost", str(o.shortfall_cost) if isinstance(o.shortfall_cost, str)
                  else f"{o.shortfall_cost:g}"]
    words.append("--average-seeds" if source.average_seeds else "--seeds-apart")
    words.append("--depths-together" if source.depths_together else "--depths-apart")
    if title:
        words += ["--title", title]
    return shlex.join(words)
