"""Generated datasets: deterministic, in the expected layouts, with a foreground that has signal but is not trivial."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from samplecast.data import load_dataset, write_synthetic_2d, write_synthetic_3d
from samplecast.data.synthetic import lesion_volume, polyp_image


def _files(root):
    return {path.relative_to(root): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_2d_generator_is_deterministic_by_seed(tmp_path):
    first = _files(write_synthetic_2d(tmp_path / "a", n_cases=3, size=32, seed=7))
    assert first == _files(write_synthetic_2d(tmp_path / "b", n_cases=3, size=32, seed=7))
    assert first != _files(write_synthetic_2d(tmp_path / "c", n_cases=3, size=32, seed=8))


def test_case_does_not_depend_on_how_many_are_written(tmp_path):
    few = _files(write_synthetic_2d(tmp_path / "few", n_cases=2, size=32))
    many = _files(write_synthetic_2d(tmp_path / "many", n_cases=4, size=32))
    assert all(many[name] == content for name, content in few.items())


def test_3d_generator_is_deterministic_and_loads_as_decathlon(tmp_path):
    root = write_synthetic_3d(tmp_path / "a", n_cases=2, size=12, seed=1)
    assert _files(root) == _files(write_synthetic_3d(tmp_path / "b", n_cases=2, size=12, seed=1))
    data = load_dataset(root, image_size=12)
    assert data.images.shape == (2, 1, 12, 12, 12) and data.masks.any()


def test_2d_lesions_are_visible_on_average_but_not_by_brightness_alone():
    images, masks = zip(*(polyp_image(64, np.random.default_rng([0, i])) for i in range(24)))
    masks = np.stack(masks).astype(bool)
    assert np.all((masks.mean(axis=(1, 2)) > 0.02) & (masks.mean(axis=(1, 2)) < 0.4))
    brightness = np.stack([gaussian_filter(image.mean(axis=-1), 2) for image in images])
    inside = np.array([b[m].mean() for b, m in zip(brightness, masks)])
    outside = np.array([b[~m].mean() for b, m in zip(brightness, masks)])
    assert np.mean(inside > outside) > 0.8  # there is signal to learn
    per_case = (brightness - brightness.mean(axis=(1, 2), keepdims=True)) / brightness.std(axis=(1, 2), keepdims=True)
    best = max(_dice(per_case > threshold, masks) for threshold in np.linspace(-1, 3, 41))
    assert best < 0.7  # but a brightness threshold does not solve it: a model must learn shape and texture


def test_3d_lesion_lies_inside_the_organ_and_is_brighter_on_average():
    volumes, labels = zip(*(lesion_volume(20, np.random.default_rng([0, i])) for i in range(6)))
    assert all(label.any() for label in labels)
    assert np.mean([v[lab == 1].mean() > v[lab == 0].mean() for v, lab in zip(volumes, labels)]) > 0.8


def _dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    overlap = (prediction & truth).sum(axis=(1, 2))
    return float(np.mean(2 * overlap / (prediction.sum(axis=(1, 2)) + truth.sum(axis=(1, 2)) + 1e-9)))
