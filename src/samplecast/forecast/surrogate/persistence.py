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
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from samplecast.errors import InputError, raise_if_any
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.shift import MedianShift
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.forecast.surrogate.model import FORMAT, READABLE_FORMATS, Surrogate
from samplecast.files import output_file_problem, put_file, put_text, shipped

#: Suffix of a weights file; its description is the file of the same name with ``.json``.
WEIGHTS_SUFFIX = ".npz"


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


def save_surrogate(surrogate: Surrogate, path: str | Path) -> Path:
    """Write the weights to ``path`` (a ``.npz`` of float32 arrays) and the description to the ``.json`` beside it.

    Each is put in place atomically (:func:`samplecast.files.put_file`), so a failure leaves no half-written file.
    """
    path = check_output(path)
    description = json.dumps(surrogate.describe(), indent=2) + "\n"
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
    """The arrays of a weights file, checked against the shapes of ``config``: every problem named by its array."""
    not_weights = f"{path}: not a weights file (expected named numpy arrays saved with numpy.savez)"
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # one bare array (.npy)
            raise InputError(not_weights)
        with loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise InputError(not_weights) from None
    if not arrays or not all(isinstance(array, np.ndarray) for array in arrays.values()):
        raise InputError(not_weights)
    expected = config.weight_shapes()
    problems = [f"{path}: array {name} is missing" for name in expected if name not in arrays]
    problems += [f"{path}: array {name} is not part of the architecture" for name in arrays if name not in expected]
    problems += [f"{path}: array {name} has shape {tuple(arrays[name].shape)}, expected {shape}"
                 for name, shape in expected.items() if name in arrays and tuple(arrays[name].shape) != shape]
    problems += [f"{path}: array {name} is not finite floating point" for name, array in arrays.items()
                 if name in expected and not (array.dtype.kind == "f" and np.isfinite(array).all())]
    if problems:
        raise InputError(problems + [f"{path}: weights do not fit the architecture in {described_in}"])
    weights = {name: arrays[name].astype(np.float32) for name in expected}
    for array in weights.values():
        array.setflags(write=False)
    return weights


def _read_description(path: Path) -> dict[str, Any]:
    """The architecture, training record, calibration and median shift in a surrogate's JSON (a ``/3`` file has no
    shift), every problem named by its field."""
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a surrogate description (not JSON: {exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("architecture"), dict):
        raise InputError(f"{path}: not a surrogate description (no architecture object)")
    if meta.get("format") not in READABLE_FORMATS:
        raise InputError(f"{path}: a surrogate of format {meta.get('format')!r}, which this version of samplecast "
                         f"cannot read (it reads {', '.join(map(repr, READABLE_FORMATS))}); train it again with this "
                         "version")
    arch, problems = meta["architecture"], []
    for name in ("hidden", "layers", "head_width"):
        if not (isinstance(arch.get(name), int) and not isinstance(arch.get(name), bool) and arch[name] >= 1):
            problems.append(f"{path}: architecture.{name} must be a positive integer, got {arch.get(name)!r}")
    levels = arch.get("levels")
    if not _numbers(levels, min_length=1):
        problems.append(f"{path}: architecture.levels must be a list of numbers, got {levels!r}")
    training = meta.get("training", {})
    if not isinstance(training, dict):
        problems.append(f"{path}: training must be an object, got {training!r}")
    calibration = meta.get("calibration")
    if calibration is not None:
        problems.extend(f"{path}: {p}" for p in _calibration_problems(calibration))
    shift = meta.get("median_shift") if meta["format"] == FORMAT else None
    if shift is not None:
        problems.extend(f"{path}: {p}" for p in _shift_problems(shift))
    raise_if_any(problems)
    try:
        config = SurrogateConfig(hidden=arch["hidden"], layers=arch["layers"], head_width=arch["head_width"],
                                 levels=tuple(float(v) for v in levels))
    except ValueError as exc:
        raise InputError(f"{path}: architecture: {exc}") from None
    return {"config": config, "training": training,
            "calibration": None if calibration is None else SpreadCalibration.from_dict(calibration),
            "shift": None if shift is None else MedianShift.from_dict(shift)}


def _calibration_problems(block: Any) -> list[str]:
    """What is wrong with a calibration block (:meth:`SpreadCalibration.to_dict`), one line per field."""
    if not isinstance(block, dict):
        return [f"calibration must be an object or null, got {block!r}"]
    problems = [f"calibration.{name} must be a number >= 0, got {block.get(name)!r}" for name in ("widen", "floor")
                if not (_numbers([block.get(name)]) and block[name] >= 0)]
    return problems + _counts_problems(block, "calibration")


def _shift_problems(block: Any) -> list[str]:
    """What is wrong with a median shift block (:meth:`MedianShift.to_dict`), one line per field."""
    if not isinstance(block, dict):
        return [f"median_shift must be an object or null, got {block!r}"]
    lowest = {"rise": (0.0, ">="), "scale": (0.0, ">"), "full_gain": (0.0, ">"), "plateau": (0.0, ">=")}
    problems = [f"median_shift.{name} must be a number {sign} {low:g}, got {block.get(name)!r}"
                for name, (low, sign) in lowest.items()
                if not (_numbers([block.get(name)]) and (block[name] > low or (sign == ">=" and block[name] == low)))]
    return problems + _counts_problems(block, "median_shift")


def _counts_problems(block: dict, name: str) -> list[str]:
    """The problem with the ``counts`` field of the block ``name``, if any (absent means 0)."""
    counts = block.get("counts", 0)
    if isinstance(counts, int) and not isinstance(counts, bool) and counts >= 0:
        return []
    return [f"{name}.counts must be a whole number >= 0, got {counts!r}"]


def _numbers(values: Any, min_length: int = 0) -> bool:
    """Whether ``values`` is a list of at least ``min_length`` finite numbers (booleans are not numbers)."""
    return (isinstance(values, list) and len(values) >= min_length
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values))


def _increasing(values: list) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))
