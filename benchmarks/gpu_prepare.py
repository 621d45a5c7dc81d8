"""Prepare what a lent GPU machine needs for `benchmarks/gpu_session.sh`, in one ignored folder to carry.

The device machine starts bare, reaches nothing outside it and takes at most 64 MiB of working tree, so this writes,
into ``.gpu-carry/`` (ignored by git):

- ``kvasir-seg256/``: Kvasir-SEG at 256x256 px as samplecast's own reader resizes it (the protocol of
  ``data/kvasir_h100_curves.csv``: images as JPEG quality 95, binary masks as PNG), so the sweep there decodes small
  files and its own resize to 256 px is the identity;
- ``fuseg128/``: FUSeg the same way at 128x128 px, for the sweep of ``JOB=fuseg`` (small wounds need more training
  than the CPU could give them; ``data/README.md``);
- ``wheels/``: the pure-Python wheels of samplecast's dependencies that the machine's image lacks (from PyPI).

    python benchmarks/gpu_prepare.py --data ../shared/data
    # then, with the device tool: run(command="bash benchmarks/gpu_session.sh", carry=[".gpu-carry"], timeout_s=600)
    # or, for FUSeg: run(command="JOB=fuseg bash benchmarks/gpu_session.sh", carry=[".gpu-carry"], timeout_s=600)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from samplecast.data.dataset import check_cases
from samplecast.data.folder2d import Folder2D
from samplecast.data.layout import CaseCheck, CaseFiles

#: On the device image (torch, lightning, pandas, scipy, statsmodels, matplotlib, click, rich, pillow are there).
MISSING_PACKAGES = ("monai", "nibabel", "fpdf2", "defusedxml", "submitit")
#: The 2D image sets carried (folders of the shared data) and the size each is swept at there.
SIZES: dict[str, int] = {"kvasir-seg": 256, "fuseg": 128}


def resize_folder_dataset(source: Path, target: Path, size: int) -> int:
    """Write every case of a 2D folder dataset at ``size`` px a side, checked (:func:`check_cases`) and read by
    :class:`Folder2D` as a sweep reads them (its pairing, decoding and mask rules); returns how many. Raises
    ``ValueError`` with every problem, one per line."""
    layout = Folder2D()
    listing = layout.find(source)
    checks, channels, problems = check_cases(layout, listing, source, None, size)
    if problems:
        raise ValueError("\n".join(problems))
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "masks").mkdir(parents=True, exist_ok=True)

    def one(case_and_check: tuple[CaseFiles, CaseCheck]) -> None:
        case, check = case_and_check
        image = layout.read_image(case, size, channels)
        pixels = image[0] if channels == 1 else image.transpose(1, 2, 0)
        Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8)).save(
            target / "images" / f"{case.case_id}.jpg", quality=95)
        Image.fromarray(check.mask[0] * 255).save(target / "masks" / f"{case.case_id}.png")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, zip(listing.cases, checks)))
    return len(listing.cases)


def download_wheels(target: Path, python_version: str) -> None:
    """Pure-Python wheels (no dependencies resolved: the image has the rest) for the device's Python."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--dest", str(target), *MISSING_PACKAGES], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"),
                        help=f"folder holding {', '.join(f'{name}/' for name in SIZES)}")
    parser.add_argument("-o", "--out", type=Path, default=Path(".gpu-carry"))
    parser.add_argument("--python-version", default="3.12", help="the device image's Python")
    args = parser.parse_args()
    counts = {}
    try:
        for name, size in SIZES.items():
            counts[f"{name} at {size} px"] = resize_folder_dataset(args.data / name, args.out / f"{name}{size}", size)
    except ValueError as exc:
        parser.exit(2, "".join(f"error: {line}\n" for line in str(exc).splitlines()))
    download_wheels(args.out / "wheels", args.python_version)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    cases = ", ".join(f"{n} cases of {what}" for what, n in counts.items())
    print(f"{args.out}: {cases} and {len(list((args.out / 'wheels').iterdir()))} wheels, {total / 2**20:.1f} MiB "
          "(the device takes 64 MiB with the working tree)")


if __name__ == "__main__":
    main()
