"""A built forecaster on disk: the folder :func:`samplecast.forecast.build.build_forecaster` writes, found, checked and
turned into forecasters.

A forecaster folder holds everything the learned methods and the report's trust figures need, learned together on
one corpus of complete curves, so they cannot disagree: ``ensemble.json`` (stacking weights and interval
correction), ``surrogate.npz`` and ``surrogate.json`` (the LSTM with the correction of its intervals),
``backtest_summary.json`` (the leave-one-dataset-out backtest of every method) and ``build.json`` (how it was built).
The folder shipped with samplecast (``samplecast/assets/``) is one.

A folder is one checked unit: :meth:`ForecasterFolder.open` checks every file, whatever the method that will use it,
before anything is forecast. ``build.json`` (:class:`BuildRecord`) holds the id of the build and the sha256 of every
other file, and each JSON file records the same id, so a folder mixing the files of two builds, or a file changed
since its build, is refused naming the file; then each file is checked against its schema (types, ranges,
finiteness, format versions; the weights' shapes and dtypes from their headers before they are read).

Example:
    >>> from samplecast.forecast.methods import make_forecaster
    >>> folder = ForecasterFolder.open("my-forecaster")                     # doctest: +SKIP
    >>> make_forecaster("ensemble", folder).fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from samplecast import schema
from samplecast.errors import InputError, raise_if_any
from samplecast.files import shipped

ENSEMBLE = "ensemble.json"
SURROGATE = "surrogate.npz"
SURROGATE_DESCRIPTION = "surrogate.json"
SUMMARY = "backtest_summary.json"
BUILD = "build.json"
#: The files a forecaster folder must hold, every file a build writes.
REQUIRED: tuple[str, ...] = (ENSEMBLE, SURROGATE, SURROGATE_DESCRIPTION, SUMMARY, BUILD)
#: The files whose sha256 ``build.json`` records (every other one).
CHECKED: tuple[str, ...] = (ENSEMBLE, SURROGATE, SURROGATE_DESCRIPTION, SUMMARY)
#: The JSON files that record the id of the build that wrote them.
STAMPED: tuple[str, ...] = (ENSEMBLE, SURROGATE_DESCRIPTION, SUMMARY)
BUILD_FORMAT = "samplecast-build/2"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CorpusFile:
    """A curves file a build learned from: its path as given, sha256 (``None`` when it was not a file), number of
    curves and image set."""

    file: str
    sha256: str | None
    curves: int = field(metadata=schema.SIZE)
    image_set: str


@dataclass(frozen=True)
class BuildRecord:
    """The schema of ``build.json``: the format, the build's id and the sha256 of every other file of the folder, the
    corpus, the settings and what was learned, the versions, date, machine and command of the build."""

    format: str
    build_id: str = field(metadata={"max_length": 64})
    files: dict[str, str]
    created: str
    samplecast: str
    machine: str
    corpus: tuple[CorpusFile, ...] = field(metadata=schema.NON_EMPTY)
    image_sets: tuple[str, ...]
    settings: dict
    surrogate_training: dict | None
    learned: dict
    folds: dict
    versions: dict
    wall_s: int = field(metadata=schema.SIZE)
    command: str | None = field(default=None, metadata={"max_length": 100_000})

    def __post_init__(self) -> None:
        problems = [] if self.format == BUILD_FORMAT else [f"format {self.format!r} is not {BUILD_FORMAT!r}"]
        if sorted(self.files) != sorted(CHECKED):
            problems.append(f"files: expected the sha256 of {', '.join(CHECKED)}, got "
                            f"{', '.join(self.files) or 'none'}")
        problems += [f"files.{name}: not a sha256 (64 hexadecimal digits)" for name, digest in self.files.items()
                     if not _SHA256.fullmatch(digest)]
        raise_if_any(problems)


def sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, in hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ForecasterFolder:
    """The files of one built forecaster.

    Args:
        path: the folder.
        shipped: whether it is the folder shipped with samplecast (named so in reports).
    """

    path: Path
    shipped: bool = False

    @classmethod
    def open(cls, path: str | Path | None = None) -> ForecasterFolder:
        """The forecaster in folder ``path`` (default: the one shipped with samplecast), every file checked (see the
        module docstring).

        Raises:
            InputError: when ``path`` is not a folder or lacks files (one line naming them all), mixes the files of
                two builds or holds a file changed since its build (one line per file), or a file does not fit its
                schema (one line per problem, naming the file and the field).
        """
        folder = cls(shipped(), shipped=True) if path is None else cls(Path(path))
        if not folder.path.is_dir():
            raise InputError(f"{folder.path}: not a folder; expected a forecaster folder written by a build")
        missing = [name for name in REQUIRED if not (folder.path / name).is_file()]
        if missing:
            raise InputError(f"{folder.path}: not a complete forecaster folder, it lacks {', '.join(missing)} (a "
                             "build writes them all at once)")
        versions = tuple((s.st_mtime_ns, s.st_size) for s in ((folder.path / name).stat() for name in REQUIRED))
        _check(str(folder.path.resolve()), versions)
        return folder

    @property
    def ensemble(self) -> Path:
        return self.path / ENSEMBLE

    @property
    def surrogate(self) -> Path:
        return self.path / SURROGATE

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    @property
    def build(self) -> Path:
        return self.path / BUILD

    @property
    def name(self) -> str:
        """How reports name it: ``"shipped"`` or the folder's path."""
        return "shipped" if self.shipped else str(self.path)

    def backtest_summary(self) -> dict[str, Any]:
        """The leave-one-dataset-out backtest summary, as its JSON document."""
        return schema.read_json(self.summary)


@lru_cache(maxsize=8)
def _check(path: str, versions: tuple[tuple[int, int], ...]) -> None:
    """Check one version of the folder ``path`` (``versions`` only keys the cache): the build record, then that every
    file comes from its build unchanged, then each file against its schema."""
    folder = Path(path)
    document = schema.read_json(folder / BUILD)
    if not isinstance(document, dict) or document.get("format") != BUILD_FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise InputError(f"{folder / BUILD}: format {found!r} is not {BUILD_FORMAT!r} (a forecaster built by another "
                         "version of samplecast, or not a build record); build it again")
    record = schema.load(BuildRecord, document, str(folder / BUILD))
    stamped = {name: schema.read_json(folder / name) for name in STAMPED}
    problems = [f"{folder / name}: written by build {doc.get('build')!r}, not by build {record.build_id!r} of {BUILD}: "
                "the folder mixes the files of two builds; build it again" for name, doc in stamped.items()
                if isinstance(doc, dict) and doc.get("build") != record.build_id]  # not an object: see its schema
    problems += [f"{folder / name}: its sha256 is not the one {BUILD} records: the file changed after the build"
                 for name in CHECKED if sha256(folder / name) != record.files[name]
                 and not any(problem.startswith(f"{folder / name}:") for problem in problems)]
    raise_if_any(problems)
    _check_contents(folder, record, stamped)


def _check_contents(folder: Path, record: BuildRecord, documents: dict[str, Any]) -> None:
    """Each file against its schema, and the ensemble's members against the build's settings and the methods."""
    from samplecast.forecast.ensemble import StackingWeights
    from samplecast.forecast.evaluate import BacktestSummary
    from samplecast.forecast.methods import METHOD_NAMES
    from samplecast.forecast.surrogate import load_surrogate

    problems: list[str] = []
    readers = {ENSEMBLE: lambda: StackingWeights.from_dict(documents[ENSEMBLE], str(folder / ENSEMBLE)),
               SUMMARY: lambda: BacktestSummary.from_dict(documents[SUMMARY], str(folder / SUMMARY)),
               SURROGATE: lambda: load_surrogate(folder / SURROGATE)}
    read = {}
    for name, reader in readers.items():
        try:
            read[name] = reader()
        except InputError as exc:
            problems += exc.problems
    if ENSEMBLE in read:
        members, stacked = list(read[ENSEMBLE].members), record.settings.get("members")
        unknown = [m for m in members if m not in METHOD_NAMES or m == "ensemble"]
        if unknown:
            problems.append(f"{folder / ENSEMBLE}: members: {', '.join(map(repr, unknown))} not a method the "
                            "ensemble can stack")
        elif members != stacked:
            problems.append(f"{folder / ENSEMBLE}: members: {members} are not the members {stacked} of "
                            f"{BUILD} settings")
    raise_if_any(problems)
