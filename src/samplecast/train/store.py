"""The results folder of a sweep: one JSON file per finished run, the curves table rebuilt from them, and the lock
that keeps two sweeps from writing into the same folder at once.

Each run's record is written atomically and durably (:func:`samplecast.files.put_text`), so a sweep killed at any
moment, or a machine losing power, leaves either a complete record or none, and the curves table can always be rebuilt from ``runs/`` without duplicates. A record that cannot be read anyway (a damaged disk, an
edited file) counts as unfinished, with a warning, and its run trains again.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplecast.curves import TRAINER_COLUMNS
from samplecast.errors import InputError
from samplecast.files import put_text

CURVES_FILE = "curves.csv"
CONFIG_FILE = "config.json"
RUNS_DIR = "runs"
CASES_DIR = "cases"
LOCK_FILE = ".sweep.lock"


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
        """Whether ``run_id`` has finished (successfully or not) and must not run again; an unreadable record
        counts as unfinished (with a warning)."""
        path = self.path(run_id)
        return path.is_file() and _read_record(path) is not None

    def write(self, record: dict[str, Any]) -> Path:
        """Store one run's record atomically; returns its path."""
        path = self.path(record["run_id"])
        put_text(path, json.dumps(record, indent=1, default=_plain) + "\n")
        return path

    def records(self, protocol_id: str | None = None) -> list[dict[str, Any]]:
        """Every readable record, or only those of one protocol (see :func:`samplecast.train.config.protocol_id`);
        unreadable records are skipped with a warning."""
        found = [_read_record(path) for path in sorted(self.runs.glob("*.json"))]
        return [r for r in found if r is not None and (protocol_id is None or r.get("protocol_id") == protocol_id)]

    def write_curves(self, protocol_id: str, scenario: str) -> pd.DataFrame:
        """Rebuild ``curves.csv`` from the records of one protocol (one row per run, failed runs included, each in
        ``scenario``) and return it, sorted by depth, seed and training-set size."""
        rows = [{**{column: record.get(column) for column in TRAINER_COLUMNS}, "scenario": scenario}
                for record in self.records(protocol_id)]
        table = pd.DataFrame(rows, columns=list(TRAINER_COLUMNS))
        table = table.sort_values(["dataset", "model", "depth", "seed", "n_train"], kind="stable")
        table = table.reset_index(drop=True)
        put_text(self.out / CURVES_FILE, table.to_csv(index=False, float_format="%.6g"))
        return table


class SweepLock:
    """Holds a sweep's output folder for one process, so two sweeps never train the same runs into it.

    The lock is an advisory ``flock`` on ``out/.sweep.lock``, which names its holder (process id, host, since
    when). The system drops it when the holder ends, however it ends, so the lock of a process that died is taken
    over without asking.

    Args:
        out: the sweep's output folder.

    Example:
        >>> with SweepLock("runs/kvasir"):   # doctest: +SKIP
        ...     train_the_runs()
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> SweepLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            InputError: naming the process that holds it.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # not a POSIX system
            warnings.warn(f"{self.out}: folders cannot be locked on this system; run one sweep at a time into it",
                          RuntimeWarning, stacklevel=2)
            return
        while True:
            try:
                handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:  # a folder or another non-file in the lock's place, a read-only folder
                raise InputError(f"{self.path}: the sweep's lock file cannot be opened ({exc.strerror or exc}); "
                                 "remove what is there") from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                raise InputError(f"{self.out}: another sweep is writing into this folder ({self.holder()}); wait "
                                 "for it to finish, or stop it and run again") from None
            except OSError as exc:  # a file system without locks (some network mounts)
                os.close(handle)
                warnings.warn(f"{self.out}: the folder cannot be locked ({exc.strerror}); run one sweep at a time "
                              "into it", RuntimeWarning, stacklevel=2)
                return
            if _same_file(handle, self.path):  # not removed by a holder releasing it meanwhile
                break
            os.close(handle)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        holder = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}) + "\n"
        os.ftruncate(handle, 0)
        os.pwrite(handle, holder.encode(), 0)
        self._handle = handle

    def release(self) -> None:
        """Give the lock back (removing its file first, so no one takes over a stale holder's name)."""
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._handle)
        self._handle = None

    def holder(self) -> str:
        """Who holds the lock, in words: ``pid 123 on host gpu1 since 2026-05-01T10:00:00+00:00``."""
        try:
            info = json.loads(self.path.read_text())
            return f"pid {info['pid']} on host {info['host']} since {info['since']}"
        except (OSError, ValueError, TypeError, KeyError):
            return "its holder is starting up"


def _same_file(handle: int, path: Path) -> bool:
    try:
        return os.fstat(handle).st_ino == path.stat().st_ino
    except OSError:
        return False


def _read_record(path: Path) -> dict[str, Any] | None:
    """A run's record, or ``None`` with a warning when the file is empty, damaged or not a record."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = "empty" if path.exists() and path.stat().st_size == 0 else f"unreadable: {exc}"
    else:
        if isinstance(record, dict) and record.get("run_id") == path.stem:
            return record
        reason = "not a run record"
    warnings.warn(f"{path}: {reason}; the run counts as unfinished and trains again", RuntimeWarning, stacklevel=3)
    return None


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
