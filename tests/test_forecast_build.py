"""Building the ensemble from real-looking curves: weights learned on every image set, figures only on held-out ones."""

from __future__ import annotations

import numpy as np
import pytest

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.build import build_forecaster, held_out_backtest, scored, with_other_seeds
from samplecast.forecast.ensemble import load_stacking_weights
from samplecast.forecast.parametric import LogLinearPowerLaw, ParametricForecaster
from samplecast.report.trust import BacktestSummary

SIZES = np.array([10.0, 20, 40, 80, 160, 320])


def sweep(name: str, plateau: float, seeds=(0, 1)) -> list[Curve]:
    rng = np.random.default_rng(len(name))
    return [Curve({"dataset": name, "model": "unet", "depth": depth, "seed": seed}, SIZES,
                  plateau + 0.02 * depth - 0.9 * SIZES ** -0.5 + rng.normal(0, 0.005, SIZES.size))
            for depth in (3, 4) for seed in seeds]


CORPUS = {"a_64px.csv": sweep("a", 0.8), "a_256px.csv": sweep("a", 0.85), "b.csv": sweep("b", 0.7)}
IMAGE_SETS = {"a_64px.csv": "a", "a_256px.csv": "a", "b.csv": "b"}
MEMBERS = [ParametricForecaster("pow3", n_boot=20), LogLinearPowerLaw()]


def test_each_image_set_is_scored_by_weights_learned_without_it():
    results, learned = held_out_backtest(CORPUS, IMAGE_SETS, MEMBERS, beside=("last1",), cutoffs=(0.3, 0.6))
    assert set(learned) == {"a", "b"}
    assert "a_64px.csv" not in learned["a"].source and "b.csv" in learned["a"].source
    assert "b.csv" not in learned["b"].source and "a_256px.csv" in learned["b"].source
    ensemble = results[results["method"] == "ensemble"]
    assert set(ensemble["held_out"]) == {"a", "b"} and len(ensemble) == 12 * 2
    assert set(results["method"]) == {"last1", "ensemble"}


def test_one_image_set_has_nothing_to_be_held_out_from():
    with pytest.raises(InputError, match="at least two image sets"):
        held_out_backtest({"b.csv": CORPUS["b.csv"]}, {}, MEMBERS, beside=(), cutoffs=(0.5,))


def test_build_writes_the_weights_and_a_held_out_summary(tmp_path):
    weights, summary = build_forecaster(CORPUS, tmp_path, IMAGE_SETS, members=MEMBERS, beside=("pow3",),
                                        cutoffs=(0.3, 0.6), source={"command": "test"})
    assert load_stacking_weights(tmp_path / "ensemble.json") == weights
    loaded = BacktestSummary.load(tmp_path / "backtest_summary.json")
    assert loaded.protocol == "leave-one-dataset-out" and loaded.source["command"] == "test"
    assert loaded.source["datasets"] == [{"name": "a", "files": ["a_64px.csv", "a_256px.csv"], "curves": 8},
                                         {"name": "b", "files": ["b.csv"], "curves": 4}]
    assert set(loaded.rows["held_out"]) == {"a", "b", "all"}
    assert list(loaded.for_method("ensemble")["curves"]) == [12, 12]


def test_other_seeds_become_extra_truths_for_the_same_forecast():
    rows = scored({"b.csv": CORPUS["b.csv"]}, {}, MEMBERS[:1], cutoffs=(0.5,))
    both = with_other_seeds(rows)
    assert len(both) == 2 * len(rows)
    extra = both.iloc[len(rows):]
    assert extra["curve"].str.contains(" vs seed ").all()
    seed0 = rows[(rows["seed"] == 0) & (rows["depth"] == 3)].iloc[0]
    seed1 = rows[(rows["seed"] == 1) & (rows["depth"] == 3)].iloc[0]
    copied = extra[(extra["seed"] == 0) & (extra["depth"] == 3)].iloc[0]
    assert copied["truth"] == seed1["truth"] and copied["q50"] == seed0["q50"]
