"""The backtest's data-needed metric, by which the ensemble and members are judged."""

from __future__ import annotations

import numpy as np
import pytest

from samplecast.curves import Curve
from samplecast.forecast.evaluate import backtest, data_needed, summarize
from samplecast.forecast.parametric import LastValue, ParametricForecaster

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


def test_summary_widths_are_the_mean_spreads_between_the_interval_quantiles_and_the_90_interval_is_the_wider():
    curves = [Curve({"seed": s}, N, DICE + 0.01 * s) for s in range(2)]
    results = backtest(curves, (ParametricForecaster("pow3"),), (0.3, 0.5))
    summary = summarize(results).set_index("cutoff")
    for cutoff, rows in results.groupby("cutoff"):
        assert summary.loc[cutoff, "width80"] == pytest.approx(np.mean(rows["q90"] - rows["q10"]))
        assert summary.loc[cutoff, "width90"] == pytest.approx(np.mean(rows["q95"] - rows["q05"]))
        assert summary.loc[cutoff, "width90"] > summary.loc[cutoff, "width80"]
