"""Quantile interpolation and split-conformal widening of intervals (used by the surrogate and the ensemble)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from samplecast.forecast.calibration import IntervalCalibration, across_bins, interpolate_levels

LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def gaussian_quantiles(centre: np.ndarray, sd: float, levels=LEVELS) -> np.ndarray:
    return centre[:, None] + sd * stats.norm.ppf(levels)[None, :]


def test_interpolation_is_exact_for_gaussian_quantiles():
    q = gaussian_quantiles(np.array([0.3, 0.7]), 0.05)
    new = (0.01, 0.2, 0.5, 0.66, 0.99)
    np.testing.assert_allclose(interpolate_levels(LEVELS, q, new), gaussian_quantiles(np.array([0.3, 0.7]), 0.05, new),
                               atol=1e-12)


def test_interpolation_rejects_levels_outside_the_open_unit_interval():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        interpolate_levels(LEVELS, gaussian_quantiles(np.array([0.5]), 0.1), (0.5, 1.0))


@pytest.mark.parametrize("claimed, true_sd", [(0.02, 0.05), (0.05, 0.02)])
def test_conformal_factors_restore_nominal_coverage(claimed, true_sd):
    rng = np.random.default_rng(1)
    m = 2000
    centre = rng.uniform(0.5, 0.9, m)
    truth = centre + rng.normal(0, true_sd, m)
    ratio = rng.uniform(0, 3, m)
    q = gaussian_quantiles(centre, claimed)
    cal = IntervalCalibration.fit(LEVELS, q, truth, ratio)
    for factors in cal.factors:
        np.testing.assert_allclose(factors, true_sd / claimed, rtol=0.15)
    fresh_centre = rng.uniform(0.5, 0.9, m)
    fresh_truth = fresh_centre + rng.normal(0, true_sd, m)
    widened = cal.apply(LEVELS, gaussian_quantiles(fresh_centre, claimed), rng.uniform(0, 3, m))
    inside80 = np.mean((widened[:, 1] <= fresh_truth) & (fresh_truth <= widened[:, 5]))
    inside90 = np.mean((widened[:, 0] <= fresh_truth) & (fresh_truth <= widened[:, 6]))
    assert abs(inside80 - 0.8) < 0.03 and abs(inside90 - 0.9) < 0.03


def test_each_distance_bin_gets_its_own_factor():
    rng = np.random.default_rng(2)
    ratio = np.repeat([0.2, 1.5, 3.0], 600)  # one per bin of the default edges (log 2.5, log 7)
    sd = np.repeat([0.01, 0.03, 0.06], 600)
    centre = np.full(ratio.size, 0.7)
    cal = IntervalCalibration.fit(LEVELS, gaussian_quantiles(centre, 0.02), centre + rng.normal(0, sd), ratio)
    middle = [row[1] for row in cal.factors]  # the 80% factor of each bin
    assert middle[0] < middle[1] < middle[2]
    np.testing.assert_allclose(middle, [0.5, 1.5, 3.0], rtol=0.15)


def test_weights_decide_which_forecasts_the_factors_follow():
    rng = np.random.default_rng(4)
    centre = np.full(1000, 0.7)
    truth = centre + np.concatenate([rng.normal(0, 0.02, 500), rng.normal(0, 0.06, 500)])
    q, ratio = gaussian_quantiles(centre, 0.02), np.ones(1000)
    only_first = IntervalCalibration.fit(LEVELS, q, truth, ratio, sample_weight=np.repeat([1.0, 0.0], 500))
    only_second = IntervalCalibration.fit(LEVELS, q, truth, ratio, sample_weight=np.repeat([0.0, 1.0], 500))
    assert only_first.factors[1][1] == pytest.approx(1.0, rel=0.15)
    assert only_second.factors[1][1] == pytest.approx(3.0, rel=0.15)


def test_sparse_bins_fall_back_to_the_pooled_factors():
    rng = np.random.default_rng(3)
    ratio = np.concatenate([np.full(200, 0.2), [3.0] * 3])
    centre = np.full(ratio.size, 0.6)
    cal = IntervalCalibration.fit(LEVELS, gaussian_quantiles(centre, 0.02), centre + rng.normal(0, 0.02, ratio.size),
                                  ratio)
    assert cal.counts == (200, 0, 3)
    assert cal.factors[1] == cal.factors[2] != cal.factors[0]


def test_apply_keeps_the_median_and_the_order_and_the_unit_interval():
    cal = IntervalCalibration((0.5, 0.8, 0.9), (1.0,), ((2.0, 3.0, 4.0), (0.5, 0.5, 0.5)), (10, 10))
    q = gaussian_quantiles(np.array([0.5, 0.98]), 0.05)
    out = cal.apply(LEVELS, q, np.array([0.1, 2.0]))
    np.testing.assert_allclose(out[:, 3], q[:, 3])
    assert np.all(np.diff(out, axis=1) >= 0) and out.max() <= 1.0
    assert out[0, 5] - out[0, 1] > q[0, 5] - q[0, 1]  # widened in the first bin
    with pytest.raises(ValueError, match="0.5 level"):
        cal.apply((0.1, 0.9), q[:, [1, 5]], np.array([0.1, 2.0]))


def test_factors_fade_to_one_at_the_last_observed_size():
    cal = IntervalCalibration((0.8,), (1.0,), ((3.0,), (3.0,)), (10, 10))  # full factor from log ratio 0.5 on
    q = gaussian_quantiles(np.full(4, 0.7), 0.05)
    out = cal.apply(LEVELS, q, np.array([-0.5, 0.0, 0.25, 0.5]))
    width, raw = out[:, 5] - out[:, 1], q[0, 5] - q[0, 1]
    np.testing.assert_allclose(width, [raw, raw, 2.0 * raw, 3.0 * raw])


def test_round_trips_through_a_plain_dict():
    cal = IntervalCalibration((0.5, 0.8, 0.9), (0.9, 1.9), ((1.0, 1.1, 1.2),) * 3, (4, 5, 6))
    assert IntervalCalibration.from_dict(cal.to_dict()) == cal


def test_per_bin_values_blend_between_bin_centres_without_jumps():
    edges = (np.log(2.5), np.log(7.0))
    table = np.array([[1.0], [2.0], [4.0]])
    ratio = np.linspace(0, 4, 401)
    values = across_bins(ratio, edges, table)[:, 0]
    assert np.all(np.diff(values) >= 0) and np.max(np.abs(np.diff(values))) < 0.05  # continuous, no step at edges
    centres = [edges[0] / 2, sum(edges) / 2]
    np.testing.assert_allclose(across_bins(np.array(centres), edges, table)[:, 0], [1.0, 2.0])
    assert values[0] == 1.0 and values[-1] == 4.0
    np.testing.assert_allclose(across_bins(ratio[:3], (), table), [[1.0]] * 3)

