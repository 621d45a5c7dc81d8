"""Seeds of a configuration are forecast together by default: one curve of their mean in `forecast`, and in a backtest
each seed's curve cut to the configuration's mean prefix and scored against its own last point."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.curves import Curve, load_curves
from samplecast.forecast.evaluate import backtest, seeds_together
from samplecast.forecast.methods import make_forecaster
from samplecast.plan import PlanDocument
from samplecast.report.provenance import report_command

SIZES = (10, 20, 40, 80, 160, 320, 640)


def noisy_sweep(path, seeds=(0, 1, 2), noise=0.03, seed=0):
    """Two depths of a power law, each seed's points drawn with independent noise (the last one too)."""
    rng = np.random.default_rng(seed)
    rows = [{"dataset": "toy", "model": "resunet", "depth": depth, "seed": s, "n_train": n,
             "dice": a - 0.9 * n ** -0.45 + rng.normal(0, noise)}
            for depth, a in ((3, 0.86), (4, 0.9)) for s in seeds for n in SIZES]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_each_seed_keeps_its_last_point_and_takes_the_configurations_mean_before_it(tmp_path):
    path = noisy_sweep(tmp_path / "c.csv")
    apart = load_curves(path, average_seeds=False)
    averaged = {c.key["depth"]: c for c in load_curves(path)}
    together = seeds_together(apart)
    assert len(together) == len(apart) == 6
    for before, after in zip(apart, together):
        mean = averaged[after.key["depth"]]
        assert after.key == before.key and np.array_equal(after.n, before.n)
        np.testing.assert_allclose(after.dice[:-1], mean.dice[:-1])
        np.testing.assert_allclose(after.sd[:-1], mean.sd[:-1])
        assert list(after.count) == [3] * (len(SIZES) - 1) + [1]
        assert after.dice[-1] == before.dice[-1] and np.isnan(after.sd[-1])


def test_a_lone_seed_a_curve_without_seeds_and_a_size_some_seeds_lack():
    n = np.array([10.0, 20.0, 40.0, 80.0])
    lone = Curve({"dataset": "a", "seed": 0}, n, np.array([0.5, 0.6, 0.65, 0.7]))
    unseeded = Curve({"dataset": "b"}, n, np.array([0.4, 0.5, 0.55, 0.6]))
    short = Curve({"dataset": "c", "seed": 0}, n, np.array([0.5, 0.6, 0.7, 0.8]))
    fuller = Curve({"dataset": "c", "seed": 1}, np.array([10.0, 15.0, 20.0, 40.0, 80.0]),
                   np.array([0.3, 0.45, 0.4, 0.5, 0.6]))
    together = seeds_together([lone, unseeded, short, fuller])
    assert together[0] is lone and together[1] is unseeded
    np.testing.assert_allclose(together[2].dice, [0.4, 0.5, 0.6, 0.8])
    np.testing.assert_allclose(together[3].dice, [0.4, 0.45, 0.5, 0.6, 0.6])  # 15 cases: seed 1 alone
    assert list(together[3].count) == [2, 1, 2, 2, 1]


def test_forecasting_from_the_mean_of_noisy_seeds_errs_less_than_from_each_seed():
    errors = {}
    for mode in ("apart", "together"):
        frames = []
        for seed in range(8):
            curves = []
            rng = np.random.default_rng(seed)
            for s in range(3):
                n = np.array(SIZES, dtype=float)
                dice = 0.88 - 0.9 * n ** -0.45 + rng.normal(0, 0.03, n.size)
                curves.append(Curve({"dataset": "toy", "seed": s}, n, dice))
            curves = seeds_together(curves) if mode == "together" else curves
            frames.append(backtest(curves, [make_forecaster("pow3")], cutoffs=(0.2,)))
        errors[mode] = pd.concat(frames)["error"].abs().mean()
    assert errors["together"] < 0.9 * errors["apart"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_forecast_averages_seeds_unless_told_to_keep_them_apart(tmp_path):
    path = noisy_sweep(tmp_path / "c.csv")
    together = run("forecast", path, "--method", "pow3")
    apart = run("forecast", path, "--method", "pow3", "--seeds-apart")
    assert together.exit_code == 0 and apart.exit_code == 0, together.output + apart.output
    assert "seed 1" not in together.output and "depth 3 / seed 1" in " ".join(apart.output.split())


@pytest.mark.parametrize("flag, same", [(None, True), ("--seeds-apart", False)])
def test_backtest_scores_each_seed_from_the_configurations_mean_by_default(tmp_path, flag, same):
    path = noisy_sweep(tmp_path / "c.csv")
    out = tmp_path / "b.json"
    result = run("backtest", path, "--methods", "pow3", "--cutoffs", "0.2", *([flag] if flag else []), "--json", out)
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(out.read_text())["forecasts"])
    assert len(rows) == 6  # one forecast per seed, each scored against its own Dice
    medians = rows.groupby("depth")["q50"].nunique()
    assert (medians == 1).all() == same
    assert rows["truth"].nunique() == 6


@pytest.mark.parametrize("flag", ["--average-seeds", "--seeds-apart"])
def test_the_report_command_of_a_plan_document_keeps_the_choice(tmp_path, flag):
    path = noisy_sweep(tmp_path / "c.csv")
    out = tmp_path / "plan.json"
    result = run("forecast", path, "--method", "pow3", flag, "--json", out)
    assert result.exit_code == 0, result.output
    command = report_command(PlanDocument.read(out), "r.pdf")
    assert flag in command.split() and len(PlanDocument.read(out).curves) == (2 if flag == "--average-seeds" else 6)
