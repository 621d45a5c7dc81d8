"""The sweep record a curves table was written with (``config.json``): where it lies, and its convergence verdict in
words, so a forecast can say when its curves measure the step budget rather than the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samplecast.train.store import CONFIG_FILE, CURVES_FILE


def read_convergence(out: str | Path) -> dict[str, Any] | None:
    """The convergence check of the sweep in ``out`` as written to its ``config.json`` (``converged`` is ``True``,
    ``False``, or ``None`` when not checked or not finished); ``None`` without a readable ``config.json``."""
    return _convergence(Path(out) / CONFIG_FILE)


def record_beside(curves: str | Path) -> Path:
    """Where the record of the sweep that wrote a curves table lies: ``config.json`` beside a sweep's own
    ``curves.csv``, ``<name>_config.json`` beside a table kept as ``<name>_curves.csv`` (as in ``data/``)."""
    curves = Path(curves)
    if curves.name == CURVES_FILE:
        return curves.with_name(CONFIG_FILE)
    return curves.with_name(f"{curves.stem.removesuffix('_curves')}_config.json")


def convergence_moves(convergence: dict[str, Any]) -> dict[str, str]:
    """Each convergence check that moved test Dice by the sweep's tolerance or more (``largest``, ``floor``), and what
    moved, in words (``twice the steps on the largest fraction moved test Dice by depth 3 +0.018``)."""
    checks = {"largest": ("twice the steps on the largest fraction", convergence)}
    floor = convergence.get("floor")
    if isinstance(floor, dict):
        checks["floor"] = (f"twice the {floor['steps']:,}-step floor on {floor['n_train']:,} cases", floor)
    moves = {}
    for kind, (words, check) in checks.items():
        moved = ", ".join(f"depth {d['depth']} {d['change']:+.3f}" for d in check.get("depths", ())
                          if d.get("change") is not None and abs(d["change"]) >= convergence["tolerance"])
        if moved:
            moves[kind] = f"{words} moved test Dice by {moved}"
    return moves


def budget_warnings(paths: list[str | Path]) -> list[str]:
    """One line per curves table whose sweep record says its convergence check failed: those curves measure the
    step budget as well as the data, which bends them where a forecast reads them."""
    lines = []
    for path in paths:
        record = record_beside(path)
        convergence = _convergence(record)
        if convergence and convergence.get("converged") is False:
            try:
                moved = "; ".join(convergence_moves(convergence).values())
            except (KeyError, TypeError, ValueError, AttributeError):  # a record edited by hand: no verdict read
                continue
            lines.append(f"{path}: its sweep did not converge ({record.name}: {moved}), so its curves measure the "
                         "training budget as well as the data, and forecasts from them may misjudge what more cases "
                         "give; sweep again with more steps")
    return lines


def _convergence(record: Path) -> dict[str, Any] | None:
    try:
        written = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return written.get("convergence") if isinstance(written, dict) else None
