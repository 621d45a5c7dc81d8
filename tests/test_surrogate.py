"""The LSTM surrogate: the shipped weights forecast as recorded; any weights give curves of the shapes a planner relies
on; training under Lightning lowers the loss; long curves are thinned before training; the estimator follows the
interface."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, NotFittedError, clone
from samplecast.forecast.prior import sample_prior
from samplecast.forecast.surrogate import (
    MAX_CURVE_POINTS, LSTMForecaster, Surrogate, SurrogateConfig, SurrogateNet, TrainingConfig, calibrate_surrogate,
    encode_points, evaluate_loss, load_surrogate, mixed_corpus, new_surrogate, save_surrogate, shipped_weights,
    thin_curve, train_on_curves, train_surrogate,
)
from samplecast.forecast.surrogate.forward import forward

KVASIR_N = np.array([16.0, 80, 160, 400, 800])
KVASIR_DICE = np.array([0.483, 0.682, 0.755, 0.802, 0.829])
TINY = SurrogateConfig(hidden=16, head_width=16)

#: Quantiles (QUANTILES levels) of the shipped weights, recorded when they were trained: (observed sizes, observed
#: Dice, query sizes, one row per query size). Rebuilding the shipped surrogate changes them; record them again then.
SHIPPED_FORECASTS = [
    ([16, 80, 160], [0.483, 0.682, 0.755], [100, 400, 5000], [
        [0.691224018, 0.697103689, 0.702251204, 0.706213846, 0.709840829, 0.713114727, 0.714524186],
        [0.779438150, 0.787430696, 0.802217287, 0.817341520, 0.832986688, 0.845860001, 0.854185314],
        [0.816306805, 0.827211601, 0.851347399, 0.880632218, 0.910917608, 0.933872240, 0.947363817]]),
    ([20, 100], [0.5, 0.7], [1000], [
        [0.757636781, 0.768498520, 0.792357349, 0.821984767, 0.854543995, 0.879276744, 0.894360779]]),
    ([10, 20, 40, 80, 160, 320], [0.31, 0.42, 0.55, 0.61, 0.66, 0.69], [640, 10000], [
        [0.698877662, 0.704650200, 0.711688302, 0.719624682, 0.728788669, 0.739841417, 0.748288317],
        [0.731267790, 0.738801146, 0.751717056, 0.770954263, 0.795587336, 0.829047144, 0.853367478]]),
]

#: The network's own quantiles (its 15 trained levels, before calibration) from the same recording: they depend on the
#: weights alone, so they hold however the intervals are recalibrated.
SHIPPED_RAW = [
    ([20, 100], [0.5, 0.7], [1000], [
        [0.691142049, 0.713357447, 0.726122159, 0.745351550, 0.755607634, 0.764028549, 0.780628019, 0.792823175,
         0.809832030, 0.825449508, 0.834227015, 0.841014101, 0.864960947, 0.883757510, 0.905381203]]),
    ([50, 100, 200, 400], [0.85, 0.86, 0.868, 0.87], [800, 3200], [
        [0.853308155, 0.855942352, 0.860741019, 0.865169580, 0.865668562, 0.866157417, 0.868059787, 0.869578831,
         0.870587529, 0.871621872, 0.872672668, 0.873751691, 0.878603305, 0.883161821, 0.889159443],
        [0.853395876, 0.856092837, 0.860926247, 0.865427066, 0.866008040, 0.866672208, 0.868750242, 0.870510306,
         0.871895241, 0.873599222, 0.874976425, 0.876226409, 0.889020630, 0.900415623, 0.912720304]]),
]


@pytest.fixture(scope="module")
def tiny():
    """A small surrogate trained for a few seconds: enough to learn that curves rise."""
    bank = sample_prior(1500, seed=11)
    model, history = train_surrogate(bank, settings=TrainingConfig(epochs=3, batch_size=128, lr=1e-2, threads=1),
                                     config=TINY)
    return model, history


@pytest.mark.parametrize("n, dice, at, expected", SHIPPED_FORECASTS)
def test_shipped_model_forecasts_exactly_as_recorded(n, dice, at, expected):
    np.testing.assert_allclose(LSTMForecaster().fit(n, dice).predict_quantiles(at), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("n, dice, at, expected", SHIPPED_RAW)
def test_shipped_network_computes_exactly_as_recorded(n, dice, at, expected):
    raw = load_surrogate().raw_quantiles(np.array(n, float), np.array(dice, float), np.array(at, float))
    np.testing.assert_allclose(raw, expected, atol=1e-6, rtol=0)


def test_shipped_weights_load_with_their_description():
    assert shipped_weights().exists() and shipped_weights().with_suffix(".json").exists()
    model = load_surrogate()
    meta = json.loads(shipped_weights().with_suffix(".json").read_text())
    assert model.levels == tuple(meta["architecture"]["levels"])
    assert "prior" in meta["training"]["corpus"] and model.calibration is not None and model.shift is not None
    with np.load(shipped_weights(), allow_pickle=False) as arrays:  # plain arrays, safe to load
        assert sorted(arrays.files) == sorted(model.config.weight_shapes())


def test_shipped_model_forecasts_ordered_quantiles_in_unit_interval():
    f = LSTMForecaster().fit(KVASIR_N[:3], KVASIR_DICE[:3])
    sizes = [100, 160, 400, 800, 5000]
    q = f.predict_quantiles(sizes)
    assert q.shape == (len(sizes), len(QUANTILES))
    assert np.all(np.diff(q, axis=1) >= 0) and np.all((q >= 0) & (q <= 1))
    assert np.all(np.diff(q[1:, 3]) >= -0.005)  # the median keeps rising (or levels off) with more data
    assert abs(q[2, 3] - KVASIR_DICE[3]) < 0.06  # a sensible forecast of the Kvasir-SEG depth-5 curve


def test_any_quantile_levels_interpolate_between_the_trained_ones():
    f = LSTMForecaster().fit(KVASIR_N[:3], KVASIR_DICE[:3])
    levels = (0.01, 0.05, 0.33, 0.5, 0.67, 0.95, 0.99)
    q = f.predict_quantiles([800], levels)[0]
    assert np.all(np.diff(q) >= 0)
    np.testing.assert_allclose(q[[1, 3, 5]], f.predict_quantiles([800], (0.05, 0.5, 0.95))[0])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        f.predict_quantiles([800], (0.0, 0.5))


def test_forecasts_from_two_points_but_not_one():
    q = LSTMForecaster().fit([20, 100], [0.5, 0.7]).predict_quantiles([1000])
    assert q.shape == (1, 7)
    with pytest.raises(InputError, match="at least 2"):
        LSTMForecaster().fit([20], [0.5])


def test_estimator_keeps_its_parameter_and_learns_state_on_fit(tiny):
    model, _ = tiny
    f = LSTMForecaster(model)
    assert f.name == "lstm" and vars(f) == {"surrogate": model}  # __init__ only stores its parameter
    assert f.get_params() == {"surrogate": model}
    with pytest.raises(NotFittedError):
        f.predict_quantiles([100])
    assert f.fit(KVASIR_N[:3], KVASIR_DICE[:3]) is f and f.model_ is model
    assert isinstance(LSTMForecaster().fit(KVASIR_N[:3], KVASIR_DICE[:3]).model_, Surrogate)  # None: shipped


@pytest.mark.parametrize("surrogate", ["tiny", "path", None], ids=["object", "path", "shipped"])
def test_clone_is_unfitted_with_the_same_surrogate_and_forecasts_alike(tiny, tmp_path, surrogate):
    if surrogate == "tiny":
        surrogate = tiny[0]
    elif surrogate == "path":
        surrogate = save_surrogate(tiny[0], tmp_path / "tiny.npz")
    fitted = LSTMForecaster(surrogate).fit(KVASIR_N[:3], KVASIR_DICE[:3])
    copy = clone(fitted)
    assert type(copy) is LSTMForecaster and copy.get_params() == {"surrogate": surrogate}
    assert not hasattr(copy, "model_") and not hasattr(copy, "n_")
    np.testing.assert_array_equal(copy.fit(KVASIR_N[:3], KVASIR_DICE[:3]).predict_quantiles([800, 1600]),
                                  fitted.predict_quantiles([800, 1600]))


def test_a_short_training_run_lowers_the_loss(tiny):
    model, history = tiny
    validation = sample_prior(500, seed=99)
    untrained = new_surrogate(TINY, seed=0)
    assert evaluate_loss(model, validation) < 0.5 * evaluate_loss(untrained, validation)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_progress_reports_each_epoch_with_its_validation_loss():
    bank, validation = sample_prior(300, seed=5), sample_prior(200, seed=6)
    calls = []
    model, history = train_surrogate(bank, settings=TrainingConfig(epochs=2, batch_size=64), config=TINY,
                                     validation=validation, progress=lambda *args: calls.append(args))
    assert [c[:2] for c in calls] == [(1, 2), (2, 2)]
    assert [c[2] for c in calls] == [h["train_loss"] for h in history]
    assert calls[-1][3] == pytest.approx(evaluate_loss(model, validation), rel=1e-6)
    assert model.training["final_validation_loss"] == calls[-1][3]


def test_training_is_reproducible_and_leaves_the_start_model_alone():
    bank = sample_prior(200, seed=5)
    settings = TrainingConfig(epochs=1, batch_size=64, threads=1, seed=3)
    a, _ = train_surrogate(bank, settings=settings, config=TINY)
    b, _ = train_surrogate(bank, settings=settings, config=TINY)
    for name, array in a.weights.items():
        np.testing.assert_array_equal(array, b.weights[name])
    before = {name: array.copy() for name, array in a.weights.items()}
    tuned, _ = train_surrogate(bank, settings=settings, start=a)
    assert all(np.array_equal(array, a.weights[name]) for name, array in before.items())
    assert not np.array_equal(tuned.weights["lstm.weight_ih_l0"], before["lstm.weight_ih_l0"])


@pytest.mark.parametrize("setting, value", [("lr", float("nan")), ("lr", float("inf")), ("lr", 0.0),
                                            ("weight_decay", float("nan")), ("epochs", 0), ("batch_size", 2.5)])
def test_training_settings_name_the_one_out_of_range(setting, value):
    with pytest.raises(InputError, match=f"training setting {setting} must be"):
        TrainingConfig(**{setting: value})


def test_long_curves_are_thinned_evenly_in_log_size():
    n = np.arange(1, 200_001, dtype=float)
    curve = Curve({"seed": 0}, n, 0.9 - 0.5 / np.sqrt(n))
    thin = thin_curve(curve)
    assert len(thin.n) <= MAX_CURVE_POINTS and len(thin.n) >= MAX_CURVE_POINTS - 8
    assert thin.n[0] == 1 and thin.n[-1] == 200_000 and np.all(np.diff(thin.n) > 0)
    np.testing.assert_array_equal(thin.dice, curve.dice[thin.n.astype(int) - 1])
    assert np.ptp(np.diff(np.log(thin.n[-10:]))) < 0.01  # evenly spaced in log n where sizes are dense
    short = Curve({"seed": 1}, KVASIR_N, KVASIR_DICE)
    assert thin_curve(short) is short


def test_a_very_long_curve_is_forecast_from_its_thinned_sizes():
    n = np.arange(1, 20_001, dtype=float)
    curve = Curve({"seed": 0}, n, 0.9 - 0.5 / np.sqrt(n))
    thin = thin_curve(curve)
    np.testing.assert_array_equal(LSTMForecaster().fit(n, curve.dice).predict_quantiles([40_000]),
                                  LSTMForecaster().fit(thin.n, thin.dice).predict_quantiles([40_000]))


def test_a_corpus_with_a_very_long_curve_stays_small():
    n = np.arange(1, 200_001, dtype=float)
    bank, described = mixed_corpus([Curve({"seed": 0}, n, 0.9 - 0.5 / np.sqrt(n))], prior_curves=100, seed=0)
    assert bank.n.shape[1] <= MAX_CURVE_POINTS and described == "1 user curves + prior: 100 synthetic curves"


def test_calibration_is_stored_and_widens_overconfident_intervals(tiny):
    model, _ = tiny
    rng = np.random.default_rng(0)
    # real-looking curves with far more noise than the tiny model expects: its raw intervals undercover
    n = np.array([10.0, 20, 40, 80, 160, 320])
    curves = [Curve({"seed": i}, n, np.clip(0.8 - 0.4 * n ** -0.5 + rng.normal(0, 0.2, n.size), 0, 1))
              for i in range(30)]
    calibrated = model.with_calibration(calibrate_surrogate(model, curves))
    raw = model.quantiles(n[:3], curves[0].dice[:3], n[3:], (0.1, 0.9))
    wide = calibrated.quantiles(n[:3], curves[0].dice[:3], n[3:], (0.1, 0.9))
    assert np.all(wide[:, 1] - wide[:, 0] > raw[:, 1] - raw[:, 0])
    assert calibrated.describe()["calibration"]["counts"] == 30 * (4 + 3 + 2 + 1)  # every prefix, every later size


def test_fine_tuning_on_user_curves_mixes_in_the_prior(tiny):
    model, _ = tiny
    user = [Curve({"seed": i}, [10, 20, 40, 80], [0.4, 0.5 + 0.01 * i, 0.6, 0.65]) for i in range(4)]
    tuned = train_on_curves(user, start=model, prior_curves=300,
                            settings=TrainingConfig(epochs=1, batch_size=64, threads=1))
    assert tuned.training["corpus"] == "4 user curves + prior: 300 synthetic curves"
    assert tuned.training["fine_tuned_from"] is not None
    assert not np.array_equal(tuned.weights["lstm.weight_ih_l0"], model.weights["lstm.weight_ih_l0"])
    with pytest.raises(InputError, match="none has more than 2 sizes"):
        train_on_curves([Curve({}, [10, 20], [0.4, 0.5])], start=None, prior_curves=0)


def test_a_diverging_run_stops_and_says_to_lower_the_learning_rate():
    calls = []
    expected = r"training diverged: .* in epoch 2; lower the training setting lr \(was 1e\+06\)"
    with pytest.raises(InputError, match=expected):
        train_surrogate(sample_prior(300, seed=1), settings=TrainingConfig(epochs=6, batch_size=64, lr=1e6),
                        config=TINY, progress=lambda *args: calls.append(args))
    assert len(calls) == 2  # stopped at the first epoch whose loss was not finite


@pytest.mark.parametrize("seed", range(5))
def test_any_weights_give_rising_flattening_ordered_curves_below_one(seed):
    """The head's shapes hold by construction: for random weights and curves, every level rises, gains less with
    every doubling beyond the last size, stays at most 1, and no level crosses another; below the last size it holds
    its value there."""
    net, features, last, query = _random_network_and_curves(seed)
    with torch.no_grad():
        q = net(torch.from_numpy(features), torch.full((8,), 5), torch.from_numpy(last), query).double()
    assert torch.all(q <= 1.0)
    assert torch.all(torch.diff(q, dim=-1) >= -1e-6), "levels cross"
    behind = q[:, query[0] <= 0]
    assert torch.equal(behind, behind[:, :1].expand_as(behind)), "below the last size a level is not its value there"
    assert torch.all(torch.diff(q, dim=1) >= -1e-6), "a level falls"
    ahead = q[:, query[0] >= 0]
    assert torch.all(torch.diff(ahead, n=2, dim=1) <= 1e-6), "a level speeds up beyond the last size"


def _random_network_and_curves(seed: int) -> tuple[SurrogateNet, np.ndarray, np.ndarray, torch.Tensor]:
    """A network with large random weights (far from a trained one: large, arbitrary outputs) and 8 random curves of
    5 points, with queries from 1/20 of the last size to 3000 times it."""
    torch.manual_seed(seed)
    net = SurrogateNet(TINY)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=2.0)
    rng = np.random.default_rng(seed)
    n = np.sort(rng.uniform(5, 500, (8, 5)), axis=1)
    features, last = encode_points(n, rng.uniform(0, 1, (8, 5)), np.full(8, 5))
    return net, features, last, torch.linspace(-3, 8, 221).repeat(8, 1)


@pytest.mark.parametrize("seed", range(3))
def test_forecasts_run_the_network_in_numpy_exactly_as_torch_does(seed):
    net, features, last, query = _random_network_and_curves(seed)
    lengths = np.array([5, 4, 3, 2, 5, 5, 3, 2])  # padded curves: the state after each one's last point is read
    weights = net.weights()
    with torch.no_grad():  # in double precision, so that only a different computation could tell them apart
        expected = net.double()(torch.from_numpy(features).double(), torch.from_numpy(lengths),
                                torch.from_numpy(last).double(), query.double()).numpy()
    computed = forward(weights, TINY, features, lengths, last, query.numpy())
    np.testing.assert_allclose(computed, expected, atol=1e-9, rtol=0)
    shipped = load_surrogate()
    n, dice, at = np.array([10.0, 20, 40, 80]), np.array([0.31, 0.42, 0.55, 0.61]), np.array([100.0, 640, 10000])
    points, final = encode_points(n[None], dice[None], np.array([len(n)]))
    with torch.no_grad():
        expected = shipped.network()(torch.from_numpy(points), torch.tensor([len(n)]), torch.from_numpy(final),
                                     torch.from_numpy(np.log(at / n[-1]).astype(np.float32))[None])[0].numpy()
    np.testing.assert_allclose(shipped.raw_quantiles(n, dice, at), expected, atol=2e-6, rtol=0)


def test_below_the_last_size_the_forecast_follows_the_observed_curve():
    n, dice = np.array([10.0, 20, 40, 80]), np.array([0.40, 0.55, 0.52, 0.70])
    forecaster = LSTMForecaster().fit(n, dice)
    at_last = forecaster.predict_quantiles([80.0])[0]
    below = forecaster.predict_quantiles([5.0, 10, 20, 40, 80])
    shift = below[:, 3] - [0.40, 0.40, 0.55, 0.55, 0.70]  # the running best of the measurements, moved as one
    np.testing.assert_allclose(shift, shift[-1], atol=1e-12)
    np.testing.assert_allclose(below[-1], at_last)
    np.testing.assert_allclose(below - below[:, [3]], np.tile(at_last - at_last[3], (5, 1)), atol=1e-12)
