"""2D folder pairs: shapes, channels, normalisation, and how masks of every kind are binarised."""

from __future__ import annotations

import numpy as np
import pytest

from samplecast.data import detect_format, load_dataset
from samplecast.data.folder2d import binarise_mask
from samplecast.errors import InputError


def test_synthetic_folder_loads_as_float_images_and_binary_masks(synthetic_2d, tmp_path):
    data = load_dataset(synthetic_2d, image_size=32, cache_dir=tmp_path)
    assert detect_format(synthetic_2d) == "folder2d"
    assert data.name == synthetic_2d.name and data.source == str(synthetic_2d.resolve())
    assert data.spatial_dims == 2 and len(data) == 12 and data.in_channels == 3 and data.image_size == 32
    assert data.case_ids == sorted(data.case_ids)
    assert data.images.shape == (12, 3, 32, 32) and data.images.dtype == np.float32
    assert data.masks.shape == (12, 1, 32, 32) and data.masks.dtype == np.uint8
    assert set(np.unique(data.masks)) == {0, 1}
    assert np.all(data.masks.reshape(12, -1).any(axis=1))


def test_progress_counts_masks_then_images_up_to_the_total(synthetic_2d, tmp_path):
    calls = []
    load_dataset(synthetic_2d, image_size=16, cache_dir=tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(done, 24) for done in range(1, 25)]


def test_each_case_and_channel_is_z_scored(synthetic_2d, tmp_path):
    data = load_dataset(synthetic_2d, image_size=32, cache_dir=tmp_path)
    np.testing.assert_allclose(data.images.mean(axis=(2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(data.images.std(axis=(2, 3)), 1, atol=1e-3)


def test_default_size_is_256_for_2d(write_pairs, noise_image):
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 10:30] = 255
    data = load_dataset(write_pairs({"a": (noise_image(40, 50), mask)}))
    assert data.images.shape == (1, 3, 256, 256) and data.masks.shape == (1, 1, 256, 256)


def test_select_returns_cases_in_the_order_asked(synthetic_2d, tmp_path):
    data = load_dataset(synthetic_2d, image_size=16, cache_dir=tmp_path)
    ids = [data.case_ids[3], data.case_ids[0]]
    images, masks = data.select(ids)
    np.testing.assert_array_equal(images, data.images[[3, 0]])
    np.testing.assert_array_equal(masks, data.masks[[3, 0]])
    with pytest.raises(KeyError, match="nope"):
        data.select(["nope"])


def test_grey_images_keep_one_channel_and_mixed_sets_become_rgb(write_pairs, noise_image, disc_mask, tmp_path):
    grey = write_pairs({"a": (noise_image(32, 32, channels=1), disc_mask(32, 8)),
                        "b": (noise_image(32, 32, 1, channels=1), disc_mask(32, 6))}, root=tmp_path / "grey")
    assert load_dataset(grey, image_size=16).in_channels == 1
    mixed = write_pairs({"a": (noise_image(32, 32, channels=1), disc_mask(32, 8)),
                         "b": (noise_image(32, 32, 1), disc_mask(32, 6))}, root=tmp_path / "mixed")
    assert load_dataset(mixed, image_size=16).in_channels == 3


def test_images_of_varying_sizes_with_jpeg_masks_and_mask_suffix(write_pairs, noise_image, disc_mask):
    cases = {"small": (noise_image(40, 40), disc_mask(40, 12)), "large": (noise_image(120, 120), disc_mask(120, 36))}
    root = write_pairs(cases, image_suffix=".jpg", mask_suffix=".jpg", mask_name="{}_mask")
    data = load_dataset(root, image_size=40)
    assert data.case_ids == ["large", "small"]
    expected = (disc_mask(40, 12) > 127).astype(np.uint8)
    for row in range(2):  # the same disc relative to the image: the same mask after resizing, up to the edge
        assert np.mean(data.masks[row, 0] != expected) < 0.02


def test_mask_of_zeros_and_ones_uses_nonzero_as_foreground(write_pairs, noise_image, disc_mask):
    root = write_pairs({"a": (noise_image(32, 32), disc_mask(32, 8, value=1))})
    np.testing.assert_array_equal(load_dataset(root, image_size=32).masks[0, 0], disc_mask(32, 8, value=1))


def test_red_colour_mask_counts_like_a_white_one(write_pairs, noise_image, disc_mask):
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = disc_mask(32, 8)
    root = write_pairs({"a": (noise_image(32, 32), red)}, mask_suffix=".jpg")
    assert abs(int(load_dataset(root, image_size=32).masks.sum()) - int((disc_mask(32, 8) > 0).sum())) < 10


def test_label_selects_classes_of_a_label_map(write_pairs, noise_image, disc_mask):
    label_map = disc_mask(32, 12, value=1) + disc_mask(32, 5, value=1)  # 0 outside, 1 ring, 2 centre
    root = write_pairs({"a": (noise_image(32, 32), label_map)})
    data = load_dataset(root, label="2", image_size=32)
    np.testing.assert_array_equal(data.masks[0, 0], (label_map == 2).astype(np.uint8))
    assert load_dataset(root, label="1,2", image_size=32).masks.sum() == (label_map > 0).sum()


@pytest.mark.parametrize(
    ("values", "lossy", "expected"),
    [
        ([0, 1, 1, 0], False, [0, 1, 1, 0]),  # 0/1 mask
        ([0, 255, 255, 0], False, [0, 1, 1, 0]),  # 0/255 mask
        ([3, 250, 140, 120], True, [0, 1, 1, 0]),  # JPEG noise: > 127
        ([0, 255, 200, 60], False, [0, 1, 1, 0]),  # soft (anti-aliased) edges: > 127
        ([0.0, 0.9, 0.6, 0.2], False, [0, 1, 1, 0]),  # soft mask in [0, 1]: > 0.5
    ],
)
def test_binarise_mask_rules(values, lossy, expected):
    foreground, problem = binarise_mask(np.array(values), lossy=lossy, full_scale=255, targets=None)
    assert problem is None
    np.testing.assert_array_equal(foreground, np.array(expected, bool))


def test_binarise_mask_reports_a_label_map_and_asks_for_label():
    foreground, problem = binarise_mask(np.array([0, 1, 2, 2], np.uint8), lossy=False, full_scale=255, targets=None)
    assert foreground is None and "{0, 1, 2}" in problem and "--label" in problem


def test_binarise_mask_with_targets_selects_those_values():
    foreground, _ = binarise_mask(np.array([0, 1, 2, 4]), lossy=False, full_scale=255, targets=frozenset({2, 4}))
    np.testing.assert_array_equal(foreground, [False, False, True, True])


def test_hidden_and_non_image_files_are_ignored(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    (root / "images" / "._case_0000.png").write_bytes(b"\x00\x05\x16\x07")
    (root / "images" / "notes.txt").write_text("annotator notes")
    (root / "masks" / ".DS_Store").write_bytes(b"\x00")
    assert len(load_dataset(root, image_size=16)) == 12


def test_explicit_format_must_match_the_folder(synthetic_2d):
    with pytest.raises(InputError, match="imagesTr"):
        load_dataset(synthetic_2d, format="decathlon")
