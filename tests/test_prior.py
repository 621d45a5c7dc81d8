"""The synthetic-curve prior: valid, reproducible curves that look like segmentation sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from samplecast.curves import Curve, check_points
from samplecast.forecast.prior import (
    MAX_POINTS,
    SHAPES,
    PriorConfig,
    bank_from_curves,
    sample_prior,
    shape_values,
)


@pytest.fixture(scope="module")
def bank():
    return sample_prior(3000, seed=7)


def test_every_curve_is_a_valid_learning_curve(bank):
    assert len(bank) == 3000
    assert bank.n.shape == bank.dice.shape == (3000, MAX_POINTS)
    assert bank.lengths.min() >= 3 and bank.lengths.max() <= MAX_POINTS
    for curve in bank.curves():
        check_points(curve.n, curve.dice)  # raises on non-increasing sizes, NaN or Dice outside [0, 1]
        assert np.all(curve.n == np.round(curve.n)) and curve.n[0] >= 1  # whole numbers of cases


def test_padding_is_nan_after_each_curve(bank):
    cols = np.arange(MAX_POINTS)[None, :]
    inside = cols < bank.lengths[:, None]
    assert np.isfinite(bank.n[inside]).all() and np.isfinite(bank.dice[inside]).all()
    assert np.isnan(bank.n[~inside]).all() and np.isnan(bank.dice[~inside]).all()


def test_sizes_span_sweeps_of_50_to_5000_cases(bank):
    largest = bank.n[np.arange(len(bank)), bank.lengths - 1]
    assert 50 <= largest.min() and largest.max() <= 5000
    first_fraction = bank.n[:, 0] / largest
    assert first_fraction.min() < 0.03 and np.median(first_fraction) < 0.2


def test_curves_mostly_rise_and_saturate_at_plausible_dice(bank):
    last = bank.dice[np.arange(len(bank)), bank.lengths - 1]
    assert np.mean(last > bank.dice[:, 0]) > 0.9
    assert 0.55 < np.median(last) < 0.85
    clean_steps = np.diff(bank.clean, axis=1)
    assert np.nanmin(clean_steps) >= -1e-12  # the noise-free curves never fall ...
    noisy_steps = np.diff(bank.dice, axis=1)
    assert np.nanmean(noisy_steps < 0) > 0.02  # ... the measured ones sometimes do, as real ones do


def test_noise_shrinks_with_size(bank):
    residual = np.abs(bank.dice - bank.clean)
    small, large = bank.n < 30, bank.n > 1000
    assert np.nanmedian(residual[small]) > 1.5 * np.nanmedian(residual[large])


def test_same_seed_same_curves_other_seed_other_curves():
    a, b, c = sample_prior(50, seed=3), sample_prior(50, seed=3), sample_prior(50, seed=4)
    np.testing.assert_array_equal(a.dice, b.dice)
    assert not np.allclose(np.nan_to_num(a.dice), np.nan_to_num(c.dice))


@pytest.mark.parametrize("shape", SHAPES[:-1])
def test_shapes_rise_from_zero_towards_one(shape):
    n = np.geomspace(0.01, 1e6, 50)
    h = shape_values(shape, n, np.array(100.0), np.array(0.8))
    assert np.all(np.diff(h) >= 0) and h[0] < 0.05 and h[-1] > 0.9 and np.all((h >= 0) & (h <= 1))


def test_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="shape_weights"):
        PriorConfig(shape_weights=(1.0,))
    with pytest.raises(ValueError, match="plateau"):
        PriorConfig(plateau=(0.5, 1.2))
    with pytest.raises(ValueError, match="pool"):
        PriorConfig(pool=(0.0, 10.0))


def test_config_narrows_the_prior():
    bank = sample_prior(500, seed=1, config=PriorConfig(plateau=(0.9, 0.9), floor=(0.0, 0.0), noise_train=(1e-6, 1e-6),
                                                        noise_floor=(1e-6, 1e-6), bump_prob=0.0, outlier_prob=0.0))
    assert np.nanmax(bank.dice) <= 0.9 + 1e-3
    np.testing.assert_allclose(bank.dice, bank.clean, atol=1e-3)


def test_measured_curves_pad_and_concatenate():
    measured = bank_from_curves([Curve({}, [10, 20, 40], [0.5, 0.6, 0.65]),
                                 Curve({}, [5, 10, 20, 40, 80], [0.3, 0.5, 0.6, 0.65, 0.7])])
    assert measured.n.shape == (2, 5) and list(measured.lengths) == [3, 5]
    both = sample_prior(4, seed=0).concat(measured)
    assert len(both) == 6 and both.n.shape[1] == MAX_POINTS
    np.testing.assert_array_equal(both.curves()[-1].dice, [0.3, 0.5, 0.6, 0.65, 0.7])
