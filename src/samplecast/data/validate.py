"""Checks shared by the dataset layouts: the ``label`` option, pairing images with masks by name, foreground.

Every check returns problem lines (each naming the file and what to do) instead of raising, so
:func:`samplecast.data.load_dataset` can report all problems of a dataset in one :class:`~samplecast.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from samplecast.data.layout import CaseCheck, Targets
from samplecast.errors import InputError

#: BraTS tumour sub-regions as sets of label values. BraTS 2017-2021 mark enhancing tumour 4, BraTS 2023 marks it 3;
#: both are listed so a preset means the same region in every edition.
BRATS_PRESETS: dict[str, frozenset[int]] = {
    "wt": frozenset({1, 2, 3, 4}),  # whole tumour: necrosis, oedema, enhancing tumour
    "tc": frozenset({1, 3, 4}),  # tumour core: necrosis and enhancing tumour
    "et": frozenset({3, 4}),  # enhancing tumour
}


def parse_label(label: str | None, format: str) -> Targets:
    """The binary target named by ``label``: class values such as ``"1"`` or ``"1,2,4"``, or a BraTS preset.

    ``None`` keeps the layout's default (all non-zero labels for NIfTI layouts; the mask rules for 2D masks).

    Raises:
        InputError: when ``label`` is neither a list of non-negative integers nor a preset of the BraTS layout.
    """
    if label is None:
        return None
    text = str(label).strip().lower()
    if text in BRATS_PRESETS:
        if format != "brats":
            raise InputError(f"label {label!r}: the presets wt/tc/et apply to the BraTS layout only; give the class "
                             "values instead, e.g. --label 1 or --label 1,2")
        return BRATS_PRESETS[text]
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise InputError(f"label {label!r}: expected class values separated by commas, such as 1 or 1,2,4"
                         + (", or a preset wt/tc/et" if format == "brats" else ""))
    return frozenset(int(part) for part in parts)


def describe_error(exc: BaseException, path: Path | None = None) -> str:
    """A short reason for a failed read, e.g. ``cannot identify image file``: the first line of the message, without
    the file name the problem line already starts with."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if path is not None:
        text = text.replace(f" '{path}'", "").replace(f" {path}", "").strip()
    return text or type(exc).__name__


def index_by_name(files: Iterable[Path], name_of) -> tuple[dict[str, Path], list[str]]:
    """Files keyed by ``name_of(file)``; a problem for each name that two files share."""
    index: dict[str, Path] = {}
    problems = []
    for file in sorted(files):
        name = name_of(file)
        if name in index:
            problems.append(f"{file}: has the same name {name!r} as {index[name].name}; keep one of them")
        else:
            index[name] = file
    return index, problems


def pair_by_name(images: Mapping[str, Path], masks: Mapping[str, Path], *, image_dir: Path,
                 mask_dir: Path) -> tuple[list[str], list[str]]:
    """Names present in both ``images`` and ``masks`` (sorted), and one problem per file without a partner."""
    problems = [f"{images[name]}: no mask named {name!r} in {mask_dir}"
                for name in sorted(images.keys() - masks.keys())]
    problems += [f"{masks[name]}: mask without an image named {name!r} in {image_dir}"
                 for name in sorted(masks.keys() - images.keys())]
    return sorted(images.keys() & masks.keys()), problems


def check_foreground(checks: Iterable[CaseCheck], root: Path, targets: Targets, size: int) -> list[str]:
    """A problem when no mask of the dataset has any foreground, before or after resizing (nothing to segment)."""
    checks = [check for check in checks if check.mask is not None]
    if not checks:
        return []
    if not any(check.foreground for check in checks):
        if targets is not None:
            chosen = ",".join(str(v) for v in sorted(targets))
            return [(f"{root}: no mask contains the label value(s) {chosen}; check --label against the values in the "
                    "masks")]
        return [f"{root}: no mask has any foreground (every mask is empty); check that the masks are the annotations"]
    if not any(check.mask.any() for check in checks):
        return [(f"{root}: the foreground vanishes when masks are resized to {size} pixels per side; pass a larger "
                "--image-size")]
    return []
