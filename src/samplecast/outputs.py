"""Whether results can be written to a folder or a file, checked before any work, and the one-line error when they
cannot.

Shared by every command that writes results (a sweep's folder, a built forecaster's, surrogate weights, a plan's
JSON): checked by writing, so permissions, read-only mounts, special file systems and a full disk all show, whoever
runs the command.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path

from samplecast.errors import InputError

#: Free space below which an output folder counts as full: a sweep writes a few kB per run.
MIN_FREE_BYTES = 1 << 20


def output_problems(out: str | Path) -> list[str]:
    """Why results could not be written to the folder ``out`` (created if missing), one line each; empty when
    they can. Checked by writing and removing a small file, so permissions, read-only mounts and a full disk all
    show, and nothing is left behind."""
    out = Path(out)
    existing = _nearest_existing(out)
    if not existing.is_dir():
        return [f"{out}: not a folder" if existing == out
                else f"{out}: cannot be created, {existing} is a file, not a folder"]
    reason = _probe(existing)
    return [f"{out}: cannot write results there ({reason})"] if reason else []


def output_file_problem(path: str | Path) -> str | None:
    """Why the file ``path`` could not be written, in one line naming it, or ``None`` when it can: an existing file
    opened for writing, a new one (with any missing folders) probed by writing in the nearest folder that exists."""
    path = Path(path)
    if path.is_dir():
        return f"{path}: is a folder; expected a file to write"
    if path.exists():
        try:
            with path.open("r+b"):
                return None
        except OSError as exc:
            return f"{path}: cannot be written ({_reason(exc)})"
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        return f"{path}: cannot be created, {existing} is a file, not a folder"
    reason = _probe(existing)
    return f"{path}: cannot be created in {existing} ({reason})" if reason else None


def _nearest_existing(path: Path) -> Path:
    return next((folder for folder in (path, *path.parents) if folder.exists()), Path("."))


def _probe(folder: Path) -> str | None:
    """Why a small file cannot be written to ``folder`` (and synced to disk), or ``None``; the disk counts as full
    below :data:`MIN_FREE_BYTES`. Nothing is left behind."""
    try:
        free = shutil.disk_usage(folder).free
        probe = folder / f".samplecast-probe.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            with open(probe, "wb") as stream:
                stream.write(b"0" * 4096)
                stream.flush()
                os.fsync(stream.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return _reason(exc)
    return f"the disk is full: {free // 1024} kB free" if free < MIN_FREE_BYTES else None


def output_error(out: str | Path, exc: OSError) -> InputError:
    """The one-line error for results that could not be written to ``out`` (read-only, full, removed)."""
    return InputError(f"{out}: cannot write results there ({_reason(exc)})")


#: Errors that mean the results folder can no longer be written (rather than a failed run), with their reason.
OUTPUT_ERRNOS: dict[int, str] = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk is full",
                                 errno.EROFS: "read-only file system"}


def _reason(exc: OSError) -> str:
    return OUTPUT_ERRNOS.get(exc.errno) or exc.strerror or str(exc)
