"""3D NIfTI layouts: the Medical Segmentation Decathlon (also nnU-Net's raw folders) and BraTS.

Choices, so a user knows what the network sees:

- Volumes are turned to the closest RAS orientation (so every case has the same axis order), then resized to an
  ``image_size`` cube: images trilinearly with anti-aliasing, masks by area averaging thresholded at 0.5. The cube
  does not keep the physical aspect ratio; it keeps the whole field of view, which a crop would not.
- Channels: a 4D image contributes its last axis as channels (Decathlon multi-modal files); several files per case
  (nnU-Net's ``case_0000``, ``case_0001``; BraTS modalities in the order t1, t1ce, t2, flair) are stacked.
- Target: without ``label`` every non-zero class is foreground (for BraTS, the whole tumour); ``label`` selects
  class values, e.g. ``"1"`` or ``"1,2,4"``, or for BraTS the presets ``wt``, ``tc``, ``et``.
- Labels must hold non-negative integer class values.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from pathlib import Path
from typing import ClassVar

import nibabel as nib
import numpy as np
import torch
from monai.transforms import Resize
from nibabel.filebasedimages import ImageFileError

from samplecast.data.layout import CaseCheck, CaseFiles, Layout, Listing, Targets
from samplecast.data.validate import describe_error, index_by_name, pair_by_name

NIFTI_SUFFIXES = (".nii.gz", ".nii")
#: What can go wrong when nibabel reads a header or a (possibly truncated, gzipped) volume.
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, ImageFileError)
#: BraTS file endings (2017-2021 and 2023 names) and the modality each stands for; channels follow BRATS_MODALITIES.
BRATS_ENDINGS = {"t1": "t1", "t1n": "t1", "t1ce": "t1ce", "t1c": "t1ce", "t2": "t2", "t2w": "t2",
                 "flair": "flair", "t2f": "flair", "seg": "seg"}
BRATS_MODALITIES = ("t1", "t1ce", "t2", "flair")
_CHANNEL_FILE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


class NiftiLayout(Layout):
    """What the NIfTI layouts share: checking and reading volumes. Subclasses say how cases are found."""

    spatial_dims: ClassVar[int] = 3
    default_size: ClassVar[int] = 64
    read_errors: ClassVar[tuple[type[BaseException], ...]] = READ_ERRORS

    def check_case(self, case: CaseFiles, targets: Targets, size: int) -> CaseCheck:
        problems, spatial, channels = [], [], 0
        for path in case.images:
            try:
                image = nib.load(path)
            except READ_ERRORS as exc:
                problems.append(f"{path}: unreadable image ({describe_error(exc, path)})")
                continue
            if len(image.shape) not in (3, 4):
                problems.append(f"{path}: image has shape {_shape(image.shape)}; expected a 3D volume "
                                "(or 4D with channels last)")
                continue
            spatial.append((path, _canonical_shape(image)))
            channels += image.shape[3] if len(image.shape) == 4 else 1
        try:
            label = nib.as_closest_canonical(nib.load(case.mask))
            values = np.asanyarray(label.dataobj)
        except READ_ERRORS as exc:
            return CaseCheck(problems=[*problems, f"{case.mask}: unreadable label ({describe_error(exc, case.mask)})"])
        if values.ndim == 4 and values.shape[3] == 1:
            values = values[..., 0]
        if values.ndim != 3:
            return CaseCheck(problems=[*problems, (f"{case.mask}: label has shape {_shape(values.shape)}; "
                                                  "expected a 3D volume")])
        problems += [f"{path}: image is {_shape(shape)} voxels but its label {case.mask.name} is "
                     f"{_shape(values.shape)}" for path, shape in spatial if shape != values.shape]
        if values.size and (values.min() < 0 or not np.all(np.mod(values, 1) == 0)):
            problems.append(f"{case.mask}: label values must be non-negative integer classes (found "
                            f"{_examples(values)})")
        if problems:
            return CaseCheck(problems=problems)
        foreground = values > 0 if targets is None else np.isin(values, list(targets))
        mask = _resize(foreground[None].astype(np.float32), size, "area") >= 0.5
        return CaseCheck(mask.astype(np.uint8), channels, bool(foreground.any()))

    def read_image(self, case: CaseFiles, size: int, channels: int) -> np.ndarray:
        parts = []
        for path in case.images:
            volume = np.asarray(nib.as_closest_canonical(nib.load(path)).dataobj, dtype=np.float32)
            parts.append(np.moveaxis(volume, 3, 0) if volume.ndim == 4 else volume[None])
        return _resize(np.concatenate(parts), size, "trilinear")


class Decathlon(NiftiLayout):
    """Medical Segmentation Decathlon: ``dataset.json``, ``imagesTr/``, ``labelsTr/``.

    Cases come from the ``training`` list of ``dataset.json`` when it has one; otherwise label files are matched to
    image files by name, where an image may be split into channel files ``<case>_0000``, ``<case>_0001`` (nnU-Net).
    """

    name: ClassVar[str] = "decathlon"
    description: ClassVar[str] = "dataset.json, imagesTr/ and labelsTr/ with .nii.gz volumes (Medical Segmentation " \
                                 "Decathlon, nnU-Net)"

    @classmethod
    def detects(cls, root: Path) -> bool:
        return (root / "imagesTr").is_dir() or (root / "labelsTr").is_dir()

    def find(self, root: Path) -> Listing:
        image_dir, label_dir = root / "imagesTr", root / "labelsTr"
        missing = [f"{folder}: folder not found; the Decathlon layout needs imagesTr/ and labelsTr/"
                   for folder in (image_dir, label_dir) if not folder.is_dir()]
        if missing:
            return Listing([], [], missing)
        manifest = root / "dataset.json"
        training, problems = _training_list(manifest) if manifest.is_file() else (None, [])
        if problems:
            return Listing([], [manifest], problems)
        listing = _listed_cases(root, training, manifest) if training is not None else _matched_cases(root)
        if manifest.is_file():
            listing.files.append(manifest)
        if not listing.cases and not listing.problems:
            listing.problems.append(f"{label_dir}: no labelled volumes (expected <case>.nii.gz files)")
        return listing


class Brats(NiftiLayout):
    """BraTS: one folder per case with ``<case>_t1``, ``_t1ce``, ``_t2``, ``_flair`` and ``_seg`` volumes.

    The BraTS 2023 names (``-t1n``, ``-t1c``, ``-t2w``, ``-t2f``, ``-seg``) are accepted too.
    """

    name: ClassVar[str] = "brats"
    description: ClassVar[str] = "one folder per case with <case>_t1/_t1ce/_t2/_flair.nii.gz and <case>_seg.nii.gz " \
                                 "(BraTS)"

    @classmethod
    def detects(cls, root: Path) -> bool:
        return any(_brats_role(path) == "seg" for folder in _case_folders(root) for path in _nifti_files(folder))

    def find(self, root: Path) -> Listing:
        cases, files, problems = [], [], []
        for folder in _case_folders(root):
            found = _nifti_files(folder)
            if not found:
                continue
            files += found
            roles, duplicates = index_by_name(found, lambda path: _brats_role(path) or path.name)
            problems += duplicates
            absent = [role for role in (*BRATS_MODALITIES, "seg") if role not in roles]
            if absent:
                problems.append(f"{folder}: missing the {', '.join(absent)} volume{'s' if len(absent) > 1 else ''} "
                                f"(expected {folder.name}_t1, _t1ce, _t2, _flair and _seg .nii.gz files)")
                continue
            cases.append(CaseFiles(folder.name, tuple(roles[m] for m in BRATS_MODALITIES), roles["seg"]))
        if not cases and not problems:
            problems.append(f"{root}: no case folders with BraTS volumes")
        return Listing(cases, files, problems)


def _training_list(manifest: Path) -> tuple[list[dict] | None, list[str]]:
    """The ``training`` entries of a ``dataset.json`` (``None`` when it has none), or a problem."""
    try:
        content = json.loads(manifest.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [f"{manifest}: unreadable JSON ({describe_error(exc)})"]
    training = content.get("training") if isinstance(content, dict) else None
    if training is None:
        return None, []
    if not isinstance(training, list) or not all(isinstance(e, dict) and "image" in e and "label" in e
                                                 for e in training):
        return None, [f"{manifest}: 'training' must be a list of {{\"image\": ..., \"label\": ...}} entries"]
    return training, []


def _listed_cases(root: Path, training: list[dict], manifest: Path) -> Listing:
    """Cases named by the ``training`` list, with a problem for each listed file that is not there."""
    cases, files, problems, seen = [], [], [], set()
    for number, entry in enumerate(training):
        outside = [f"{manifest}: training entry {number + 1} names {entry[key]!r}, outside the dataset folder; "
                   f"paths must stay inside {root}" for key in ("image", "label") if _leaves(str(entry[key]))]
        if outside:
            problems += outside
            continue
        image, label = root / str(entry["image"]), root / str(entry["label"])
        absent = [path for path in (image, label) if not path.is_file()]
        problems += [f"{path}: listed in {manifest.name} (training entry {number + 1}) but not found"
                     for path in absent]
        case_id = _stem(label)
        if case_id in seen:
            problems.append(f"{label}: listed twice in {manifest.name}")
        seen.add(case_id)
        if not absent:
            files += [image, label]
            cases.append(CaseFiles(case_id, (image,), label))
    return Listing(sorted(cases, key=lambda case: case.case_id), files, problems)


def _leaves(relative: str) -> bool:
    """Whether a path written in ``dataset.json`` points outside the dataset folder (absolute, or up past it)."""
    normal = os.path.normpath(relative)
    return os.path.isabs(relative) or normal == ".." or normal.startswith(f"..{os.sep}")


def _matched_cases(root: Path) -> Listing:
    """Cases found by matching ``labelsTr/<case>`` with ``imagesTr/<case>`` or ``imagesTr/<case>_NNNN`` files."""
    image_dir, label_dir = root / "imagesTr", root / "labelsTr"
    image_files, label_files = _nifti_files(image_dir), _nifti_files(label_dir)
    labels, problems = index_by_name(label_files, _stem)
    channel_files: dict[str, list[Path]] = {}
    for path in image_files:
        match = _CHANNEL_FILE.match(_stem(path))
        case_id = match["case"] if match and match["case"] in labels else _stem(path)
        channel_files.setdefault(case_id, []).append(path)
    images = {case_id: paths[0] for case_id, paths in channel_files.items()}
    names, pair_problems = pair_by_name(images, labels, image_dir=image_dir, mask_dir=label_dir)
    cases = [CaseFiles(name, tuple(sorted(channel_files[name])), labels[name]) for name in names]
    return Listing(cases, image_files + label_files, problems + pair_problems)


def _case_folders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def _nifti_files(folder: Path) -> list[Path]:
    """NIfTI files directly in ``folder``; hidden files and macOS ``._*`` companions are skipped."""
    return sorted(path for path in folder.iterdir()
                  if path.name.lower().endswith(NIFTI_SUFFIXES) and not path.name.startswith(".") and path.is_file())


def _stem(path: Path) -> str:
    """File name without ``.nii.gz`` or ``.nii``."""
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _brats_role(path: Path) -> str | None:
    """The modality (or ``seg``) a BraTS file holds, from the ending after its last ``_`` or ``-``."""
    ending = re.split(r"[_-]", _stem(path))[-1].lower()
    return BRATS_ENDINGS.get(ending)


def _canonical_shape(image: nib.Nifti1Image) -> tuple[int, ...]:
    """The spatial shape after turning to the closest RAS orientation, from the header alone."""
    orientation = nib.orientations.io_orientation(image.affine)
    shape = [0, 0, 0]
    for axis, (target, _) in enumerate(orientation):
        shape[int(target)] = int(image.shape[axis])
    return tuple(shape)


def _resize(volume: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Resize a channel-first volume to a ``size`` cube (MONAI ``Resize``); anti-aliased for images."""
    resize = Resize((size, size, size), mode=mode, anti_aliasing=mode != "area")
    return np.asarray(resize(torch.from_numpy(np.ascontiguousarray(volume))).numpy(), dtype=np.float32)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(int(s)) for s in shape)


def _examples(values: np.ndarray) -> str:
    """A few distinct values that break the label rule, for the message."""
    distinct = np.unique(values)
    odd = distinct[(distinct < 0) | (np.mod(distinct, 1) != 0)][:4]
    return ", ".join(f"{v:g}" for v in odd)
