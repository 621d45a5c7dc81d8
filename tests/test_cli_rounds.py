"""The plan in rounds through the command line: the next round in words and in the plan document, the round options
checked (one `error:` line, exit 2), and `backtest --decisions`."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def partial_csv(tmp_path):
    """A curve measured to 100 cases of a pool of 1,000, still rising."""
    n = np.array([10, 20, 40, 70, 100])
    path = tmp_path / "partial.csv"
    pd.DataFrame({"n_train": n, "dice": 0.9 - 0.9 * n**-0.45}).to_csv(path, index=False)
    return path


@pytest.fixture
def complete_csv(tmp_path):
    """Two complete curves of 10 sizes each, one rising slowly and one quickly."""
    n = np.round(np.geomspace(10, 640, 10))
    rows = [{"dataset": "toy", "depth": depth, "n_train": k, "dice": top - 0.8 * k**-rate}
            for depth, top, rate in ((3, 0.85, 0.4), (4, 0.9, 0.6)) for k in n]
    path = tmp_path / "complete.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_forecast_states_the_next_round_and_writes_it(partial_csv, tmp_path):
    out = tmp_path / "plan.json"
    result = run("forecast", partial_csv, "--target-dice", "0.8", "--pool-size", "1000", "--cost-per-case", "30",
                 "--rounds", "3", "--shortfall-cost", "5x", "--json", out)
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())["curves"][0]["recommendation"]["next_round"]
    assert plan["rounds"] == 3 and plan["shortfall_cost"] == 5 * 30 * 1000
    assert 100 < plan["annotate_to"] <= 1000 and plan["more"] == plan["annotate_to"] - 100
    assert plan["cost_now"] == plan["more"] * 30
    words = " ".join(result.output.split())
    assert f"annotate up to {plan['annotate_to']:,} cases now ({plan['more']:,} more, costing " in words
    assert "samplecast plans the next round" in words


def test_without_rounds_a_target_gets_the_default_plan_and_no_target_gets_none(partial_csv, tmp_path):
    with_target, without = tmp_path / "a.json", tmp_path / "b.json"
    assert run("forecast", partial_csv, "--target-dice", "0.8", "--pool-size", "1000", "--json", with_target
               ).exit_code == 0
    assert run("forecast", partial_csv, "--pool-size", "1000", "--json", without).exit_code == 0
    assert json.loads(with_target.read_text())["curves"][0]["recommendation"]["next_round"]["rounds"] == 3
    assert json.loads(without.read_text())["curves"][0]["recommendation"]["next_round"] is None


@pytest.mark.parametrize("options, problem", [
    (["--target-dice", "0.8", "--rounds", "0"], "--rounds"),
    (["--target-dice", "0.8", "--shortfall-cost", "nan"], "--shortfall-cost"),
    (["--target-dice", "0.8", "--shortfall-cost", "inf"], "--shortfall-cost"),
    (["--target-dice", "0.8", "--shortfall-cost", "-5"], "--shortfall-cost"),
    (["--target-dice", "0.8", "--shortfall-cost", "-2x"], "--shortfall-cost"),
    (["--rounds", "2"], "rounds needs target_dice"),
])
def test_bad_round_options_give_one_error_line(partial_csv, options, problem):
    result = run("forecast", partial_csv, "--pool-size", "1000", *options)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and problem in lines[0]


def test_backtest_decisions_replays_every_policy(complete_csv, tmp_path):
    out = tmp_path / "decisions.json"
    result = run("backtest", complete_csv, "--decisions", "--methods", "pow3", "--json", out)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    policies = [row["policy"] for row in document["summary"]]
    assert policies == ["one-shot 50%", "one-shot 80%", "one-shot 95%", "1 round", "2 rounds", "3 rounds", "5 rounds",
                        "power law (median)"]
    assert all(d["final"] <= d["pool"] for d in document["decisions"])
    assert "in-sample" not in result.output


def test_backtest_decisions_takes_one_method(complete_csv):
    result = run("backtest", complete_csv, "--decisions", "--methods", "pow3,pow2")
    assert result.exit_code == 2 and "name one method" in result.output
