"""Bad datasets: every problem is reported at once, one line each, naming the file."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from samplecast.data import load_dataset
from samplecast.errors import InputError


def _problems(path, **options) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_dataset(path, **options)
    return caught.value.problems


def _line_about(problems: list[str], file_name: str, words: str) -> bool:
    return any(file_name in line and words in line for line in problems)


def test_all_problems_of_a_2d_folder_are_reported_together(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    images, masks = root / "images", root / "masks"
    (masks / "case_0001.png").unlink()  # image without mask
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(masks / "stray.png")  # mask without image
    (images / "case_0002.png").write_bytes(b"this is not a picture")  # unreadable image
    Image.fromarray(np.zeros((30, 48), np.uint8)).save(masks / "case_0003.png")  # size mismatch
    Image.fromarray(np.tile(np.array([0, 1, 2], np.uint8), (48, 16))).save(masks / "case_0004.png")  # label map
    (masks / "case_0005.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # unreadable mask
    problems = _problems(root, image_size=16)
    assert len(problems) == 6, problems
    assert _line_about(problems, "case_0001.png", "no mask named 'case_0001'")
    assert _line_about(problems, "stray.png", "mask without an image")
    assert _line_about(problems, "case_0002.png", "unreadable image")
    assert _line_about(problems, "case_0003.png", "48x30 pixels but its image case_0003.png is 48x48")
    assert _line_about(problems, "case_0004.png", "--label")
    assert _line_about(problems, "case_0005.png", "unreadable mask")


def test_image_whose_data_is_truncated_is_reported_after_decoding(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    for name in ("case_0000.png", "case_0007.png"):
        path = root / "images" / name
        path.write_bytes(path.read_bytes()[:200])  # the header survives, the pixels do not
    problems = _problems(root, image_size=16)
    assert len(problems) == 2 and all("unreadable image data" in line for line in problems)
    assert _line_about(problems, "case_0000.png", "") and _line_about(problems, "case_0007.png", "")


def test_a_truncated_image_is_reported_together_with_the_other_problems(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    truncated = root / "images" / "case_0006.png"
    truncated.write_bytes(truncated.read_bytes()[:200])  # passes the header check, fails when decoded
    (root / "masks" / "case_0001.png").unlink()
    Image.fromarray(np.zeros((30, 48), np.uint8)).save(root / "masks" / "case_0003.png")
    problems = _problems(root, image_size=16)
    assert len(problems) == 3, problems
    assert _line_about(problems, "case_0006.png", "unreadable image data")
    assert _line_about(problems, "case_0001.png", "no mask") and _line_about(problems, "case_0003.png", "48x30")


@pytest.mark.parametrize("kept, missing", [("images", "masks"), ("masks", "images")])
def test_a_missing_half_of_the_2d_layout_is_named(synthetic_2d, copy_dataset, kept, missing):
    root = copy_dataset(synthetic_2d)
    shutil.rmtree(root / missing)
    (problem,) = _problems(root)
    assert problem.startswith(f"{root / missing}: folder not found") and "images/ and masks/" in problem


@pytest.mark.parametrize("path", ["../elsewhere/a.nii.gz", "/etc/a.nii.gz", "imagesTr/../../a.nii.gz"])
def test_dataset_json_paths_that_leave_the_dataset_folder_are_refused(synthetic_3d, copy_dataset, path):
    root = copy_dataset(synthetic_3d)
    manifest = json.loads((root / "dataset.json").read_text())
    manifest["training"][1]["label"] = path
    (root / "dataset.json").write_text(json.dumps(manifest))
    (problem,) = _problems(root, image_size=8)
    assert problem == (f"{root / 'dataset.json'}: training entry 2 names {path!r}, outside the dataset folder; "
                       f"paths must stay inside {root}")


def test_two_images_with_the_same_name_are_reported(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    Image.open(root / "images" / "case_0000.png").convert("RGB").save(root / "images" / "case_0000.jpg")
    assert _line_about(_problems(root), "case_0000", "same name")


def test_masks_without_any_foreground_are_reported(write_pairs, noise_image):
    root = write_pairs({name: (noise_image(16, 16), np.zeros((16, 16), np.uint8)) for name in ("a", "b")})
    assert _problems(root, image_size=16) == [(f"{root}: no mask has any foreground (every mask is empty); check "
                                              "that the masks are the annotations")]


def test_label_that_no_mask_contains_is_reported(write_pairs, noise_image, disc_mask):
    root = write_pairs({"a": (noise_image(16, 16), disc_mask(16, 4, value=1) * 2)})
    assert _line_about(_problems(root, label="3", image_size=16), str(root), "label value(s) 3")


def test_foreground_too_small_for_the_image_size_is_reported(write_pairs, noise_image):
    mask = np.zeros((64, 64), np.uint8)
    mask[10, 10] = 255
    assert _line_about(_problems(write_pairs({"a": (noise_image(64, 64), mask)}), image_size=8), "", "--image-size")


def test_the_folder_itself(tmp_path):
    assert _problems(tmp_path / "absent") == [f"{tmp_path / 'absent'}: folder not found"]
    (tmp_path / "file.txt").write_text("x")
    assert "not a folder" in _problems(tmp_path / "file.txt")[0]
    (tmp_path / "empty").mkdir()
    assert "empty" in _problems(tmp_path / "empty")[0]


def test_unknown_layout_names_the_expected_layouts(tmp_path):
    (tmp_path / "pictures").mkdir()
    (problem,) = _problems(tmp_path)
    assert "unknown dataset layout" in problem and "images/ and masks/" in problem and "imagesTr" in problem
    assert "_seg.nii.gz" in problem


def test_an_image_size_too_large_for_memory_is_refused_before_resizing(synthetic_2d):
    (problem,) = _problems(synthetic_2d, image_size=1_000_000)
    assert problem.startswith("image_size 1000000: 12 cases of 1000000 pixels a side would take")
    assert "choose a smaller image size" in problem


def test_bad_options_are_reported_together(synthetic_2d):
    problems = _problems(synthetic_2d, format="png", image_size=4)
    assert len(problems) == 2 and "format 'png'" in problems[0] and "image_size 4" in problems[1]
    assert "expected class values" in _problems(synthetic_2d, label="tumour")[0]


def test_all_problems_of_a_decathlon_folder_are_reported_together(synthetic_3d, copy_dataset):
    root = copy_dataset(synthetic_3d)
    manifest = json.loads((root / "dataset.json").read_text())
    manifest["training"].append({"image": "./imagesTr/ghost.nii.gz", "label": "./labelsTr/ghost.nii.gz"})
    (root / "dataset.json").write_text(json.dumps(manifest))
    (root / "labelsTr" / "synth_001.nii.gz").write_bytes(b"not a volume")
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 9), np.uint8), np.eye(4)), root / "labelsTr" / "synth_002.nii.gz")
    nib.save(nib.Nifti1Image(np.full((16, 16, 16), 0.5, np.float32), np.eye(4)), root / "labelsTr" / "synth_003.nii.gz")
    problems = _problems(root, image_size=8)
    assert len(problems) == 5, problems
    assert _line_about(problems, "ghost.nii.gz", "listed in dataset.json")
    assert _line_about(problems, "synth_001.nii.gz", "unreadable label")
    assert _line_about(problems, "synth_002.nii.gz", "16x16x16 voxels but its label synth_002.nii.gz is 16x16x9")
    assert _line_about(problems, "synth_003.nii.gz", "non-negative integer")


def test_decathlon_unpaired_files_are_reported_both_ways(tmp_path):
    volume = np.ones((8, 8, 8), np.uint8)
    for folder, name in (("imagesTr", "a"), ("labelsTr", "a"), ("imagesTr", "lonely"), ("labelsTr", "orphan")):
        (tmp_path / folder).mkdir(exist_ok=True)
        nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / folder / f"{name}.nii.gz")
    problems = _problems(tmp_path)
    assert len(problems) == 2
    assert _line_about(problems, "lonely.nii.gz", "no mask") and _line_about(problems, "orphan.nii.gz", "without")


def test_brats_case_missing_a_modality_is_reported(brats_dataset, copy_dataset):
    root = copy_dataset(brats_dataset)
    (root / "BraTS_001" / "BraTS_001_flair.nii.gz").unlink()
    (root / "BraTS_002" / "BraTS_002_seg.nii.gz").unlink()
    problems = _problems(root)
    assert len(problems) == 2
    assert _line_about(problems, "BraTS_001", "missing the flair volume")
    assert _line_about(problems, "BraTS_002", "missing the seg volume")


def test_channel_counts_that_differ_between_cases_are_reported(tmp_path):
    label = np.ones((8, 8, 8), np.uint8)
    for case, shape in (("a", (8, 8, 8)), ("b", (8, 8, 8)), ("c", (8, 8, 8, 2))):
        for folder, data in (("imagesTr", np.zeros(shape, np.float32)), ("labelsTr", label)):
            (tmp_path / folder).mkdir(exist_ok=True)
            nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / folder / f"{case}.nii.gz")
    assert _problems(tmp_path) == [f"{tmp_path / 'imagesTr' / 'c.nii.gz'}: 2 channels, but most cases have 1"]
