"""Prepare what a lent GPU machine needs for `benchmarks/gpu_session.sh`, in one ignored folder to carry.

The device machine starts bare, reaches nothing outside it and takes at most 64 MiB of working tree, so this writes,
into ``.gpu-carry/`` (ignored by git):

- ``kvasir-seg256/``: Kvasir-SEG resized once to 256x256 px, the protocol of ``data/kvasir_h100_curves.csv``
  (images bilinear, JPEG quality 95; masks thresholded at half scale, area-resized, thresholded again, PNG), so
  the sweep there decodes small files and its own resize to 256 px is the identity;
- ``wheels/``: the pure-Python wheels of samplecast's dependencies that the machine's image lacks (from PyPI).

    python benchmarks/gpu_prepare.py --data ../shared/data
    # then, with the device tool: run(command="bash benchmarks/gpu_session.sh", carry=[".gpu-carry"], timeout_s=600)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

#: On the device image (torch, lightning, pandas, scipy, statsmodels, matplotlib, click, rich, pillow are there).
MISSING_PACKAGES = ("monai", "nibabel", "fpdf2", "defusedxml", "submitit")


def resize_folder_dataset(source: Path, target: Path, size: int) -> int:
    """Write every image/mask pair of a Kvasir-layout folder at ``size`` px a side; returns how many."""
    images = sorted(p for p in (source / "images").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "masks").mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        mask_path = next((source / "masks").glob(path.stem + ".*"))
        image = Image.open(path).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        image.save(target / "images" / f"{path.stem}.jpg", quality=95)
        foreground = np.asarray(Image.open(mask_path).convert("L")) > 127
        mask = Image.fromarray(foreground.astype(np.uint8) * 255).resize((size, size), Image.Resampling.BOX)
        Image.fromarray(((np.asarray(mask) > 127) * 255).astype(np.uint8)).save(target / "masks" / f"{path.stem}.png")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, images))
    return len(images)


def download_wheels(target: Path, python_version: str) -> None:
    """Pure-Python wheels (no dependencies resolved: the image has the rest) for the device's Python."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--dest", str(target), *MISSING_PACKAGES], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder holding kvasir-seg/")
    parser.add_argument("-o", "--out", type=Path, default=Path(".gpu-carry"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--python-version", default="3.12", help="the device image's Python")
    args = parser.parse_args()
    if not (args.data / "kvasir-seg" / "images").is_dir():
        parser.error(f"--data {args.data}: no kvasir-seg/images folder in it")
    n = resize_folder_dataset(args.data / "kvasir-seg", args.out / f"kvasir-seg{args.size}", args.size)
    download_wheels(args.out / "wheels", args.python_version)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {n} Kvasir-SEG cases at {args.size} px and {len(list((args.out / 'wheels').iterdir()))} "
          f"wheels, {total / 2**20:.1f} MiB (the device takes 64 MiB with the working tree)")


if __name__ == "__main__":
    main()
