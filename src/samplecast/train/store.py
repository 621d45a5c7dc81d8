"""The results folder of a sweep: one JSON file per finished run, and the curves table rebuilt from them.

Each run's record is written atomically (a temporary file renamed into place), so a sweep killed at any moment
leaves either a complete record or none, and the curves table can always be rebuilt from ``runs/`` without
duplicates.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplecast.curves import TRAINER_COLUMNS

CURVES_FILE = "curves.csv"
CONFIG_FILE = "config.json"
RUNS_DIR = "runs"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class RunStore:
    """The ``runs/<run_id>.json`` records under a sweep's output folder.

    Args:
        out: the sweep's output folder.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.runs = self.out / RUNS_DIR

    def path(self, run_id: str) -> Path:
        """Where the record of ``run_id`` lives."""
        return self.runs / f"{run_id}.json"

    def has(self, run_id: str) -> bool:
        """Whether ``run_id`` has finished (successfully or not) and must not run again."""
        return self.path(run_id).is_file()

    def write(self, record: dict[str, Any]) -> Path:
        """Store one run's record atomically; returns its path."""
        path = self.path(record["run_id"])
        write_atomic(path, json.dumps(record, indent=1, default=_plain) + "\n")
        return path

    def records(self, protocol_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored record, or only those of one protocol (see :func:`samplecast.train.sweep.protocol_id`)."""
        found = [json.loads(path.read_text()) for path in sorted(self.runs.glob("*.json"))]
        return [r for r in found if protocol_id is None or r.get("protocol_id") == protocol_id]

    def write_curves(self, protocol_id: str) -> pd.DataFrame:
        """Rebuild ``curves.csv`` from the records of one protocol (one row per run, failed runs included) and
        return it, sorted by depth, seed and size."""
        rows = [{column: record.get(column) for column in TRAINER_COLUMNS} for record in self.records(protocol_id)]
        table = pd.DataFrame(rows, columns=list(TRAINER_COLUMNS))
        table = table.sort_values(["dataset", "model", "depth", "seed", "fraction"], kind="stable")
        table = table.reset_index(drop=True)
        write_atomic(self.out / CURVES_FILE, table.to_csv(index=False, float_format="%.6g"))
        return table


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
