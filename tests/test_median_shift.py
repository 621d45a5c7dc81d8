"""The median shift keeps a forecast's shapes, lifts no flat curve, is learned on held-out forecasts and is read back
from disk as written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from samplecast.forecast.shift import PLATEAU_GAIN, MedianShift, recent_gain
from samplecast.forecast.surrogate import (
    LSTMForecaster, SurrogateConfig, learn_shift, load_surrogate, new_surrogate, save_surrogate,
)

FLAT_N, FLAT_DICE = np.array([25.0, 50, 100, 200]), np.array([0.300, 0.302, 0.301, 0.303])
AHEAD = np.exp(np.linspace(0.0, np.log(64.0), 97))  # n_query / n_last, evenly spaced in log n


def random_shift(rng: np.random.Generator) -> MedianShift:
    """A shift with parameters anywhere in (and beyond) the ranges :meth:`MedianShift.fit` tries."""
    return MedianShift(rise=rng.uniform(0, 0.5), scale=rng.uniform(0.1, 8), full_gain=rng.uniform(1e-3, 0.05),
                       plateau=rng.uniform(0, 0.03))


def random_prefix(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An observed curve: rising, flat, jagged or falling, 3-8 sizes."""
    size = int(rng.integers(3, 9))
    n = np.round(rng.uniform(5, 30) * 2.0 ** np.cumsum(rng.uniform(0.3, 1.2, size)))
    dice = np.clip(rng.uniform(0.2, 0.9) + rng.uniform(-0.02, 0.08) * np.log2(n / n[0])
                   + rng.normal(0, rng.uniform(0, 0.03), size), 0.01, 0.99)
    return n, dice


@pytest.mark.parametrize("seed", range(40))
def test_the_offset_is_zero_at_the_data_rising_and_concave_in_log_n(seed):
    rng = np.random.default_rng(seed)
    shift, (n, dice) = random_shift(rng), random_prefix(rng)
    offset = shift.offset(n, dice, np.log(AHEAD))
    assert offset[0] == 0 and (offset >= 0).all()
    assert (np.diff(offset) >= -1e-12).all()
    assert (np.diff(offset, 2) <= 1e-12).all()  # evenly spaced in log n: gains per step never grow
    assert offset[-1] <= shift.rise * (1 - dice[-1]) + 1e-12


@pytest.mark.parametrize("seed", range(12))
def test_a_shifted_surrogate_keeps_the_forecast_shapes(seed):
    rng = np.random.default_rng(seed)
    model = load_surrogate().with_shift(random_shift(rng))
    n, dice = random_prefix(rng)
    q = LSTMForecaster(model).fit(n, dice).predict_quantiles(n[-1] * AHEAD)
    median, upper = q[:, 3], q[:, 4:]
    assert (np.diff(median) >= -1e-9).all()
    assert (np.diff(median, 2) <= 1e-9).all()  # gain per step in log n never grows beyond the data
    assert (np.diff(upper, axis=0) >= -1e-9).all()
    assert (np.diff(q, axis=1) >= 0).all() and ((q >= 0) & (q <= 1)).all()
    assert np.abs(np.diff(q, axis=0)).max() < 0.05  # continuous: small steps in n, small steps in Dice


def test_the_pace_is_one_for_a_forecast_that_gains_no_more_than_the_curve():
    shift, doublings = MedianShift(), np.linspace(0, 1, 33)
    steep_n, steep_dice = np.array([10.0, 20, 40]), np.array([0.5, 0.6, 0.7])  # 0.1 per doubling
    assert shift.pace(steep_n, steep_dice, doublings, 0.7 + 0.05 * doublings) == 1.0
    assert shift.pace(FLAT_N, FLAT_DICE, doublings, 0.3 + 0.04 * doublings) == pytest.approx(0.25)


@pytest.mark.parametrize("shift", [MedianShift(), MedianShift(rise=0.3, scale=0.25, full_gain=0.001)])
def test_a_flat_prefix_gains_at_most_the_plateau_gain_over_its_first_doubling(shift):
    assert recent_gain(FLAT_N, FLAT_DICE) < PLATEAU_GAIN
    model = load_surrogate().with_shift(shift)
    at_last, first_doubling = model.shifted_quantiles(FLAT_N, FLAT_DICE, np.array([200.0, 400.0]))[:, 7]
    assert first_doubling - at_last <= PLATEAU_GAIN + 1e-6


def test_the_shipped_forecaster_does_not_forecast_a_flat_curve_to_jump():
    q = LSTMForecaster().fit(FLAT_N, FLAT_DICE).predict_quantiles([400.0, 800.0])
    # the network reads the flat curve a little below its last point, hence the small allowance
    assert q[0, 3] - FLAT_DICE[-1] <= PLATEAU_GAIN + 0.003
    assert q[1, 3] - FLAT_DICE[-1] <= 2 * PLATEAU_GAIN + 0.003


def test_fit_finds_the_rise_that_removes_a_known_bias():
    rng = np.random.default_rng(0)
    size = 400
    log_ratio, headroom, gain = rng.uniform(0, 3, size), rng.uniform(0.1, 0.5, size), rng.uniform(0.02, 0.06, size)
    truth = rng.uniform(0.5, 0.9, size)
    true = MedianShift(rise=0.12, scale=2.0, full_gain=0.01)
    medians = truth - 0.12 * headroom * true.share(gain) * true.growth(log_ratio)
    fitted = MedianShift.fit(medians, truth, log_ratio, headroom, gain)
    assert (fitted.rise, fitted.scale) == (0.12, 2.0) and fitted.counts == size


def test_learned_on_curves_the_shift_lifts_a_curve_the_network_flattens_too_early(tmp_path):
    from samplecast.curves import Curve

    n = np.array([15.0, 30, 60, 120, 240, 480, 960])
    rising = [Curve({"seed": s}, n, 0.35 + (0.07 + 0.005 * s) * np.log2(n / 15), np.zeros(7), np.ones(7, int))
              for s in range(3)]
    shift = learn_shift(load_surrogate(), rising)
    assert shift.rise > 0 and shift.counts > 0


def test_a_learned_shift_is_read_back_from_disk_identically(tmp_path):
    shift = MedianShift(rise=0.14, scale=2.0, full_gain=0.0025, counts=1713)
    model = new_surrogate(SurrogateConfig(hidden=8, head_width=8), seed=1).with_shift(shift)
    path = save_surrogate(model, tmp_path / "model.npz")
    loaded = load_surrogate(path)
    assert loaded.shift == shift
    np.testing.assert_array_equal(loaded.quantiles(FLAT_N, FLAT_DICE, np.array([400.0, 800.0])),
                                  model.quantiles(FLAT_N, FLAT_DICE, np.array([400.0, 800.0])))
    assert json.loads(path.with_suffix(".json").read_text())["median_shift"]["rise"] == 0.14


def test_a_file_of_the_previous_format_is_read_without_a_shift(tmp_path):
    model = new_surrogate(SurrogateConfig(hidden=8, head_width=8), seed=1)
    path = save_surrogate(model, tmp_path / "model.npz")
    meta = json.loads(path.with_suffix(".json").read_text())
    meta = {**{k: v for k, v in meta.items() if k != "median_shift"}, "format": "samplecast-surrogate/3"}
    path.with_suffix(".json").write_text(json.dumps(meta))
    assert load_surrogate(path).shift is None


@pytest.mark.parametrize("field, value", [("rise", -0.1), ("scale", 0), ("full_gain", "x"), ("counts", 1.5)])
def test_a_broken_shift_is_blamed_by_its_field(tmp_path, field, value):
    from samplecast.errors import InputError

    model = new_surrogate(SurrogateConfig(hidden=8, head_width=8), seed=1).with_shift(MedianShift(rise=0.1))
    path = save_surrogate(model, tmp_path / "model.npz")
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["median_shift"][field] = value
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=f"median_shift.{field}"):
        load_surrogate(path)
