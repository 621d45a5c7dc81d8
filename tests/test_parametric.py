"""Classical curve families: recovery of known curves, weighting, and the forecaster contract for every method."""

import numpy as np
import pytest

from samplecast.forecast.average import ModelAverage
from samplecast.forecast.base import QUANTILES, NotFittedError
from samplecast.forecast.parametric import FAMILIES, ParametricForecaster, make_family
from samplecast.forecast.registry import METHODS, make_method

SIZES = np.array([20, 40, 80, 160, 320, 640, 1280, 2000], dtype=float)
# True parameters in scaled size x = n / 2000 (the largest size), chosen to look like segmentation curves.
TRUE = {
    "pow3": (0.85, 0.06, 0.45),
    "pow4": (0.88, 0.10, 0.6, 0.02),
    "mmf4": (0.2, 0.05, 0.86, 0.9),
    "wbl4": (12.0, 0.6, 0.84, 0.7),
    "exp3": (0.83, 0.5, 8.0),
    "log2": (0.82, 0.06),
}


def noisy_curve(family, noise=0.003, seed=0):
    rng = np.random.default_rng(seed)
    truth = FAMILIES[family].func(SIZES / SIZES[-1], np.array(TRUE[family]))
    return truth + rng.normal(0, noise, SIZES.size)


@pytest.mark.parametrize("family", sorted(TRUE))
def test_family_recovers_its_own_curve(family):
    dice = noisy_curve(family)
    model = ParametricForecaster(family, n_boot=8).fit(SIZES, dice)
    query = np.array([30, 500, 2000, 4000])
    truth = np.clip(FAMILIES[family].func(query / SIZES[-1], np.array(TRUE[family])), 0, 1)
    np.testing.assert_allclose(model.predict_mean(query), truth, atol=0.015)


@pytest.mark.parametrize("family", ["pow3", "exp3", "log2"])
def test_identifiable_families_recover_parameters(family):
    model = ParametricForecaster(family, n_boot=0).fit(SIZES, noisy_curve(family, noise=0.001))
    np.testing.assert_allclose(model.params_, TRUE[family], rtol=0.1)


def test_replicate_spread_downweights_noisy_points():
    dice = noisy_curve("pow3", noise=0.001)
    dice[2] += 0.08  # one badly measured size...
    sd = np.full(SIZES.size, 0.002)
    sd[2] = 0.1  # ...that its seeds disagree about
    unweighted = ParametricForecaster("pow3", n_boot=0).fit(SIZES, dice)
    weighted = ParametricForecaster("pow3", n_boot=0).fit(SIZES, dice, sd)
    truth = np.array(TRUE["pow3"])
    assert np.abs(weighted.params_ - truth).sum() < np.abs(unweighted.params_ - truth).sum()


@pytest.mark.parametrize("method", sorted(METHODS))
def test_quantiles_are_ordered_bounded_and_reproducible(method):
    n, dice = SIZES[:4], noisy_curve("pow3")[:4]
    q = make_method(method).fit(n, dice).predict_quantiles([100, 320, 1000, 5000])
    assert q.shape == (4, len(QUANTILES))
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all((q >= 0) & (q <= 1))
    again = make_method(method).fit(n, dice).predict_quantiles([100, 320, 1000, 5000])
    np.testing.assert_array_equal(q, again)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_predict_before_fit_fails(method):
    with pytest.raises(NotFittedError):
        make_method(method).predict_quantiles([100])


def test_bootstrap_interval_widens_beyond_the_data():
    model = make_family("pow3").fit(SIZES[:5], noisy_curve("pow3", noise=0.01)[:5])
    q = model.predict_quantiles([SIZES[4], 16 * SIZES[4]], (0.1, 0.9))
    assert q[1, 1] - q[1, 0] > q[0, 1] - q[0, 0]


@pytest.mark.parametrize("truth, wrong", [("exp3", "pow3"), ("pow3", "exp3")])
def test_average_prefers_the_family_that_predicts_held_out_points(truth, wrong):
    model = ModelAverage().fit(SIZES, noisy_curve(truth, noise=0.001))
    assert model.weights_[truth] > 3 * model.weights_.get(wrong, 0.0)
    assert abs(model.holdout_errors_[truth]) < 0.005
    assert sum(model.weights_.values()) == pytest.approx(1.0)


def test_pow2_keeps_a_narrow_interval_below_dice_1_far_beyond_a_high_curve():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        model = make_family("pow2").fit([16, 32, 64, 128], [0.9, 0.95, 0.97, 0.98])
        q = model.predict_quantiles([1280, 8192])
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all(q[:, 0] > 0.95) and np.all(q <= 1.0)  # the measurement noise stays a Dice-sized noise
