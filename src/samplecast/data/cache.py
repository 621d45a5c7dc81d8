"""The preprocessed-array cache, so a sweep decodes every image of a dataset once.

A cache entry is an uncompressed ``.npz`` holding ``images``, ``masks`` and ``case_ids``. Its name carries two
hashes: one of the settings (resolved dataset path, layout, target labels, image size, cache version) and one of the
files (relative name, size and modification time of every file the layout listed). Changing a setting makes a new
entry beside the old; changing, adding or removing a file replaces the entry of those settings. Entries are put in
place atomically (:func:`samplecast.files.put_file`), so processes loading the same dataset at once never see a
partial file.

The cache lives in ``<dataset>/.samplecast-cache`` when the dataset folder is writable, else in the user's cache
folder (``$XDG_CACHE_HOME/samplecast/datasets``, by default ``~/.cache/samplecast/datasets``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from samplecast.files import put_file

#: Bump when preprocessing changes, so entries written by older code are not reused.
CACHE_VERSION = 1
LOCAL_FOLDER = ".samplecast-cache"
ARRAYS = ("images", "masks", "case_ids")


class DatasetCache:
    """One cache entry: where the arrays of a dataset, preprocessed with given settings, are (or will be) stored.

    Args:
        root: the dataset folder.
        settings: everything besides the files that changes the arrays (layout, labels, size ...); JSON-serialisable.
        files: every file the arrays are made from.
        cache_dir: folder for the entries; ``None`` picks the default described in the module docstring.
    """

    def __init__(self, root: Path, settings: Mapping[str, object], files: Iterable[Path],
                 cache_dir: str | Path | None = None):
        root = Path(root).resolve()
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir(root)
        described = json.dumps({"version": CACHE_VERSION, "root": str(root), **settings}, sort_keys=True)
        listing = "\n".join(_file_line(path, root) for path in sorted(files))
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name) or "dataset"
        self.prefix = f"{name}-{_digest(described)}"
        self.path = folder / f"{self.prefix}-{_digest(listing)}.npz"

    def load(self) -> dict[str, np.ndarray] | None:
        """The cached arrays, or ``None`` when there is no usable entry (missing or damaged)."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                return {key: stored[key] for key in ARRAYS}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def save(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Store the arrays atomically and remove entries of the same settings made from older files.

        A cache that cannot be written (read-only or full disk) only costs speed: it warns and carries on.
        """
        try:
            put_file(self.path, lambda stream: np.savez(stream, **{key: arrays[key] for key in ARRAYS}))
        except OSError as exc:
            warnings.warn(f"could not write the dataset cache {self.path} ({exc}); the next load will preprocess "
                          "again", RuntimeWarning, stacklevel=2)
            return
        for stale in self.path.parent.glob(f"{self.prefix}-*.npz"):
            if stale != self.path:
                with contextlib.suppress(OSError):  # another process may be replacing it at the same moment
                    stale.unlink(missing_ok=True)


def default_cache_dir(root: Path) -> Path:
    """``<root>/.samplecast-cache`` when ``root`` is writable, else the user's cache folder."""
    local = root / LOCAL_FOLDER
    if local.is_dir() or _writable(root):
        return local
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "samplecast" / "datasets"


def _writable(folder: Path) -> bool:
    """Writable by permission bits as well as by access check, so a folder marked read-only is respected even by
    the superuser (who may write anywhere)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _file_line(path: Path, root: Path) -> str:
    """Name, size and modification time of one file, the part of the cache key that notices edited data."""
    try:
        info = path.stat()
    except OSError:
        return f"{path}\tmissing"
    try:
        name = path.resolve().relative_to(root)
    except ValueError:
        name = path.resolve()
    return f"{name}\t{info.st_size}\t{info.st_mtime_ns}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
