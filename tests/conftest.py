"""Small real datasets on disk, for any test that needs one: generated 2D and 3D sets, a tiny BraTS set, writers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

from samplecast.data import write_synthetic_2d, write_synthetic_3d

#: Sizes of the shared generated datasets: big enough to split and learn from, small enough to write in a second.
SYNTHETIC_2D_CASES, SYNTHETIC_2D_SIZE = 12, 48
SYNTHETIC_3D_CASES, SYNTHETIC_3D_SIZE = 6, 16
BRATS_CASES, BRATS_SIZE = 3, 12


@pytest.fixture(scope="session")
def synthetic_2d(tmp_path_factory) -> Path:
    """A generated Kvasir-layout dataset (12 RGB PNGs of 48x48 with masks). Shared: copy it before changing it."""
    return write_synthetic_2d(tmp_path_factory.mktemp("synthetic-2d"), n_cases=SYNTHETIC_2D_CASES,
                              size=SYNTHETIC_2D_SIZE)


@pytest.fixture(scope="session")
def polyps(tmp_path_factory) -> Path:
    """24 synthetic RGB cases of 32 px for tiny sweeps: test 5, validation 2, pool 17. Shared: do not change it."""
    return write_synthetic_2d(tmp_path_factory.mktemp("polyps"), n_cases=24, size=32, seed=0)


@pytest.fixture
def one_thread(monkeypatch):
    """Tiny models run fastest, and predictably, on one thread of a shared machine (also in child processes)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def synthetic_3d(tmp_path_factory) -> Path:
    """A generated Decathlon-layout dataset (6 volumes of 16^3). Shared: copy it before changing it."""
    return write_synthetic_3d(tmp_path_factory.mktemp("synthetic-3d"), n_cases=SYNTHETIC_3D_CASES,
                              size=SYNTHETIC_3D_SIZE)


@pytest.fixture(scope="session")
def brats_dataset(tmp_path_factory) -> Path:
    """A tiny BraTS-layout dataset: 3 case folders with t1/t1ce/t2/flair volumes (12^3) and a seg with labels
    0, 1 (necrosis, a cube), 2 (oedema, a shell around it) and 4 (enhancing, a smaller cube inside)."""
    root = tmp_path_factory.mktemp("brats")
    for i in range(BRATS_CASES):
        rng = np.random.default_rng(i)
        seg = np.zeros((BRATS_SIZE,) * 3, np.uint8)
        seg[2:10, 2:10, 2:10] = 2
        seg[4:8, 4:8, 4:8] = 1
        seg[5:7, 5:7, 5:7] = 4
        case = f"BraTS_{i:03d}"
        folder = root / case
        folder.mkdir()
        for channel, modality in enumerate(("t1", "t1ce", "t2", "flair")):
            volume = (rng.normal(100 * (channel + 1), 10, seg.shape) + 50 * seg).astype(np.float32)
            nib.save(nib.Nifti1Image(volume, np.eye(4)), folder / f"{case}_{modality}.nii.gz")
        nib.save(nib.Nifti1Image(seg, np.eye(4)), folder / f"{case}_seg.nii.gz")
    return root


@pytest.fixture
def copy_dataset(tmp_path) -> Callable[[Path], Path]:
    """Copy a shared dataset into this test's folder, so the test may break or change it."""

    def copy(source: Path) -> Path:
        target = tmp_path / source.name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".samplecast-cache"))
        return target

    return copy


@pytest.fixture
def write_pairs(tmp_path) -> Callable[..., Path]:
    """Write a 2D folder-pairs dataset from arrays: ``write_pairs({"a": (image, mask)}, mask_suffix=".png")``.

    Images and masks are written with PIL in the format their suffix names; ``mask_name`` formats a mask's stem
    from the case name (e.g. ``"{}_mask"``). Returns the dataset folder.
    """

    def write(cases: Mapping[str, tuple[np.ndarray, np.ndarray]], *, root: Path | None = None,
              image_suffix: str = ".png", mask_suffix: str = ".png", mask_name: str = "{}") -> Path:
        root = root or tmp_path / "pairs"
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        for name, (image, mask) in cases.items():
            Image.fromarray(image).save(root / "images" / f"{name}{image_suffix}")
            Image.fromarray(mask).save(root / "masks" / f"{mask_name.format(name)}{mask_suffix}")
        return root

    return write


@pytest.fixture
def disc_mask() -> Callable[..., np.ndarray]:
    """``disc_mask(size, radius, value=255, centre=None)``: an 8-bit square mask holding a filled disc of ``value``."""

    def draw(size: int, radius: float, value: int = 255, centre: tuple[float, float] | None = None) -> np.ndarray:
        cy, cx = centre or ((size - 1) / 2, (size - 1) / 2)
        yy, xx = np.mgrid[:size, :size]
        return np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2, value, 0).astype(np.uint8)

    return draw


@pytest.fixture
def noise_image() -> Callable[..., np.ndarray]:
    """``noise_image(height, width, seed=0, channels=3)``: a random 8-bit image (RGB, or grey with 1 channel)."""

    def draw(height: int, width: int, seed: int = 0, channels: int = 3) -> np.ndarray:
        shape = (height, width, channels) if channels > 1 else (height, width)
        return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)

    return draw
