"""The backtest of decisions, on complete curves whose answers are known by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.evaluate.decisions import (OneShot, PowerLawOnce, Revealed, Rounds, play, replay_decisions,
                                       summarize_decisions)

from known_curve import KnownCurve

SIZES = np.array([10, 14, 20, 28, 40, 57, 80, 113, 160, 226, 320, 452, 640], dtype=float)


def power_law_curve(a=0.5, b=0.4, label="power law"):
    """A complete curve whose error 1 - Dice is exactly a * (n / 10) ** -b."""
    return Curve({"dataset": label}, SIZES, 1 - a * (SIZES / 10) ** -b)


def test_revealed_dice_interpolates_in_log_n_and_finds_the_fewest_cases():
    curve = Curve({"dataset": "hand"}, [10, 40, 160], [0.5, 0.7, 0.8])
    seen = Revealed(curve)
    assert seen.dice(40) == 0.7 and seen.dice(20) == pytest.approx(0.6)
    assert seen.fewest_reaching(0.6, 10) == 20
    assert seen.fewest_reaching(0.75, 10) == 80
    assert seen.fewest_reaching(0.81, 10) is None


def test_a_power_law_baseline_on_a_power_law_curve_annotates_what_was_needed():
    curve = power_law_curve()
    prefix = curve.up_to(0.2 * curve.n_max)
    target = float(curve.dice[SIZES == 320][0]) - 1e-6  # measured at 320: the power law crosses it there
    outcome = play(PowerLawOnce(), KnownCurve(), prefix, Revealed(curve), target, 640)
    assert Revealed(curve).fewest_reaching(target, prefix.n_max) == 320
    assert outcome == {"final": 320, "reached": True, "said_unreachable": False, "rounds_used": 1}


def test_rounds_stop_as_soon_as_the_measured_dice_reaches_the_target():
    curve = power_law_curve()
    prefix = curve.up_to(0.1 * curve.n_max)
    target = round(Revealed(curve).dice(200) - 0.02, 4)
    outcome = play(Rounds(5, "10x"), KnownCurve(), prefix, Revealed(curve), target, 640)
    assert outcome["reached"] and 1 <= outcome["rounds_used"] <= 5
    assert outcome["final"] <= 640


def test_replay_skips_targets_the_prefix_already_measured_and_never_exceeds_the_pool():
    flat = Curve({"dataset": "flat early"}, SIZES, np.minimum(0.6 + 0.1 * np.log2(SIZES / 10), 0.8))
    rows = replay_decisions([power_law_curve(), flat], KnownCurve(),
                            policies=(OneShot(0.8), Rounds(2, "10x"), PowerLawOnce()))
    assert set(rows["policy"]) == {"one-shot 80%", "2 rounds (shortfall 10x)", "power law (median)"}
    assert (rows["final"] <= rows["pool"]).all() and (rows["final"] >= rows["n_cut"]).all()
    for _, row in rows.iterrows():
        curve = power_law_curve() if row["dataset"] == "power law" else flat
        assert curve.up_to(row["n_cut"]).dice.max() < row["target"]
    reached = rows[rows["reached"]]
    assert (reached["cases_ratio"] >= 1 - 1e-9).all()


def test_summary_counts_by_hand():
    rows = pd.DataFrame({
        "policy": ["a", "a", "a", "b"], "reached": [True, True, False, True], "said_unreachable": [False, False, True,
                                                                                                   False],
        "rounds_used": [1, 2, 0, 1], "cost": [10.0, 30.0, 200.0, 50.0], "pool": [100, 100, 100, 100],
        "cases_ratio": [1.0, 1.5, math.nan, 2.0]})
    table = summarize_decisions(rows).set_index("policy")
    assert table.loc["a", "decisions"] == 3 and table.loc["a", "reached"] == pytest.approx(2 / 3)
    assert table.loc["a", "said_unreachable"] == pytest.approx(1 / 3)
    assert table.loc["a", "cases_ratio_median"] == pytest.approx(1.25)
    assert table.loc["a", "cost_share"] == pytest.approx((0.1 + 0.3 + 2.0) / 3)
    assert table.loc["b", "rounds_used"] == 1


def test_bad_cutoffs_and_target_shares_are_refused_together():
    with pytest.raises(InputError) as caught:
        replay_decisions([power_law_curve()], KnownCurve(), cutoffs=(0.0,), target_at=(1.5,))
    assert len(caught.value.problems) == 2
