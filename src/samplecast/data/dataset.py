"""Load a segmentation dataset from disk into arrays the trainer can use: validated, resized, normalised, cached."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import TypeVar

import numpy as np

from samplecast.data.cache import DatasetCache
from samplecast.data.folder2d import Folder2D
from samplecast.data.layout import CaseCheck, CaseFiles, Layout, Listing, Targets
from samplecast.data.nifti import Brats, Decathlon
from samplecast.data.validate import check_foreground, describe_error, parse_label
from samplecast.errors import InputError, raise_if_any

#: The layouts ``load_dataset`` understands, in the order ``format="auto"`` tries them.
LAYOUTS: dict[str, type[Layout]] = {layout.name: layout for layout in (Folder2D, Decathlon, Brats)}
FORMATS = ("auto", *LAYOUTS)
MIN_IMAGE_SIZE = 8

Progress = Callable[[int, int], None]
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(eq=False)
class SegmentationDataset:
    """A whole segmentation dataset in memory, ready for training: one image and one binary mask per case.

    Args:
        name: short name of the dataset, the folder name (e.g. ``"kvasir-seg"``).
        case_ids: case names, sorted; the same on every load.
        images: float32 ``(N, C, H, W)`` or ``(N, C, D, H, W)``, z-scored per case and channel.
        masks: uint8 in {0, 1}, ``(N, 1, H, W)`` or ``(N, 1, D, H, W)``.
        spatial_dims: 2 or 3.
        source: path of the dataset folder it was loaded from.

    Example:
        >>> data = load_dataset("kvasir-seg", image_size=128)          # doctest: +SKIP
        >>> images, masks = data.select(data.case_ids[:8])              # doctest: +SKIP
    """

    name: str
    case_ids: list[str]
    images: np.ndarray
    masks: np.ndarray
    spatial_dims: int
    source: str
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index = {case_id: i for i, case_id in enumerate(self.case_ids)}

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def in_channels(self) -> int:
        """Number of image channels (the U-Net's input channels)."""
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        """Edge length of the square (cube) every case was resized to."""
        return int(self.images.shape[-1])

    def select(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Images and masks of the cases ``ids``, in that order (copies).

        Raises:
            KeyError: naming the ids that are not cases of this dataset.
        """
        unknown = [case_id for case_id in ids if case_id not in self._index]
        if unknown:
            raise KeyError(f"not cases of {self.name}: {', '.join(map(str, unknown[:5]))}"
                           + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
        rows = [self._index[case_id] for case_id in ids]
        return self.images[rows], self.masks[rows]


def detect_format(root: str | Path) -> str:
    """The layout of a dataset folder, from folder and file names.

    Raises:
        InputError: when the folder does not exist, is empty, or matches no layout (the message lists them).
    """
    root = Path(root)
    raise_if_any(_folder_problems(root))
    return _detect(root)


def load_dataset(
    path: str | Path,
    *,
    format: str = "auto",
    label: str | None = None,
    image_size: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> SegmentationDataset:
    """Validate, preprocess and cache a dataset folder; later loads with the same settings read the cache.

    Every case is checked (headers, pairs, sizes, full masks) and every image decoded, resized to ``image_size``
    per side and z-scored per case and channel; all problems, those found only when decoding included, are raised
    together. See
    :mod:`samplecast.data.folder2d` and :mod:`samplecast.data.nifti` for what each layout does with its files.

    Args:
        path: the dataset folder.
        format: ``"auto"`` (detect), ``"folder2d"`` (``images/`` + ``masks/``), ``"decathlon"`` or ``"brats"``.
        label: binary target as class values (``"1"``, ``"1,2,4"``) or a BraTS preset (``"wt"``, ``"tc"``,
            ``"et"``); ``None`` for the layout's default (non-zero labels; binary 2D masks).
        image_size: edge of the square/cube cases are resized to; ``None`` for 256 (2D) or 64 (3D).
        cache_dir: where preprocessed arrays are cached; ``None`` for ``<path>/.samplecast-cache``, or the user's
            cache folder when the dataset folder is read-only.
        progress: called as ``progress(done, total)`` after each file is decoded (masks, then images).
        workers: threads decoding files; ``None`` for up to 8, as many as there are CPUs.

    Raises:
        InputError: listing every problem found, each naming its file.
    """
    root = Path(path)
    problems = [] if format in FORMATS else [f"format {format!r}: expected one of {', '.join(FORMATS)}"]
    if image_size is not None and (not isinstance(image_size, Integral) or image_size < MIN_IMAGE_SIZE):
        problems.append(f"image_size {image_size!r}: expected a whole number of pixels, at least {MIN_IMAGE_SIZE}")
    raise_if_any(problems + _folder_problems(root))
    name = _detect(root) if format == "auto" else format
    layout = LAYOUTS[name]()
    targets = parse_label(label, name)
    size = int(image_size or layout.default_size)

    listing = layout.find(root)
    cache = DatasetCache(root, {"format": name, "label": sorted(targets) if targets is not None else None,
                                "size": size}, listing.files, cache_dir)
    cached = None if listing.problems else cache.load()
    if cached is not None:
        return _dataset(root, layout, [str(c) for c in cached["case_ids"]], cached["images"], cached["masks"])

    cases = listing.cases
    raise_if_any(_memory_problems(cases, layout, size))  # before any file is resized to that size
    total = 2 * len(cases)
    report = progress or (lambda done, total: None)
    checks, channels, problems = check_cases(layout, listing, root, targets, size, workers,
                                             lambda done: report(done, total))

    # every image is decoded even when problems were found, so files that fail only when decoded (a truncated
    # PNG) are reported with the others instead of after they are fixed
    images = np.empty((len(cases), channels, *[size] * layout.spatial_dims), dtype=np.float32)
    reported = {line.split(": ", 1)[0] for line in problems}
    read = _in_threads(lambda case: (None, None) if any(str(path) in reported for path in case.images)
                       else _read(layout, case, size, channels),  # files already reported are not read again
                       cases, workers, lambda done: report(len(cases) + done, total))
    for row, (image, problem) in enumerate(read):
        if problem:
            problems.append(problem)
        elif image is not None:
            images[row] = image
    raise_if_any(problems)

    case_ids = [case.case_id for case in cases]
    masks = np.stack([check.mask for check in checks]).astype(np.uint8)
    cache.save({"images": images, "masks": masks, "case_ids": np.array(case_ids)})
    return _dataset(root, layout, case_ids, images, masks)


def check_cases(layout: Layout, listing: Listing, root: Path, targets: Targets, size: int,
                workers: int | None = None, advanced: Callable[[int], None] = lambda done: None,
                ) -> tuple[list[CaseCheck], int, list[str]]:
    """Check every case of ``listing`` at ``size`` (pairs, headers, masks, channels, some foreground) in threads;
    returns the checks in case order, the number of image channels and every problem found, each naming its file.
    ``advanced(done)`` is called after each case."""
    cases = listing.cases
    checks = list(_in_threads(lambda case: layout.check_case(case, targets, size), cases, workers, advanced))
    channels, channel_problems = layout.resolve_channels(cases, checks)
    problems = listing.problems + [p for check in checks for p in check.problems] + channel_problems
    problems += check_foreground(checks, root, targets, size)
    if not cases and not problems:
        problems.append(f"{root}: no cases found")
    return checks, channels, problems


def normalise(image: np.ndarray) -> np.ndarray:
    """Z-score each channel of one case over all its pixels (mean 0, sd 1; a constant channel becomes 0)."""
    axes = tuple(range(1, image.ndim))
    image = np.asarray(image, dtype=np.float32)
    mean = image.mean(axis=axes, keepdims=True)
    image = image - mean
    sd = np.sqrt(np.mean(np.square(image), axis=axes, keepdims=True))
    image /= np.maximum(sd, 1e-6)
    return image


def _memory_problems(cases: Sequence[CaseFiles], layout: Layout, size: int) -> list[str]:
    """A problem when the arrays of ``cases`` at ``size`` would take more than half of this machine's memory."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no limit known
        return []
    channels = [3 if layout.spatial_dims == 2 else len(case.images) for case in cases]
    needed = sum(channels) * 4 * size ** layout.spatial_dims + len(cases) * size ** layout.spatial_dims
    if needed <= memory / 2:
        return []
    return [f"image_size {size}: {len(cases)} cases of {size} pixels a side would take {needed / 2**30:,.1f} GiB, "
            f"more than half of this machine's {memory / 2**30:.0f} GiB of memory; choose a smaller image size"]


def _dataset(root: Path, layout: Layout, case_ids: list[str], images: np.ndarray,
             masks: np.ndarray) -> SegmentationDataset:
    return SegmentationDataset(name=root.resolve().name, case_ids=case_ids, images=images, masks=masks,
                               spatial_dims=layout.spatial_dims, source=str(root.resolve()))


def _detect(root: Path) -> str:
    for name, layout in LAYOUTS.items():
        if layout.detects(root):
            return name
    expected = "; ".join(f"{name}: {layout.description}" for name, layout in LAYOUTS.items())
    raise InputError(f"{root}: unknown dataset layout; expected one of ({expected})")


def _folder_problems(root: Path) -> list[str]:
    """Problems with the dataset folder itself: missing, not a folder, empty."""
    if not root.exists():
        return [f"{root}: folder not found"]
    if not root.is_dir():
        return [f"{root}: not a folder; give the dataset folder (e.g. the one holding images/ and masks/)"]
    if not any(not entry.name.startswith(".") for entry in root.iterdir()):
        return [f"{root}: the folder is empty; expected a dataset (e.g. images/ and masks/)"]
    return []


def _read(layout: Layout, case: CaseFiles, size: int, channels: int) -> tuple[np.ndarray | None, str | None]:
    """One image, normalised, or the problem that kept it from being read (a file whose header looked fine)."""
    try:
        return normalise(layout.read_image(case, size, channels)), None
    except layout.read_errors as exc:
        where = case.images[0] if len(case.images) == 1 else case.images[0].parent
        return None, f"{where}: unreadable image data of case {case.case_id} ({describe_error(exc)})"


def _in_threads(function: Callable[[_T], _R], items: Sequence[_T], workers: int | None,
                advanced: Callable[[int], None]) -> Iterator[_R]:
    """``function`` over ``items`` in threads (the decoders release the GIL), yielding results in order and
    reporting each one done."""
    pool = ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1))
    try:
        for done, result in enumerate(pool.map(function, items), start=1):
            advanced(done)
            yield result
    finally:  # stopped early (Ctrl-C): drop the files not yet started instead of decoding them all
        pool.shutdown(wait=True, cancel_futures=True)
