"""The LSTM surrogate: shipped weights load and forecast valid quantiles; training lowers the loss; files round-trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, NotFittedError
from samplecast.forecast.prior import sample_prior
from samplecast.forecast.surrogate import (
    LSTMForecaster, SurrogateConfig, TrainingConfig, calibrate_surrogate, evaluate_loss, load_surrogate,
    new_surrogate, save_surrogate, shipped_weights, train_on_curves, train_surrogate,
)

KVASIR_N = np.array([16.0, 80, 160, 400, 800])
KVASIR_DICE = np.array([0.483, 0.682, 0.755, 0.802, 0.829])


@pytest.fixture(scope="module")
def tiny():
    """A small surrogate trained for a few seconds: enough to learn that curves rise."""
    bank = sample_prior(1500, seed=11)
    model, history = train_surrogate(bank, settings=TrainingConfig(epochs=3, batch_size=128, lr=1e-2, threads=1),
                                     config=SurrogateConfig(hidden=16, head_width=16))
    return model, history


def test_shipped_weights_load_with_their_description():
    assert shipped_weights().exists() and shipped_weights().with_suffix(".json").exists()
    model = load_surrogate()
    meta = json.loads(shipped_weights().with_suffix(".json").read_text())
    assert model.levels == tuple(meta["architecture"]["levels"])
    assert "prior" in meta["training"]["corpus"]
    torch.load(shipped_weights(), weights_only=True)  # plain tensors, safe to load


def test_shipped_model_forecasts_ordered_quantiles_in_unit_interval():
    f = LSTMForecaster().fit(KVASIR_N[:3], KVASIR_DICE[:3])
    sizes = [100, 160, 400, 800, 5000]
    q = f.predict_quantiles(sizes)
    assert q.shape == (len(sizes), len(QUANTILES))
    assert np.all(np.diff(q, axis=1) >= 0) and np.all((q >= 0) & (q <= 1))
    assert np.all(np.diff(q[1:, 3]) >= -0.005)  # the median keeps rising (or levels off) with more data
    assert abs(q[2, 3] - KVASIR_DICE[3]) < 0.06  # a sensible forecast of the Kvasir-SEG depth-5 curve


def test_forecasts_are_deterministic_and_repeatable():
    a = LSTMForecaster().fit(KVASIR_N[:4], KVASIR_DICE[:4]).predict_quantiles([800, 1600])
    b = LSTMForecaster().fit(KVASIR_N[:4], KVASIR_DICE[:4]).predict_quantiles([800, 1600])
    np.testing.assert_array_equal(a, b)


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


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        LSTMForecaster().predict_quantiles([100])


def test_a_short_training_run_lowers_the_loss(tiny):
    model, history = tiny
    validation = sample_prior(500, seed=99)
    untrained = new_surrogate(SurrogateConfig(hidden=16, head_width=16), seed=0)
    assert evaluate_loss(model, validation) < 0.5 * evaluate_loss(untrained, validation)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_training_is_reproducible():
    bank = sample_prior(200, seed=5)
    settings = TrainingConfig(epochs=1, batch_size=64, threads=1, seed=3)
    config = SurrogateConfig(hidden=8, head_width=8)
    a, _ = train_surrogate(bank, settings=settings, config=config)
    b, _ = train_surrogate(bank, settings=settings, config=config)
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        torch.testing.assert_close(pa, pb)


def test_save_and_load_round_trip(tiny, tmp_path):
    model, _ = tiny
    path = save_surrogate(model, tmp_path / "model.pt")
    loaded = load_surrogate(path)
    n, dice = KVASIR_N[:3], KVASIR_DICE[:3]
    np.testing.assert_allclose(loaded.quantiles(n, dice, KVASIR_N[3:]), model.quantiles(n, dice, KVASIR_N[3:]))
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["architecture"]["hidden"] == 16 and meta["training"]["epochs"] == 3


def test_loading_reports_missing_and_broken_files(tmp_path):
    with pytest.raises(InputError) as missing:
        load_surrogate(tmp_path / "absent.pt")
    assert any("absent.pt: file not found" in p for p in missing.value.problems)
    assert any("absent.json: file not found" in p for p in missing.value.problems)
    (tmp_path / "bad.pt").write_bytes(b"not weights")
    (tmp_path / "bad.json").write_text(json.dumps(new_surrogate().describe()))
    with pytest.raises(InputError, match="bad.pt: weights do not load"):
        load_surrogate(tmp_path / "bad.pt")
    (tmp_path / "worse.pt").write_bytes(b"")
    (tmp_path / "worse.json").write_text("{")
    with pytest.raises(InputError, match="worse.json: not a surrogate description"):
        load_surrogate(tmp_path / "worse.pt")


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
    assert sum(calibrated.describe()["calibration"]["counts"]) == 30 * (4 + 3 + 2 + 1)  # every prefix, every later size

def test_fine_tuning_on_user_curves_mixes_in_the_prior(tiny):
    model, _ = tiny
    user = [Curve({"seed": i}, [10, 20, 40, 80], [0.4, 0.5 + 0.01 * i, 0.6, 0.65]) for i in range(4)]
    tuned = train_on_curves(user, start=model, prior_curves=300,
                            settings=TrainingConfig(epochs=1, batch_size=64, threads=1))
    assert tuned.training["corpus"] == "4 user curves + prior: 300 synthetic curves"
    assert tuned.training["fine_tuned_from"] is not None
    assert not torch.equal(next(tuned.net.parameters()), next(model.net.parameters()))
    with pytest.raises(InputError, match="none has more than 2 sizes"):
        train_on_curves([Curve({}, [10, 20], [0.4, 0.5])], start=None, prior_curves=0)
