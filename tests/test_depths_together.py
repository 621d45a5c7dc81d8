"""The depths of one sweep forecast together when asked (``--depths-together``): each curve's gain beyond its last Dice
is the mean of the gains forecast for every depth of its sweep, in the planner, the backtest, the decision replays and
the intervals' correction; by default each curve is forecast alone."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.curves import Curve, load_curves
from samplecast.forecast.base import QUANTILES, clone
from samplecast.forecast.evaluate import backtest
from samplecast.forecast.evaluate.decisions import OneShot, Rounds, replay_decisions
from samplecast.forecast.parametric import LogLinearPowerLaw
from samplecast.forecast.reach import size_reaching
from samplecast.forecast.together import SweepMean, sweep_groups, sweep_partners
from samplecast.plan import PlanDocument, PlanOptions, plan_curves

SIZES = np.array([10.0, 20, 40, 80, 160, 320, 640])


def sweep(dataset: str = "toy", seed: int = 0, sizes: np.ndarray = SIZES) -> list[Curve]:
    """Two depths of one sweep: a deeper net that rises faster from a lower start."""
    return [Curve({"dataset": dataset, "depth": 3, "seed": seed}, sizes, 0.86 - 0.9 * sizes ** -0.45),
            Curve({"dataset": dataset, "depth": 4, "seed": seed}, sizes, 0.92 - 1.6 * sizes ** -0.5)]


def test_the_pooled_gain_is_the_mean_of_each_depths_own_gain_from_its_own_last_dice():
    shallow, deep = (c.up_to(80) for c in sweep())
    sizes = np.array([80.0, 160, 640, 2000])
    alone = [LogLinearPowerLaw().fit_curve(c).predict_quantiles(sizes) for c in (shallow, deep)]
    gains = (alone[0] - shallow.dice[-1] + alone[1] - deep.dice[-1]) / 2
    pooled = SweepMean(LogLinearPowerLaw(), [deep]).fit_curve(shallow)
    np.testing.assert_allclose(pooled.predict_quantiles(sizes), np.clip(shallow.dice[-1] + gains, 0, 1))
    assert pooled.name == "pow2" and pooled.predict([80])[0] == pytest.approx(shallow.dice[-1], abs=0.02)
    # the deep net's faster rise lifts the shallow one's forecast, and the reverse
    assert pooled.predict([2000])[0] > alone[0][-1, QUANTILES.index(0.5)]
    assert SweepMean(LogLinearPowerLaw(), [shallow]).fit_curve(deep).predict([2000])[0] < alone[1][-1, 3]


def test_alone_or_with_a_partner_cut_at_another_size_it_forecasts_as_its_forecaster():
    shallow, deep = sweep()
    cut = shallow.up_to(160)
    own = LogLinearPowerLaw().fit_curve(cut).predict_quantiles([320, 1000])
    for others in ([], [deep.up_to(80)]):
        np.testing.assert_array_equal(SweepMean(LogLinearPowerLaw(), others).fit_curve(cut)
                                      .predict_quantiles([320, 1000]), own)
    assert clone(SweepMean(LogLinearPowerLaw(), [deep])).others == [deep]


def test_sweeps_are_the_curves_that_differ_only_in_depth_and_end_at_the_same_size():
    a3, a4 = sweep("a")
    b3, b4 = sweep("b")
    other_seed = sweep("a", seed=1)[0]
    shorter = Curve({"dataset": "a", "depth": 5, "seed": 0}, SIZES[:-1], a4.dice[:-1])
    no_depth = Curve({"dataset": "a", "seed": 0}, SIZES, a3.dice)
    curves = [a3, b3, a4, other_seed, shorter, no_depth, None, b4]
    assert sweep_groups(curves) == [[0, 2], [1, 7], [2, 0], [3], [4], [5], [], [7, 1]]
    assert sweep_partners([a3, a4, b3]) == [[a4], [a3], []]


def test_backtest_pools_the_depths_cut_at_the_same_size_when_told_to():
    curves = sweep()
    together = backtest(curves, [LogLinearPowerLaw()], (0.2, 0.5), depths_together=True)
    apart = backtest(curves, [LogLinearPowerLaw()], (0.2, 0.5))
    assert set(together["depths"]) == {2} and set(apart["depths"]) == {1}
    for cutoff in (0.2, 0.5):
        rows = apart[apart["cutoff"] == cutoff].reset_index(drop=True)
        last = [c.up_to(rows["n_cut"][0]).dice[-1] for c in curves]
        gain = np.mean(rows["q50"] - last)
        np.testing.assert_allclose(together.loc[together["cutoff"] == cutoff, "q50"], np.add(last, gain), atol=1e-9)
    np.testing.assert_allclose(together["truth"], apart["truth"])


def test_decision_replays_pool_the_depths_and_reveal_them_at_every_round():
    curves = sweep()
    rows = replay_decisions(curves, LogLinearPowerLaw(), policies=(OneShot(0.5), Rounds(2)), cutoffs=(0.1,),
                            target_at=(1.0,), depths_together=True)
    apart = replay_decisions(curves, LogLinearPowerLaw(), policies=(OneShot(0.5), Rounds(2)), cutoffs=(0.1,),
                             target_at=(1.0,))
    shot = rows[rows["policy"] == OneShot(0.5).name].set_index("depth")
    prefixes = [c.up_to(40) for c in curves]
    for i, curve in enumerate(prefixes):
        model = SweepMean(LogLinearPowerLaw(), [prefixes[1 - i]]).fit_curve(curve)
        expected = size_reaching(model, shot.loc[curve.key["depth"], "target"], 0.5, 40, 640)
        assert shot.loc[curve.key["depth"], "final"] == max(int(expected), 40)
    assert not rows[["final"]].equals(apart[["final"]])  # pooling changed what the planner asked for
    assert rows["rounds_used"].max() >= 1


def test_the_planner_forecasts_one_gain_per_sweep_when_told_to():
    curves = [c.up_to(160) for c in sweep()]
    options = PlanOptions(target_dice=0.8, pool_size=640)
    together = plan_curves(curves, options, LogLinearPowerLaw(), depths_together=True)
    apart = plan_curves(curves, options, LogLinearPowerLaw())
    assert all(isinstance(p.forecast.model, SweepMean) for p in together)
    assert not any(isinstance(p.forecast.model, SweepMean) for p in apart)
    shallow_gain = together[0].forecast.quantiles[-1, 3] - curves[0].dice[-1]
    deep_gain = together[1].forecast.quantiles[-1, 3] - curves[1].dice[-1]
    assert shallow_gain == pytest.approx(deep_gain, abs=1e-9)  # one gain for the sweep


def test_depths_together_or_apart_on_the_command_line_and_in_the_plan_document(tmp_path):
    rows = [{"dataset": "toy", "depth": c.key["depth"], "n_train": n, "dice": d}
            for c in sweep() for n, d in zip(c.n[:5], c.dice[:5])]
    table = tmp_path / "curves.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    documents = {}
    for flag in ("--depths-together", "--depths-apart", None):
        out = tmp_path / f"{flag}.json"
        result = CliRunner().invoke(cli, ["forecast", str(table), "--method", "pow2", "--json", str(out),
                                          *([flag] if flag else [])])
        assert result.exit_code == 0, result.output
        assert ("2 curves forecast with the other depths" in " ".join(result.output.split())) is (
            flag == "--depths-together")
        documents[flag] = PlanDocument.read(out)
        assert json.loads(out.read_text())["source"]["depths_together"] is (flag == "--depths-together")
    medians = {flag: [v.forecast[-1]["q50"] for v in d.curves] for flag, d in documents.items()}
    assert medians["--depths-together"] != medians["--depths-apart"] == medians[None]  # alone by default
    assert len(load_curves(table)) == 2


def test_the_surrogates_intervals_are_corrected_on_forecasts_of_the_depths_together():
    from samplecast.forecast.surrogate import load_surrogate
    from samplecast.forecast.surrogate.calibrate import prefix_forecasts

    surrogate, curves = load_surrogate(), sweep()
    alone = prefix_forecasts(surrogate, curves, depths_together=False)
    together = prefix_forecasts(surrogate, curves, depths_together=True)
    half = len(alone.truth) // 2  # the rows of the first depth, then those of the second, at the same sizes
    last = (1 - alone.headroom)[:, None]
    gains = (alone.values[:half] - last[:half] + alone.values[half:] - last[half:]) / 2
    np.testing.assert_allclose(together.values[:half], np.clip(last[:half] + gains, 0, 1), atol=1e-12)
    np.testing.assert_allclose(together.values[half:], np.clip(last[half:] + gains, 0, 1), atol=1e-12)
    np.testing.assert_array_equal(together.truth, alone.truth)
