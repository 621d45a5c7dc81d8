"""Classical curve families: recovery of known curves, weighting, and the forecaster contract for every method."""

import numpy as np
import pytest

from samplecast.forecast.average import ModelAverage
from samplecast.forecast.base import QUANTILES, NotFittedError, clone
from samplecast.forecast.methods import METHOD_NAMES, make_forecaster
from samplecast.forecast.parametric import FAMILIES, LogLinearPowerLaw, ParametricForecaster, levenberg_marquardt

SIZES = np.array([20, 40, 80, 160, 320, 640, 1280, 2000], dtype=float)
# True parameters in scaled size x = n / 2000 (the largest size), chosen to look like segmentation curves.
TRUE = {
    "pow3": (0.85, 0.06, 0.45),
    "pow4": (0.88, 0.10, 0.6, 0.03),
    "mmf4": (0.2, 0.05, 0.825, 0.9),
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


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_quantiles_are_ordered_bounded_and_reproducible(method):
    n, dice = SIZES[:4], noisy_curve("pow3")[:4]
    q = make_forecaster(method).fit(n, dice).predict_quantiles([100, 320, 1000, 5000])
    assert q.shape == (4, len(QUANTILES))
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all((q >= 0) & (q <= 1))
    again = make_forecaster(method).fit(n, dice).predict_quantiles([100, 320, 1000, 5000])
    np.testing.assert_array_equal(q, again)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_predict_before_fit_fails(method):
    with pytest.raises(NotFittedError):
        make_forecaster(method).predict_quantiles([100])


def test_bootstrap_interval_widens_beyond_the_data():
    model = ParametricForecaster("pow3").fit(SIZES[:5], noisy_curve("pow3", noise=0.01)[:5])
    q = model.predict_quantiles([SIZES[4], 16 * SIZES[4]], (0.1, 0.9))
    assert q[1, 1] - q[1, 0] > q[0, 1] - q[0, 0]


@pytest.mark.parametrize("truth, wrong", [("exp3", "pow3"), ("pow3", "exp3")])
def test_average_prefers_the_family_that_predicts_held_out_points(truth, wrong):
    members = [ParametricForecaster(f) for f in ("pow3", "pow4", "mmf4", "wbl4", "exp3")]
    model = ModelAverage(members).fit(SIZES, noisy_curve(truth, noise=0.001))
    assert model.weights_[truth] > 3 * model.weights_.get(wrong, 0.0)
    assert abs(model.holdout_errors_[truth]) < 0.005
    assert sum(model.weights_.values()) == pytest.approx(1.0)


def test_pow2_keeps_a_narrow_interval_below_dice_1_far_beyond_a_high_curve():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        model = LogLinearPowerLaw().fit([16, 32, 64, 128], [0.9, 0.95, 0.97, 0.98])
        q = model.predict_quantiles([1280, 8192])
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all(q[:, 0] > 0.95) and np.all(q <= 1.0)  # the measurement noise stays a Dice-sized noise


@pytest.mark.parametrize("family", ["pow3", "pow4", "exp3"])
def test_median_is_the_best_fit_even_with_the_asymptote_at_its_bound(family):
    n = np.array([16.0, 80, 160])
    dice = np.array([0.445, 0.641, 0.75])  # a Kvasir-SEG prefix, still rising: the best asymptote sits at Dice 1
    model = ParametricForecaster(family).fit(n, dice)
    query = np.array([160.0, 800, 3200])
    np.testing.assert_allclose(model.predict_quantiles(query, (0.5,))[:, 0], model.predict_mean(query), atol=1e-12)
    if family == "pow3":  # asymptote at its bound: refits can only fall below it, and their median is lower
        assert model.params_[0] == pytest.approx(1.0)
        assert np.all(np.median(model.predict_samples(query[1:]), axis=0) < model.predict_mean(query[1:]) - 0.002)


def test_batched_refits_match_fitting_each_replicate_alone():
    fam, x = FAMILIES["pow3"], SIZES[:5] / SIZES[4]
    rng = np.random.default_rng(0)
    y = noisy_curve("pow3")[:5] + rng.normal(0, 0.01, (6, 5))
    start = np.tile(FAMILIES["pow3"].starts[0], (6, 1))
    together, cost = levenberg_marquardt(fam, x, y, np.full(5, 0.01), start, 60)
    for row in range(6):
        alone, alone_cost = levenberg_marquardt(fam, x, y[row:row + 1], np.full(5, 0.01), start[row:row + 1], 60)
        assert cost[row] <= alone_cost[0] * (1 + 1e-6) + 1e-9
        np.testing.assert_allclose(together[row], alone[0], atol=1e-3)


def test_params_round_trip_and_clone_gives_an_unfitted_copy():
    f = ParametricForecaster("exp3", n_boot=10, random_state=4)
    assert f.get_params() == {"family": "exp3", "n_boot": 10, "noise_floor": 0.01, "random_state": 4}
    assert f.set_params(n_boot=20) is f and f.n_boot == 20
    with pytest.raises(ValueError, match="has no parameter 'boot'"):
        f.set_params(boot=1)
    fitted = f.fit(SIZES[:4], noisy_curve("exp3")[:4])
    copy = clone(fitted)
    assert copy.get_params() == f.get_params() and not hasattr(copy, "params_")
    average = ModelAverage([f, LogLinearPowerLaw()])
    twin = clone(average)
    assert twin.members[0] is not f and twin.members[0].get_params() == f.get_params()
    assert repr(twin) == "ModelAverage(members=[ParametricForecaster(family='exp3', n_boot=20, random_state=4), " \
                         "LogLinearPowerLaw()])"
