"""The interface every on-disk dataset layout implements (2D folder pairs, Decathlon, BraTS).

A layout knows three things: how to list the cases of a folder (:meth:`Layout.find`), how to check one case cheaply
while reading its mask (:meth:`Layout.check_case`), and how to read one image, resized (:meth:`Layout.read_image`).
:func:`samplecast.data.load_dataset` drives them: it lists, checks every case, reads the images and normalises them,
reports all problems at once (those found while reading included), and caches the result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

#: Binary target as a set of class values; ``None`` means the layout's default rule (see each layout).
Targets = frozenset[int] | None


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case: its image file(s) (one per channel group) and its mask."""

    case_id: str
    images: tuple[Path, ...]
    mask: Path


@dataclass
class Listing:
    """What :meth:`Layout.find` saw: the paired cases, every file it considered (for the cache key) and problems."""

    cases: list[CaseFiles]
    files: list[Path]
    problems: list[str] = field(default_factory=list)


@dataclass
class CaseCheck:
    """The result of checking one case: its binary mask resized to the working size, its channel count, problems.

    ``mask`` has shape ``(1, *spatial)`` and values in {0, 1}; it is ``None`` when the case has problems.
    ``foreground`` tells whether the mask had any foreground before resizing (small structures can vanish in it).
    """

    mask: np.ndarray | None = None
    channels: int | None = None
    foreground: bool = False
    problems: list[str] = field(default_factory=list)


class Layout(ABC):
    """One way of storing a segmentation dataset on disk."""

    #: Name used by ``load_dataset(format=...)`` and in cache file names.
    name: ClassVar[str]
    #: 2 for images, 3 for volumes.
    spatial_dims: ClassVar[int]
    #: Edge length of the square (cube) images are resized to when ``image_size`` is not given.
    default_size: ClassVar[int]
    #: One line describing the folder structure, used when no layout matches.
    description: ClassVar[str]
    #: Exceptions that mean "this file cannot be read" (reported as a problem rather than raised).
    read_errors: ClassVar[tuple[type[BaseException], ...]]

    @classmethod
    @abstractmethod
    def detects(cls, root: Path) -> bool:
        """Whether ``root`` looks like this layout (cheap: folder and file names only)."""

    @abstractmethod
    def find(self, root: Path) -> Listing:
        """List the cases under ``root``, reporting unpaired, duplicated or missing files."""

    @abstractmethod
    def check_case(self, case: CaseFiles, targets: Targets, size: int) -> CaseCheck:
        """Read the image header(s) and the full mask of one case; return the resized binary mask or problems."""

    @abstractmethod
    def read_image(self, case: CaseFiles, size: int, channels: int) -> np.ndarray:
        """The image of one case as float32 ``(channels, *[size] * spatial_dims)``, resized, not yet normalised."""

    def resolve_channels(self, cases: Sequence[CaseFiles], checks: Sequence[CaseCheck]) -> tuple[int, list[str]]:
        """The channel count of the dataset from the per-case counts (the most common one); a problem for each
        case that differs."""
        counts = [(case, check.channels) for case, check in zip(cases, checks) if check.channels is not None]
        if not counts:
            return 1, []
        usual = Counter(count for _, count in counts).most_common(1)[0][0]
        problems = [f"{case.images[0]}: {count} channel{'s' if count != 1 else ''}, but most cases have {usual}"
                    for case, count in counts if count != usual]
        return usual, problems
