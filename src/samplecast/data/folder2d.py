"""2D folder pairs (the Kvasir-SEG layout): ``images/`` and ``masks/`` side by side, files matched by name.

Choices, so a user knows what the network sees:

- Files: ``.jpg .jpeg .png .tif .tiff .bmp``, any size; hidden files (``.DS_Store``, macOS ``._*``) are ignored.
  A mask matches the image with the same stem, or that stem followed by ``_mask``, ``_seg``, ``_segmentation``,
  ``_label`` or ``_gt`` (the ISIC and BUSI conventions).
- Channels: 1 when every image is grey, otherwise 3 (grey images of a colour dataset are replicated to RGB; alpha is
  dropped). Images are resized to a square with bilinear filtering (aspect ratio is not kept); JPEGs are decoded at
  a reduced scale first when that is still at least the target size, which is several times faster.
- Masks: colour masks become grey by taking the brightest channel (a red or green annotation counts like a white
  one); palette masks keep their palette indices. Without ``label`` a mask is binarised as follows: a mask with at
  most two values is foreground where non-zero (0/1, 0/255, ...); a lossless mask whose values are small integers
  (below 128) is a multi-class label map and is reported, asking for ``label``; anything else (JPEG noise, soft
  edges) is foreground above half the full scale (``> 127`` for 8-bit masks, ``> 0.5`` for masks in [0, 1]). With
  ``label`` the foreground is the mask values listed. Masks are binarised (JPEG masks decoded at four times the
  target size or more), resized by area averaging, then thresholded at 0.5.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, ImageChops

from samplecast.data.layout import CaseCheck, CaseFiles, Layout, Listing, Targets
from samplecast.data.validate import describe_error, index_by_name, pair_by_name

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
LOSSY_SUFFIXES = (".jpg", ".jpeg")
MASK_NAME_ENDINGS = ("_mask", "_segmentation", "_seg", "_label", "_gt")
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV"})
#: JPEG masks are decoded at no less than this many times the target size: much faster than full resolution, and
#: the resized mask still agrees with a full-resolution one on 99.9% of pixels (Kvasir-SEG at 64 pixels).
MASK_OVERSAMPLING = 4
#: What can go wrong when PIL opens or decodes a file.
READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class Folder2D(Layout):
    """``images/`` and ``masks/`` with files matched by name (Kvasir-SEG, ISIC, BUSI and most 2D sets)."""

    name: ClassVar[str] = "folder2d"
    spatial_dims: ClassVar[int] = 2
    default_size: ClassVar[int] = 256
    description: ClassVar[str] = "images/ and masks/ with image files matched by name (2D folder pairs, Kvasir-SEG)"
    read_errors: ClassVar[tuple[type[BaseException], ...]] = READ_ERRORS

    @classmethod
    def detects(cls, root: Path) -> bool:
        # either folder is enough, so a missing masks/ (or images/) is reported by name, not as an unknown layout
        return (root / "images").is_dir() or (root / "masks").is_dir()

    def find(self, root: Path) -> Listing:
        image_dir, mask_dir = root / "images", root / "masks"
        missing = [f"{folder}: folder not found; the 2D layout needs images/ and masks/ side by side"
                   for folder in (image_dir, mask_dir) if not folder.is_dir()]
        if missing:
            return Listing([], [], missing)
        image_files, mask_files = _image_files(image_dir), _image_files(mask_dir)
        problems = [f"{folder}: no {what} (expected files ending in {', '.join(IMAGE_SUFFIXES)})"
                    for folder, what, files in ((image_dir, "images", image_files), (mask_dir, "masks", mask_files))
                    if not files]
        images, image_problems = index_by_name(image_files, lambda file: file.stem)
        masks, mask_problems = index_by_name(mask_files, lambda file: _mask_name(file, images.keys()))
        names, pair_problems = pair_by_name(images, masks, image_dir=image_dir, mask_dir=mask_dir)
        cases = [CaseFiles(name, (images[name],), masks[name]) for name in names]
        return Listing(cases, image_files + mask_files, problems + image_problems + mask_problems + pair_problems)

    def check_case(self, case: CaseFiles, targets: Targets, size: int) -> CaseCheck:
        problems = []
        image_path = case.images[0]
        image_size, channels = None, None
        try:
            with Image.open(image_path) as image:
                image_size, channels = image.size, 1 if image.mode in GREY_MODES else 3
        except READ_ERRORS as exc:
            problems.append(f"{image_path}: unreadable image ({describe_error(exc, image_path)})")
        try:
            with Image.open(case.mask) as mask:
                mask_size, mode = mask.size, mask.mode
                mask.draft(mode, (MASK_OVERSAMPLING * size,) * 2)
                values = _mask_values(mask)
        except READ_ERRORS as exc:
            return CaseCheck(problems=[*problems, f"{case.mask}: unreadable mask ({describe_error(exc, case.mask)})"])
        if image_size is not None and mask_size != image_size:
            problems.append(f"{case.mask}: mask is {mask_size[0]}x{mask_size[1]} pixels but its image "
                            f"{image_path.name} is {image_size[0]}x{image_size[1]}")
        foreground, problem = binarise_mask(values, lossy=case.mask.suffix.lower() in LOSSY_SUFFIXES,
                                            full_scale=65535 if mode in SIXTEEN_BIT_MODES else 255, targets=targets)
        if problem:
            problems.append(f"{case.mask}: {problem}")
        if problems:
            return CaseCheck(problems=problems)
        resized = Image.fromarray(foreground.astype(np.uint8) * 255).resize((size, size), Image.Resampling.BOX)
        return CaseCheck((np.asarray(resized) > 127).astype(np.uint8)[None], channels, bool(foreground.any()))

    def resolve_channels(self, cases: Sequence[CaseFiles], checks: Sequence[CaseCheck]) -> tuple[int, list[str]]:
        """1 when every image is grey, otherwise 3: colour wins, grey images are replicated."""
        return (3 if any(check.channels == 3 for check in checks) else 1), []

    def read_image(self, case: CaseFiles, size: int, channels: int) -> np.ndarray:
        with Image.open(case.images[0]) as image:
            image.draft(image.mode, (size, size))
            converted = image.convert("RGB") if channels == 3 else image.convert("F")
            array = np.asarray(converted.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
        return array.transpose(2, 0, 1) if channels == 3 else array[None]


def binarise_mask(values: np.ndarray, *, lossy: bool, full_scale: float,
                  targets: Targets) -> tuple[np.ndarray | None, str | None]:
    """The boolean foreground of a grey mask by the rules in the module docstring, or ``None`` and a problem."""
    if targets is not None:
        return np.isin(values, list(targets)), None
    distinct = _distinct(values)
    if distinct.size <= 2:
        return values > 0, None
    integers = bool(np.all(distinct == np.round(distinct)))
    if not lossy and integers and distinct.max() < 128:
        shown = ", ".join(f"{v:g}" for v in distinct[:8]) + (", ..." if distinct.size > 8 else "")
        first = next(f"{v:g}" for v in distinct if v > 0)
        return None, (f"mask has values {{{shown}}}, a multi-class label map where a binary mask is expected; pass "
                      f"--label with the foreground class value(s), e.g. --label {first}")
    scale = 1.0 if distinct.max() <= 1 else full_scale
    return values > scale / 2, None


def _image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, hidden files excluded."""
    return sorted(path for path in folder.iterdir()
                  if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file())


def _mask_name(path: Path, image_names: Collection[str]) -> str:
    """The image stem a mask belongs to: its own stem, or that stem without an ending such as ``_mask`` when an
    image has that name."""
    stem = path.stem
    if stem in image_names:
        return stem
    for ending in MASK_NAME_ENDINGS:
        if stem.lower().endswith(ending) and stem[: -len(ending)] in image_names:
            return stem[: -len(ending)]
    return stem


def _mask_values(mask: Image.Image) -> np.ndarray:
    """A mask as one grey array: brightest channel of colour masks, palette indices of palette masks."""
    if mask.mode in COLOUR_MODES:
        red, green, blue = mask.convert("RGB").split()
        return np.asarray(ImageChops.lighter(ImageChops.lighter(red, green), blue))
    if mask.mode in ("LA", "PA"):
        return np.asarray(mask)[..., 0]
    values = np.asarray(mask)
    return values.astype(np.uint8) if values.dtype == bool else values


def _distinct(values: np.ndarray) -> np.ndarray:
    """Distinct values of a mask; a histogram for 8-bit masks, much faster than sorting."""
    if values.dtype == np.uint8:
        return np.flatnonzero(np.bincount(values.ravel(), minlength=256))
    return np.unique(values)
