"""Every file samplecast writes goes through here: put in place atomically and durably, whole folders staged and
swapped in at once, and the checks, before any work, that results can be written at all.

- :func:`put_file` / :func:`put_text`: write to a temporary name in the same folder, flush and fsync it, rename it
  over the target, fsync the folder; readers see the old file or the new one, never a partial one, even after a
  power loss, and a writer that raises leaves the old file as it was.
- :func:`staged_folder`: build a folder in ``.NAME.partial-*`` beside it, then replace the whole folder at once;
  staging left by a build that was killed is removed by the next one.
- :func:`output_problems`, :func:`output_file_problem`, :func:`output_error`: whether results can be written to a
  folder or a file, checked by writing, so permissions, read-only mounts, special file systems and a full disk all
  show, whoever runs the command; and the one-line error when they cannot.
- :func:`shipped`: where the files shipped with samplecast (``samplecast/assets/``) are.
- :func:`check_input_file`: the one check of a file samplecast is given to read, before it is opened: it exists, is
  a regular file (a FIFO or a device would hang or never end) and is not over the reader's size limit.

New files and folders get the permissions any new file gets (``0666``/``0777`` less the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from samplecast.errors import InputError, OutputError

#: Free space below which an output folder counts as full: a sweep writes a few kB per run.
MIN_FREE_BYTES = 1 << 20


def shipped(name: str = "") -> Path:
    """Path of ``name`` among the files shipped with samplecast (the folder itself for ``""``)."""
    return Path(str(resources.files("samplecast") / "assets")) / name


def check_input_file(path: str | Path, what: str, max_bytes: int) -> Path:
    """``path`` when it is a regular file of at most ``max_bytes``, checked before anything opens it; else an
    :class:`~samplecast.errors.InputError` naming it, ``what`` was expected (e.g. "a curves table (.csv or
    .parquet)") and, for a file too big, the limit."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder; expected {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a pipe, a device or a socket); expected {what}")
    if info.st_size > max_bytes:
        raise InputError(f"{path}: {info.st_size:,} bytes, over the limit of {max_bytes:,} bytes for {what}")
    return path


def put_file(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Put the file ``path`` in place atomically and durably: ``write(stream)`` writes its bytes to a temporary file
    beside it, which is flushed to disk, renamed over ``path``, and the folder flushed after. When ``write`` raises
    (Ctrl-C included), the temporary file is removed and ``path`` is left as it was; a failure of the file system
    (a full disk, no permission) is an :class:`~samplecast.errors.OutputError` naming ``path``. Missing folders are
    created. An existing ``path`` that is not a regular file (a device, a pipe, a folder) is refused, never replaced
    (``-o /dev/null`` would otherwise swap the device for a file). Returns ``path``."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: cannot write results there (not a regular file, but a folder, device or pipe; "
                          "give the path of a file)", errno.EEXIST)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise exc if isinstance(exc, OutputError) else output_error(path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)
    return path


def put_text(path: str | Path, text: str) -> Path:
    """:func:`put_file` for text (UTF-8)."""
    return put_file(path, lambda stream: stream.write(text.encode()))


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """Build the folder ``out`` all at once: the body writes into the staging folder yielded (``.NAME.partial-*``
    beside ``out``); when it ends, the staged files are flushed to disk and the staging folder replaces ``out``
    whole (the old ``out`` and everything in it goes). When the body raises, ``out`` is left as it was and the
    staging is removed. Staging left by an earlier build that was killed is removed first.

    Example:
        >>> with staged_folder("my-forecaster") as folder:   # doctest: +SKIP
        ...     (folder / "build.json").write_text("{}")
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for leftover in out.parent.glob(f".{out.name}.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        yield staging
        for folder, _, names in os.walk(staging):
            for name in names:
                _sync(Path(folder) / name)
            sync_folder(Path(folder))
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sync_folder(out.parent)


def _swap_in(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``; an existing ``out`` is moved aside first and removed after (put back if the
    rename fails), so ``out`` is always the old folder or the new one."""
    if not out.exists():
        os.rename(staging, out)
        return
    old = staging.with_name(staging.name.replace(".partial-", ".partial-old-", 1))
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk, where the system allows opening folders."""
    with contextlib.suppress(OSError):
        _sync(folder)


def _sync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


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


def output_error(out: str | Path, exc: OSError) -> OutputError:
    """The one-line error for results that could not be written to ``out`` (read-only, full, removed)."""
    return OutputError(f"{out}: cannot write results there ({_reason(exc)})", exc.errno)


#: Errors that mean the results folder can no longer be written (rather than a failed run), with their reason.
OUTPUT_ERRNOS: dict[int, str] = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk is full",
                                 errno.EROFS: "read-only file system"}


def _reason(exc: OSError) -> str:
    return OUTPUT_ERRNOS.get(exc.errno) or exc.strerror or str(exc)
