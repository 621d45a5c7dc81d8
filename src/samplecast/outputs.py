"""Whether results can be written to a folder, checked before any work, and the one-line error when they cannot.

Shared by every command that writes a folder of results (a sweep's, a built forecaster's): checked by writing a small
file, so permissions, read-only mounts, special file systems and a full disk all show, whoever runs the command.
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
    existing = next((folder for folder in (out, *out.parents) if folder.exists()), Path("."))
    if not existing.is_dir():
        return [f"{out}: not a folder" if existing == out else f"{existing}: not a folder, so {out} cannot be made"]
    try:
        free = shutil.disk_usage(existing).free
        probe = existing / f".samplecast-probe.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            with open(probe, "wb") as stream:
                stream.write(b"0" * 4096)
                stream.flush()
                os.fsync(stream.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return [f"{out}: cannot write results there ({_reason(exc)})"]
    if free < MIN_FREE_BYTES:
        return [f"{out}: cannot write results there (the disk is full: {free // 1024} kB free)"]
    return []


def output_error(out: str | Path, exc: OSError) -> InputError:
    """The one-line error for results that could not be written to ``out`` (read-only, full, removed)."""
    return InputError(f"{out}: cannot write results there ({_reason(exc)})")


#: Errors that mean the results folder can no longer be written (rather than a failed run), with their reason.
OUTPUT_ERRNOS: dict[int, str] = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk is full",
                                 errno.EROFS: "read-only file system"}


def _reason(exc: OSError) -> str:
    return OUTPUT_ERRNOS.get(exc.errno) or exc.strerror or str(exc)
