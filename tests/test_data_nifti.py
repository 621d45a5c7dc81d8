"""3D layouts: Decathlon (with and without a training list, nnU-Net channel files) and BraTS, targets, orientation."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from samplecast.data import detect_format, load_dataset
from samplecast.errors import InputError


def _write_volume(path, data, affine=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), path)


def _class_cubes(size: int = 10) -> np.ndarray:
    """A label volume with a cube of class 1 holding a smaller cube of class 2."""
    label = np.zeros((size,) * 3, np.uint8)
    label[2:8, 2:8, 2:8] = 1
    label[4:6, 4:6, 4:6] = 2
    return label


def test_decathlon_loads_as_volumes_with_binary_masks(synthetic_3d):
    data = load_dataset(synthetic_3d, image_size=8)
    assert detect_format(synthetic_3d) == "decathlon" and data.spatial_dims == 3
    assert data.images.shape == (6, 1, 8, 8, 8) and data.images.dtype == np.float32
    assert data.masks.shape == (6, 1, 8, 8, 8) and set(np.unique(data.masks)) == {0, 1}
    assert data.case_ids == [f"synth_{i:03d}" for i in range(6)]


def test_default_size_is_64_for_3d(synthetic_3d):
    assert load_dataset(synthetic_3d).images.shape[2:] == (64, 64, 64)


def test_decathlon_without_training_list_matches_nnunet_channel_files(tmp_path):
    label = _class_cubes()
    for case in ("a", "b"):
        _write_volume(tmp_path / "labelsTr" / f"{case}.nii.gz", label)
        for channel in range(2):
            _write_volume(tmp_path / "imagesTr" / f"{case}_{channel:04d}.nii.gz",
                          np.full(label.shape, channel, np.float32) + label)
    (tmp_path / "imagesTr" / "._a_0000.nii.gz").write_bytes(b"\x00\x05\x16\x07")  # macOS companion file
    data = load_dataset(tmp_path, image_size=10)
    assert data.case_ids == ["a", "b"] and data.images.shape == (2, 2, 10, 10, 10)
    np.testing.assert_array_equal(data.masks[0, 0], label > 0)


def test_decathlon_label_selects_classes(tmp_path):
    label = _class_cubes()
    _write_volume(tmp_path / "imagesTr" / "a.nii.gz", label.astype(np.float32))
    _write_volume(tmp_path / "labelsTr" / "a.nii.gz", label)
    assert load_dataset(tmp_path, image_size=10).masks.sum() == (label > 0).sum()
    np.testing.assert_array_equal(load_dataset(tmp_path, label="2", image_size=10).masks[0, 0], label == 2)


def test_four_dimensional_image_gives_its_last_axis_as_channels(tmp_path):
    label = _class_cubes()
    _write_volume(tmp_path / "imagesTr" / "a.nii.gz", np.random.default_rng(0).random((10, 10, 10, 3), np.float32))
    _write_volume(tmp_path / "labelsTr" / "a.nii.gz", label)
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"training": [{"image": "./imagesTr/a.nii.gz", "label": "./labelsTr/a.nii.gz"}]}))
    assert load_dataset(tmp_path, image_size=8).images.shape == (1, 3, 8, 8, 8)


def test_volumes_are_turned_to_the_same_orientation(tmp_path):
    label = np.zeros((10, 10, 10), np.uint8)
    label[1:4, 2:5, 3:9] = 1
    flip_x = np.diag([-1.0, 1.0, 1.0, 1.0])
    _write_volume(tmp_path / "imagesTr" / "ras.nii.gz", label.astype(np.float32))
    _write_volume(tmp_path / "labelsTr" / "ras.nii.gz", label)
    _write_volume(tmp_path / "imagesTr" / "las.nii.gz", label[::-1].astype(np.float32), flip_x)
    _write_volume(tmp_path / "labelsTr" / "las.nii.gz", label[::-1].copy(), flip_x)
    data = load_dataset(tmp_path, image_size=10)
    np.testing.assert_array_equal(data.masks[0], data.masks[1])
    np.testing.assert_allclose(data.images[0], data.images[1], atol=1e-5)


def test_brats_stacks_the_four_modalities_and_defaults_to_whole_tumour(brats_dataset):
    data = load_dataset(brats_dataset, image_size=12)
    assert detect_format(brats_dataset) == "brats"
    assert data.case_ids == ["BraTS_000", "BraTS_001", "BraTS_002"] and data.images.shape == (3, 4, 12, 12, 12)
    assert data.masks[0].sum() == 8 ** 3  # labels 1, 2 and 4


@pytest.mark.parametrize(("label", "voxels"), [("wt", 8 ** 3), ("tc", 4 ** 3), ("et", 2 ** 3), ("2", 8 ** 3 - 4 ** 3)])
def test_brats_presets_and_class_values(brats_dataset, label, voxels):
    assert load_dataset(brats_dataset, label=label, image_size=12).masks[0].sum() == voxels


def test_brats_presets_are_refused_for_other_layouts(synthetic_3d):
    with pytest.raises(InputError, match="BraTS layout only"):
        load_dataset(synthetic_3d, label="wt")
