"""The backtest's data-needed metric and cross-conformal re-scoring, by which the ensemble and members are judged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from samplecast.curves import Curve
from samplecast.forecast.backtest import backtest, conformalize, data_needed, summarize
from samplecast.forecast.base import QUANTILES
from samplecast.forecast.parametric import LastValue, ParametricForecaster
from samplecast.forecast.predict import quantile_name

N = np.array([20.0, 40, 80, 160, 320, 640])
DICE = 0.85 - 0.6 * N ** -0.5  # an exact pow3 curve


def test_an_exact_model_needs_exactly_the_data_that_was_used():
    model = ParametricForecaster("pow3").fit(N[:4], DICE[:4])
    assert data_needed(model, N[3], N[-1], DICE[-1]) == pytest.approx(N[-1], rel=0.2)


def test_a_flat_forecast_never_reaches_a_higher_dice_and_a_lower_target_is_met_at_once():
    model = LastValue().fit(N[:4], DICE[:4])
    assert data_needed(model, N[3], N[-1], DICE[-1]) == float("inf")
    assert data_needed(model, N[3], N[-1], DICE[2]) == N[3]


def test_backtest_reports_the_ratio_and_summary_its_median_and_share_within_2x():
    curves = [Curve({"seed": 0}, N, DICE)]
    results = backtest(curves, (ParametricForecaster("pow3"), LastValue()), (0.3,))
    ratios = dict(zip(results["method"], results["needed_ratio"]))
    assert ratios["pow3"] == pytest.approx(1.0, abs=0.2) and ratios["last1"] == float("inf")
    summary = summarize(results).set_index("method")
    assert summary.loc["pow3", "needed_within2x"] == 1.0 and summary.loc["last1", "needed_within2x"] == 0.0


def overconfident_results(datasets: int = 4, cases: int = 150, seed: int = 0) -> pd.DataFrame:
    """Backtest-shaped rows of one method whose intervals claim sd 0.01 while its errors have sd 0.04."""
    rng = np.random.default_rng(seed)
    z = stats.norm.ppf(QUANTILES)
    rows = []
    for d in range(datasets):
        for i in range(cases):
            truth = rng.uniform(0.6, 0.9)
            centre = truth + rng.normal(0, 0.04)
            rows.append({"dataset": f"d{d}", "curve": f"d{d}-{i}", "method": "m", "cutoff": 0.2, "truth": truth,
                         "n_cut": 100.0, "n_final": 500.0, "needed_ratio": 1.0,
                         **{quantile_name(q): centre + 0.01 * zq for q, zq in zip(QUANTILES, z)},
                         "error": centre - truth})
    return pd.DataFrame(rows)


def test_conformalize_restores_coverage_without_calibrating_a_dataset_on_itself():
    results = overconfident_results()
    calibrated = conformalize(results)
    assert set(calibrated["method"]) == {"m+conformal"} and len(calibrated) == len(results)
    raw_cover = np.mean([(r.q10 <= r.truth <= r.q90) for r in results.itertuples()])
    assert raw_cover < 0.3
    assert abs(calibrated["in80"].mean() - 0.8) < 0.05 and abs(calibrated["in90"].mean() - 0.9) < 0.05
    np.testing.assert_allclose(calibrated["q50"], results["q50"])  # the median, and so MAE, is unchanged


def test_conformalize_leaves_out_a_group_with_nothing_else_to_learn_from():
    assert conformalize(overconfident_results(datasets=1)).empty
    assert len(conformalize(overconfident_results(datasets=1, cases=20), group="curve")) == 20
