"""The hand-written ``## Findings`` section of a benchmark report, kept when the report's tables are written again."""

from __future__ import annotations

from pathlib import Path


def kept_findings(report_path: Path) -> str:
    """The ``## Findings`` section of an existing report (up to the next ``## `` heading), or ``""``; re-read it
    against the new numbers."""
    text = report_path.read_text() if report_path.exists() else ""
    start = text.find("\n## Findings")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start + 1:end if end >= 0 else len(text)].strip()
