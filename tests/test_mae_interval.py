"""How precisely a backtest measures its MAE: a bootstrap over configurations (a curve's seeds drawn together), kept in
the backtest summary beside the pooled MAE and said in the report's trust sentence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from samplecast.curves import Curve
from samplecast.forecast.evaluate import BacktestSummary, backtest, summarize_backtest
from samplecast.forecast.evaluate.forecasts import configuration_interval, mae_intervals
from samplecast.forecast.methods import make_forecaster
from samplecast.plan.trust_sentences import trust_summary


def power_curve(depth: int, a: float) -> Curve:
    n = np.array([10.0, 20, 40, 80, 160, 320])
    return Curve({"dataset": "toy", "model": "resunet", "depth": depth, "seed": 0}, n, a - 1.2 * n**-0.5)


def rows_of(errors: dict[int, list[float]]) -> pd.DataFrame:
    """Backtest-like rows: one configuration per depth, one row per seed with the given error."""
    return pd.DataFrame([{"dataset": "toy", "depth": depth, "seed": seed, "error": error}
                         for depth, seeds in errors.items() for seed, error in enumerate(seeds)])


def test_the_interval_holds_the_mean_within_the_configurations_own_means():
    rows = rows_of({3: [0.01, 0.012, 0.011], 4: [0.05, 0.052], 5: [0.02], 6: [0.03, 0.028]})
    low, high = configuration_interval(rows, rows["error"])
    assert 0.011 <= low < rows["error"].mean() < high <= 0.051


def test_seeds_of_one_configuration_are_drawn_together():
    # two configurations whose seeds agree within each: resampling rows would put the mean almost anywhere between
    # them with many draws near the middle; resampling configurations gives only the three possible mixtures
    rows = rows_of({3: [0.0] * 10, 4: [0.1] * 10})
    draws = [configuration_interval(rows, rows["error"], seed=s) for s in range(3)]
    assert all(low == pytest.approx(0.0) and high == pytest.approx(0.1) for low, high in draws)


def test_agreeing_configurations_give_no_width_and_one_gives_none():
    rows = rows_of({3: [0.02, 0.02], 4: [0.02], 5: [0.02, 0.02]})
    assert configuration_interval(rows, rows["error"]) == pytest.approx((0.02, 0.02))
    alone = rows_of({3: [0.01, 0.03]})
    assert all(np.isnan(configuration_interval(alone, alone["error"])))


def test_per_group_intervals_bound_each_groups_mae():
    rows = pd.concat([rows_of({3: [0.01, -0.02], 4: [0.04], 5: [-0.03, 0.02]}).assign(cutoff=c) for c in (0.1, 0.2)])
    table = mae_intervals(rows.assign(method="m"))
    assert list(table.columns) == ["method", "cutoff", "mae_low", "mae_high"] and len(table) == 2
    mae = rows["error"].abs().groupby(rows["cutoff"]).mean().to_numpy()
    assert (table["mae_low"].to_numpy() <= mae).all() and (mae <= table["mae_high"].to_numpy()).all()


def test_the_summary_keeps_the_pooled_interval_and_reads_summaries_without_it(tmp_path):
    curves = [power_curve(d, a) for d, a in ((4, 0.8), (5, 0.86), (6, 0.9))]
    results = backtest(curves, [make_forecaster("pow3")], [0.3, 0.6])
    summary = summarize_backtest(results.assign(held_out=["a", "b", "c"] * (len(results) // 3)))
    pooled = summary.for_method("pow3")
    assert (pooled["mae_low"] <= pooled["mae"]).all() and (pooled["mae"] <= pooled["mae_high"]).all()
    assert summary.for_method("pow3", held_out="a")[["mae_low", "mae_high"]].isna().all().all()
    loaded = BacktestSummary.load(summary.save(tmp_path / "summary.json")).for_method("pow3")
    assert np.allclose(loaded[["mae_low", "mae_high"]], pooled[["mae_low", "mae_high"]])
    document = json.loads((tmp_path / "summary.json").read_text())
    for row in document["rows"]:  # a summary written before the interval was kept
        row.pop("mae_low"), row.pop("mae_high")
    assert BacktestSummary.from_dict(document).for_method("pow3")["mae_low"].isna().all()


def test_the_trust_sentence_says_how_roughly_the_mae_is_known():
    words = trust_summary(0.2, 0.024, -0.001, 0.83, [], (0.017, 0.031))
    assert "missed the measured Dice by 0.024 on average" in words and "0.017 to 0.031" in words
    assert "resampling" not in trust_summary(0.2, 0.024, -0.001, 0.83, [])
