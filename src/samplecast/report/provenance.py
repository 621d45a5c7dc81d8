"""Where a report's numbers came from: the curves file (with its checksum), the options, the software and the date,
and the command that writes the same report again."""

from __future__ import annotations

import hashlib
import platform
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from samplecast.versions import package_versions as installed_versions
from samplecast.plan import CurvePlan, PlanOptions

#: Packages whose versions a report records.
PACKAGES: tuple[str, ...] = ("samplecast", "numpy", "scipy", "pandas", "statsmodels", "torch", "matplotlib", "fpdf2")


@dataclass(frozen=True)
class Provenance:
    """The inputs of a report.

    Args:
        source: the curves file, or ``None`` for curves built in memory.
        sha256: the file's SHA-256 checksum (``None`` without a file).
        runs: measured runs (rows) behind the curves.
        method: the forecasting method.
        options: the planner's options.
        average_seeds: whether seeds were pooled into one curve per configuration.
        created: when the report was written (UTC).
        versions: package name -> installed version.
    """

    source: str | None
    sha256: str | None
    runs: int
    method: str
    options: PlanOptions
    average_seeds: bool
    created: datetime
    versions: dict[str, str]

    def command(self, output: str | Path, title: str | None = None) -> str:
        """The ``samplecast report`` command line that writes this report again (``None`` source: a placeholder)."""
        o = self.options
        words = ["samplecast", "report", self.source or "CURVES.csv", "-o", str(output), "--method", self.method]
        if o.target_dice is not None:
            words += ["--target-dice", f"{o.target_dice:g}"]
        words += ["--confidence", f"{o.confidence:g}", "--plateau-gain", f"{o.plateau_gain:g}"]
        if o.pool_size is not None:
            words += ["--pool-size", f"{o.pool_size:g}"]
        if o.cost_per_case is not None:
            words += ["--cost-per-case", f"{o.cost_per_case:g}"]
        if self.average_seeds:
            words.append("--average-seeds")
        if title:
            words += ["--title", title]
        return shlex.join(words)


def collect_provenance(plans: Sequence[CurvePlan], method: str, source: str | Path | None = None, *,
                       created: datetime | None = None) -> Provenance:
    """Gather the provenance of a report on ``plans`` made from the curves file ``source``."""
    curves = [p.forecast.curve for p in plans]
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source is not None else None
    return Provenance(
        source=str(source) if source is not None else None, sha256=digest,
        runs=int(sum(c.count.sum() for c in curves)), method=method,
        options=plans[0].options,
        average_seeds=all("seed" not in c.key for c in curves),
        created=created or datetime.now(timezone.utc), versions=package_versions(),
    )


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` and of Python."""
    installed = installed_versions(PACKAGES)
    return {"python": platform.python_version(), **{k: v or "not installed" for k, v in installed.items()}}
