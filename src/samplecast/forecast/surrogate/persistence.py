"""Surrogate files: the weights (``.npz``, numpy arrays named as the torch network's state dict, read without pickle
and without torch) and the ``.json`` beside them (architecture, training record, calibration, median shift). Loading
checks both and blames the file, and the field or array, that is wrong.

Loaded surrogates are cached per file *version* (resolved path, modification time and size of both files), so a
backtest that fits the ``lstm`` method hundreds of times reads the files once, and a file rewritten in place is read
again rather than served stale.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from samplecast import schema
from samplecast.errors import InputError
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.shift import MedianShift
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.forecast.surrogate.model import FORMAT, READABLE_FORMATS, Surrogate
from samplecast.files import output_file_problem, put_file, put_text, shipped

#: Suffix of a weights file; its description is the file of the same name with ``.json``.
WEIGHTS_SUFFIX = ".npz"
#: The most weights an architecture may have (the shipped one has about 0.2 million).
MAX_WEIGHTS = 20_000_000


def shipped_weights() -> Path:
    """Path of the surrogate weights shipped with samplecast."""
    return shipped(f"surrogate{WEIGHTS_SUFFIX}")


def check_output(path: str | Path) -> Path:
    """Check, before any work, that a surrogate can be written to ``path``: a ``.npz`` file whose ``.json`` beside it
    can be written too. Returns ``path`` as a :class:`Path`.

    Raises:
        InputError: for another suffix (``model.json`` would be overwritten by the description written beside the
            weights) or a path that cannot be written (a folder, an unwritable file, a parent that is a file or
            read-only).
    """
    path = Path(path)
    if path.suffix.lower() != WEIGHTS_SUFFIX:
        raise InputError(f"{path}: surrogate weights are written to a {WEIGHTS_SUFFIX} file, with their description "
                         f"in the .json of the same name beside it; got {path.suffix or 'no suffix'}")
    problem = output_file_problem(path) or output_file_problem(path.with_suffix(".json"))  # one line for one folder
    if problem:
        raise InputError(problem)
    return path


def save_surrogate(surrogate: Surrogate, path: str | Path, *, build: str | None = None) -> Path:
    """Write the weights to ``path`` (a ``.npz`` of float32 arrays) and the description to the ``.json`` beside it;
    ``build`` is the id of the forecaster build writing them, recorded in the description
    (:mod:`samplecast.forecast.folder`).

    Each is put in place atomically (:func:`samplecast.files.put_file`), so a failure leaves no half-written file.
    """
    path = check_output(path)
    stamp = {} if build is None else {"build": build}
    description = json.dumps({**surrogate.describe(), **stamp}, indent=2) + "\n"
    put_file(path, lambda stream: np.savez(stream, **{name: np.asarray(array, np.float32)
                                                      for name, array in surrogate.weights.items()}))
    put_text(path.with_suffix(".json"), description)
    return path


def load_surrogate(path: str | Path | None = None) -> Surrogate:
    """Load a surrogate from a ``.npz`` file and its ``.json`` (default: the shipped one).

    The files are read once per version of the two (see the module docstring); each call returns its own
    surrogate, whose weight arrays are read-only.

    Raises:
        InputError: when ``path`` is not a ``.npz``, a file is missing, the ``.npz`` is not numpy arrays or does not
            fit the architecture (naming each array that is missing, extra or of the wrong shape), or the ``.json`` is
            not a surrogate description (naming the field that is wrong).
    """
    weights = Path(path).resolve() if path is not None else shipped_weights()
    if weights.suffix.lower() != WEIGHTS_SUFFIX:
        raise InputError(f"{path}: a surrogate is loaded from its {WEIGHTS_SUFFIX} file (the .json of the same "
                         "name beside it is read with it)")
    meta_path = weights.with_suffix(".json")
    problems = [f"{p}: file not found" for p in (weights, meta_path) if not p.is_file()]
    if problems:
        raise InputError(problems + [f"{weights}: a surrogate is a {WEIGHTS_SUFFIX} file with a .json of the same "
                                     "name beside it"])
    versions = tuple((s.st_mtime_ns, s.st_size) for s in (weights.stat(), meta_path.stat()))
    cached = _load(str(weights), versions)
    return replace(cached, weights=dict(cached.weights), training=json.loads(json.dumps(cached.training)))


@lru_cache(maxsize=8)
def _load(weights_path: str, versions: tuple[tuple[int, int], ...]) -> Surrogate:
    """Read one version of a surrogate's files (``versions`` only keys the cache)."""
    weights, meta_path = Path(weights_path), Path(weights_path).with_suffix(".json")
    meta = _read_description(meta_path)
    return Surrogate(meta["config"], _read_weights(weights, meta["config"], meta_path.name), meta["training"],
                     meta["calibration"], meta["shift"])


def _read_weights(path: Path, config: SurrogateConfig, described_in: str) -> dict[str, np.ndarray]:
    """The arrays of a weights file, checked against the shapes of ``config``: every problem named by its array.

    Each array's dtype and shape are read from its header and checked before its data is read, so a file that declares
    an array larger than the architecture's is refused without allocating it; nothing is unpickled."""
    expected = config.weight_shapes()
    if sum(math.prod(shape) for shape in expected.values()) > MAX_WEIGHTS:
        raise InputError(f"{path}: the architecture in {described_in} has more than {MAX_WEIGHTS:,} weights")
    not_weights = InputError(f"{path}: not a weights file (expected named numpy arrays saved with numpy.savez)")
    try:
        with zipfile.ZipFile(path) as archive:
            stored = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            if not any(info.filename.endswith(".npy") for info in stored.values()):
                raise not_weights
            problems = [f"{path}: array {name} is missing" for name in expected if name not in stored]
            problems += [f"{path}: array {name} is not part of the architecture" for name in stored
                         if name not in expected]
            arrays = {}
            for name, shape in expected.items():
                if name in stored:
                    with archive.open(stored[name]) as stream:
                        arrays[name] = _read_array(stream, stored[name].file_size, shape, f"{path}: array {name}",
                                                   problems)
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError):
        raise not_weights from None
    if problems:
        raise InputError(problems + [f"{path}: weights do not fit the architecture in {described_in}"])
    weights = {name: array.astype(np.float32) for name, array in arrays.items()}
    for array in weights.values():
        array.setflags(write=False)
    return weights


def _read_array(stream: BinaryIO, stored_bytes: int, shape: tuple[int, ...], where: str,
                problems: list[str]) -> np.ndarray | None:
    """One ``.npy`` member of a weights file, its header checked against ``shape`` (a floating-point dtype, the
    stored size matching the header) before its data is read; on a problem, appends it and returns ``None``."""
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        declared, fortran, dtype = read_header(stream)
    except ValueError:  # a bad magic string or header, an unknown version
        problems.append(f"{where} is not a numpy array")
        return None
    if dtype.kind != "f" or dtype.hasobject:
        problems.append(f"{where} is not floating point (dtype {dtype})")
        return None
    if tuple(declared) != shape:
        problems.append(f"{where} has shape {tuple(declared)}, expected {shape}")
        return None
    size = math.prod(shape) * dtype.itemsize
    data = stream.read(size) if stored_bytes == stream.tell() + size else b""
    if len(data) != size:
        problems.append(f"{where} holds {stored_bytes:,} bytes, not the {stream.tell() + size:,} its header declares")
        return None
    array = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")
    if not np.isfinite(array).all():
        problems.append(f"{where} is not finite floating point")
        return None
    return array


@dataclass(frozen=True)
class SurrogateFile:
    """The schema of a surrogate's ``.json``: the format, the architecture, the training record, the widening of its
    intervals and the shift of its median (a ``/3`` file has none), and the id of the forecaster build that wrote it
    (:mod:`samplecast.forecast.folder`)."""

    format: str
    architecture: SurrogateConfig
    training: dict = field(default_factory=dict)
    calibration: SpreadCalibration | None = None
    median_shift: MedianShift | None = None
    build: str | None = None


def _read_description(path: Path) -> dict[str, Any]:
    """The architecture, training record, calibration and median shift in a surrogate's JSON (:class:`SurrogateFile`),
    every problem named by its field."""
    meta = schema.read_json(path)
    found = meta.get("format") if isinstance(meta, dict) else None
    if found not in READABLE_FORMATS:
        raise InputError(f"{path}: a surrogate of format {found!r}, which this version of samplecast cannot read (it "
                         f"reads {', '.join(map(repr, READABLE_FORMATS))}); train it again with this version")
    checked = schema.load(SurrogateFile, meta, str(path))
    return {"config": checked.architecture, "training": checked.training, "calibration": checked.calibration,
            "shift": checked.median_shift if checked.format == FORMAT else None}
