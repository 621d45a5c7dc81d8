"""The stacked ensemble: its forecaster contract, weights learned from a backtest never worse than a member, and the
interval correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.ensemble import (
    EnsembleForecaster,
    StackingWeights,
    load_stacking_weights,
    shipped_weights_path,
)
from samplecast.forecast.methods import make_forecaster
from samplecast.forecast.parametric import LogLinearPowerLaw, ParametricForecaster
from samplecast.forecast.predict import quantile_name

N = [16, 80, 160, 400]
DICE = [0.483, 0.682, 0.755, 0.802]


def backtest_table(members: dict[str, tuple[float, float]], cases: int = 40, seed: int = 0) -> pd.DataFrame:
    """A backtest-shaped table: each member forecasts truth + bias with the given noise and honest-looking spread."""
    rng = np.random.default_rng(seed)
    z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])
    rows = []
    for case in range(cases):
        truth = rng.uniform(0.6, 0.9)
        cutoff = (0.1, 0.2, 0.3, 0.5)[case % 4]
        for method, (bias, noise) in members.items():
            centre = truth + bias + rng.normal(0, noise)
            rows.append({"curve": f"c{case // 4}", "cutoff": cutoff, "method": method, "truth": truth,
                         "n_cut": 100 * cutoff, "n_final": 100.0,
                         **{quantile_name(q): centre + 0.02 * zq for q, zq in zip(QUANTILES, z)}})
    return pd.DataFrame(rows)


def median_errors(table: pd.DataFrame, weights: StackingWeights) -> dict[str, float]:
    """Mean absolute error of each member's median and of the (uncalibrated) stack's, on the table's cases."""
    from samplecast.forecast.ensemble import _cases

    values, truth, _, _ = _cases(table, weights.members)
    medians = values[:, :, QUANTILES.index(0.5)]
    out = {m: float(np.mean(np.abs(truth - medians[:, i]))) for i, m in enumerate(weights.members)}
    out["stack"] = float(np.mean(np.abs(truth - medians @ np.asarray(weights.weights))))
    return out


def test_weights_favour_the_accurate_member():
    table = backtest_table({"good": (0.0, 0.01), "biased": (0.08, 0.01), "noisy": (0.0, 0.08)})
    row = StackingWeights.fit(table, ("good", "biased", "noisy")).weights
    assert row[0] > 0.8 and abs(sum(row) - 1) < 1e-9 and min(row) >= 0


def test_stack_never_worse_than_its_best_member_on_its_corpus():
    for seed in range(3):
        table = backtest_table({"a": (0.03, 0.02), "b": (-0.03, 0.02), "c": (0.0, 0.05)}, seed=seed)
        weights = StackingWeights.fit(table, ("a", "b", "c"))
        losses = median_errors(table, weights)
        assert losses["stack"] <= min(losses["a"], losses["b"], losses["c"]) + 1e-12
        assert losses["stack"] < min(losses["a"], losses["b"]) - 1e-3  # opposite biases cancel in the mix


def test_balance_gives_a_small_source_as_much_say_as_a_large_one():
    large = backtest_table({"a": (0.0, 0.01), "b": (0.05, 0.01)}, cases=80, seed=1).assign(source="large")
    small = backtest_table({"a": (0.10, 0.01), "b": (0.0, 0.01)}, cases=8, seed=2).assign(source="small")
    small["curve"] = "small-" + small["curve"]
    table = pd.concat([large, small], ignore_index=True)
    plain = StackingWeights.fit(table, ("a", "b"))
    balanced = StackingWeights.fit(table, ("a", "b"), balance="source")
    assert plain.weights[0] > 0.8  # the large source all but decides alone
    assert balanced.weights[1] > 0.8  # each source pulls equally, and the small one's member errs half as much


def test_sources_may_reuse_curve_labels_when_balanced():
    first = backtest_table({"a": (0.0, 0.01), "b": (0.05, 0.01)}, cases=20, seed=1).assign(source="first")
    second = backtest_table({"a": (0.05, 0.01), "b": (0.0, 0.01)}, cases=20, seed=2).assign(source="second")
    relabelled = second.assign(curve="second-" + second["curve"])
    shared = StackingWeights.fit(pd.concat([first, second]), ("a", "b"), balance="source")
    unique = StackingWeights.fit(pd.concat([first, relabelled]), ("a", "b"), balance="source")
    assert shared == unique  # the same 10 cases per source, not forecasts of different curves averaged together
    with pytest.raises(InputError, match="'c0' is forecast more than once by a at cutoff 0.1; give curves unique"):
        StackingWeights.fit(pd.concat([first, second]), ("a", "b"))


def test_fit_reports_members_missing_from_the_backtest():
    table = backtest_table({"a": (0.0, 0.01)})
    with pytest.raises(InputError, match="no forecasts by lstm"):
        StackingWeights.fit(table, ("a", "lstm"))


def test_weights_round_trip_through_json(tmp_path):
    weights = StackingWeights.fit(backtest_table({"a": (0.0, 0.01), "b": (0.02, 0.01)}), ("a", "b"), source="test")
    loaded = load_stacking_weights(weights.save(tmp_path / "w.json"))
    assert loaded == weights
    with pytest.raises(InputError, match="file not found"):
        load_stacking_weights(tmp_path / "absent.json")


@pytest.fixture(scope="module")
def small_weights() -> StackingWeights:
    return StackingWeights(("pow3", "pow2"), (0.7, 0.3), SpreadCalibration(widen=0.01, floor=0.005))


def small_ensemble(weights) -> EnsembleForecaster:
    return EnsembleForecaster([ParametricForecaster("pow3"), LogLinearPowerLaw()], weights)


def test_ensemble_forecasts_valid_quantiles(small_weights):
    f = small_ensemble(small_weights).fit(N, DICE)
    q = f.predict_quantiles([400, 800, 1600, 3200])
    assert q.shape == (4, len(QUANTILES))
    assert np.all(np.diff(q, axis=1) >= 0) and np.all((q >= 0) & (q <= 1))
    assert set(f.members_) == {"pow3", "pow2"}


def test_ensemble_median_is_the_weighted_median_of_its_members(small_weights):
    f = small_ensemble(small_weights).fit(N, DICE)
    medians = [m.predict([800])[0] for m in f.members_.values()]
    assert f.predict([800])[0] == pytest.approx(0.7 * medians[0] + 0.3 * medians[1], abs=1e-12)


def test_ensemble_refuses_a_member_it_has_no_weight_for(small_weights):
    with pytest.raises(ValueError, match="no weight for exp3"):
        EnsembleForecaster([ParametricForecaster("exp3")], small_weights).fit(N, DICE)


def test_members_are_cloned_so_one_ensemble_fits_many_curves(small_weights):
    members = [ParametricForecaster("pow3"), LogLinearPowerLaw()]
    f = EnsembleForecaster(members, small_weights)
    first = f.fit(N, DICE).predict([800])
    f.fit(N, np.array(DICE) - 0.1)
    assert not hasattr(members[0], "params_") and f.predict([800])[0] < first[0] - 0.05


def test_correction_keeps_the_median_and_widens_with_distance():
    levels = np.array(QUANTILES)
    values = np.tile(0.8 + 0.02 * np.array([-1.6, -1.3, -0.7, 0, 0.7, 1.3, 1.6]), (3, 1))
    out = SpreadCalibration(widen=0.02, floor=0.01).apply(levels, values, np.log([1.0, 2.0, 8.0]))
    np.testing.assert_allclose(out[:, 3], 0.8)
    width = out[:, -1] - out[:, 0]
    assert width[0] == pytest.approx(values[0, -1] - values[0, 0] + 2 * 1.6449 * 0.01, abs=1e-4)
    assert width[0] < width[1] < width[2]


def test_correction_learns_the_spread_forecasts_lack():
    rng = np.random.default_rng(0)
    distance = rng.uniform(0, 2.5, 400)
    truth = 0.8 + rng.normal(0, 0.01 + 0.015 * distance)
    z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])
    values = 0.8 + 0.001 * z[None, :] * np.ones((400, 1))
    fitted = SpreadCalibration.fit(QUANTILES, values, truth, distance)
    assert 0.005 < fitted.floor < 0.015 and 0.01 < fitted.widen < 0.02


def test_intervals_too_wide_everywhere_are_narrowed_as_a_whole_and_keep_their_shapes():
    rng = np.random.default_rng(1)
    distance = rng.uniform(0, 2.5, 600)
    truth = 0.8 + rng.normal(0, 0.01, 600)
    z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])
    values = 0.8 + 0.016 * z[None, :] * np.ones((600, 1))  # 1.6 times the spread of the truth
    fitted = SpreadCalibration.fit(QUANTILES, values, truth, distance)
    assert 0.55 < fitted.scale < 0.8 and fitted.floor < 0.004
    out = fitted.apply(QUANTILES, values, distance)
    np.testing.assert_allclose(out[:, 3], 0.8)
    held = np.mean((truth >= out[:, 1]) & (truth <= out[:, 5]))
    assert 0.72 < held < 0.88 and np.mean((truth >= values[:, 1]) & (truth <= values[:, 5])) > 0.93
    # a rising forecast stays rising in its upper quantiles after narrowing
    n = np.geomspace(100, 3200, 30)
    median = 0.7 + 0.02 * np.log2(n / 100)
    rising = median[:, None] + 0.005 * np.log2(n / 50)[:, None] * z[None, :]
    narrowed = SpreadCalibration(widen=0.0, floor=0.0, scale=0.6).apply(QUANTILES, rising, np.log(n / 100))
    assert np.all(np.diff(narrowed[:, 4:], axis=0) >= -1e-12)
    assert SpreadCalibration(widen=0.01, floor=0.0).scale == 1.0  # files written before the scale keep their spread
    stacking = StackingWeights(("pow3", "pow2"), (0.7, 0.3), SpreadCalibration(widen=0.01, floor=0.005, scale=0.7))
    f = EnsembleForecaster([make_forecaster("pow3"), make_forecaster("pow2")], stacking).fit(N, DICE)
    alone = f.predict([800, 3200])  # the median alone: the spread is scaled about it all the same
    assert np.all(np.isfinite(alone)) and np.allclose(alone, f.predict_quantiles([800, 3200])[:, 3])


def test_shipped_ensemble_weights_load_and_forecast_the_measured_dice():
    assert shipped_weights_path().exists()
    shipped = load_stacking_weights()
    assert shipped.members == ("pow3", "pow2", "average") and shipped.calibration is not None
    f = make_forecaster("ensemble").fit(N, DICE)
    assert abs(f.predict([800])[0] - 0.829) < 0.06  # the Dice measured at 800 (data/README.md reference table)
