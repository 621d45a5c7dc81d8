"""`samplecast forecast` and `samplecast backtest` end to end: the JSON contract and bad input (exit 2, one line)."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.curves import load_curves
from samplecast.forecast.methods import make_forecaster
from samplecast.plan import PlanOptions, plan_curves

QKEYS = ["q05", "q10", "q25", "q50", "q75", "q90", "q95"]


@pytest.fixture
def curves_csv(tmp_path):
    """Two partial curves (two depths) of a power law, with two seeds each."""
    rng = np.random.default_rng(1)
    rows = []
    for depth, a in ((4, 0.78), (5, 0.85)):
        for seed in (0, 1):
            for n in (20, 50, 100, 200):
                rows.append({"dataset": "toy", "model": "resunet", "depth": depth, "seed": seed, "n_train": n,
                             "dice": a - 1.2 * n**-0.5 + rng.normal(0, 0.005)})
    path = tmp_path / "curves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_forecast_json_contract(curves_csv, tmp_path):
    out = tmp_path / "f.json"
    result = run("forecast", curves_csv, "--at", "300,1000", "--target-dice", "0.7", "--pool-size", "2000",
                 "--cost-per-case", "3", "--method", "pow3", "--average-seeds", "--json", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["method"] == "pow3" and len(doc["curves"]) == 2
    for curve in doc["curves"]:
        assert set(curve["key"]) == {"dataset", "model", "depth"}
        assert [row["n"] for row in curve["forecast"]] == [300, 1000]
        for row in curve["forecast"]:
            values = [row[k] for k in QKEYS]
            assert values == sorted(values) and 0 <= values[0] and values[-1] <= 1
        rec = curve["recommendation"]
        for key in ("target_dice", "confidence", "n_for_target", "n_plateau", "dice_at_pool", "cost_to_target"):
            assert key in rec
        assert set(rec["dice_at_pool"]) == {"q50", "low", "high", "floor"}
        assert rec["target_within_pool"] is True and rec["n_for_target"] <= 2000
        assert all(sentence in " ".join(result.output.split()) for sentence in curve["sentences"])
    assert doc["options"]["pool_size"] == 2000 and doc["warnings"] == []
    # the CLI's numbers are the library's numbers
    plans = plan_curves(load_curves(curves_csv, average_seeds=True),
                        PlanOptions(target_dice=0.7, pool_size=2000, cost_per_case=3), make_forecaster("pow3"),
                        at=[300, 1000])
    assert doc["curves"][1]["recommendation"]["n_for_target"] == plans[1].recommendation.n_for_target
    assert "To reach Dice 0.70" in result.output


def test_default_grid_doubles_to_the_pool(curves_csv, tmp_path):
    out = tmp_path / "f.json"
    assert run("forecast", curves_csv, "--method", "exp3", "--pool-size", "1000", "--json", out).exit_code == 0
    sizes = [row["n"] for row in json.loads(out.read_text())["curves"][0]["forecast"]]
    assert sizes == [200, 400, 800, 1000]


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("", "file is empty"),
    ("size_of_set,dsc\n1,2\n", "missing required columns n_train, dice"),
    ("n_train,dice\n10,0.5\n20,nan\n40,0.6\n", "row 2: dice is missing"),
    ("n_train,dice\n10,0.5\n20,55\n40,0.6\n", "row 2: dice 55 is outside [0, 1]"),
    ("n_train,dice\n10,0.5\n-20,0.55\n40,0.6\n", "row 2: n_train -20 must be a whole number"),
    ("n_train,dice\n10,0.5\n20,0.55\n", "at least 3 are needed"),
    ("n_train,dice\n10,0.5\nabc,0.55\n30,0.6\n", "row 2: n_train 'abc' is not a number"),
])
def test_bad_curves_exit_2_with_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    result = run("forecast", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert message in lines[0]
    assert "Traceback" not in result.output + result.stderr


def test_several_problems_one_line_each(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("n_train,dice\n10,1.5\n0,0.55\n40,nan\n")
    result = run("forecast", path)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 3


@pytest.mark.parametrize("option, value, message", [
    ("--target-dice", "1.5", "--target-dice"),
    ("--target-dice", "nan", "'nan' is not a finite number"),
    ("--confidence", "nan", "'nan' is not a finite number"),
    ("--plateau-gain", "nan", "'nan' is not a finite number"),
    ("--cost-per-case", "nan", "'nan' is not a finite number"),
    ("--cost-per-case", "inf", "'inf' is not a finite number"),
    ("--pool-size", "nan", "--pool-size"),
    ("--at", "10,x", "--at"),
    ("--at", ",", "',' holds no item"),
    ("--at", "0,10", "every value must be a number of at least 1"),
    ("--at", "nan", "is not a comma-separated list of int values"),
    ("--method", "nope", "--method"),
])
def test_bad_options_exit_2_with_one_line(curves_csv, option, value, message):
    result = run("forecast", curves_csv, option, value)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_unwritable_json_is_refused_before_any_work(curves_csv, tmp_path):
    (tmp_path / "a_file").write_text("")
    for target in (tmp_path / "a_file" / "f.json", "/proc/samplecast-forecast.json", tmp_path):
        result = run("forecast", curves_csv, "--method", "pow3", "--json", target)
        assert result.exit_code == 2 and "--json" in result.stderr, result.output
        assert "forecasting" not in result.output and "Traceback" not in result.output


def test_a_pool_smaller_than_the_cases_used_exits_2(curves_csv):
    result = run("forecast", curves_csv, "--method", "pow3", "--pool-size", "100")
    assert result.exit_code == 2
    assert ("error: pool_size 100 is smaller than the 200 training cases curve toy / resunet / depth 4 "
            "(and 1 more curve)") in result.stderr


def test_hand_made_table_within_its_pool(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("n_train,dice\n20,0.61\n40,0.68\n80,0.73\n")
    out = tmp_path / "f.json"
    result = run("forecast", path, "--method", "pow3", "--target-dice", "0.8", "--pool-size", "500",
                 "--cost-per-case", "30", "--json", out)
    assert result.exit_code == 0, result.output
    (curve,) = json.loads(out.read_text())["curves"]
    rec = curve["recommendation"]
    assert curve["label"] == "hand"
    for key in ("n_for_target", "n_plateau", "n_target_median"):
        assert rec[key] is None or rec[key] <= 500
    for key in ("cost_to_target", "cost_to_plateau", "cost_to_pool"):
        assert rec[key] is None or rec[key] <= 30 * 420
    if rec["n_for_target"] is None:
        assert rec["target_within_pool"] is False
        assert "not reachable within the pool of 500 cases" in " ".join(result.output.split())


def test_backtest_scores_every_method_and_cutoff(tmp_path):
    n = np.array([10, 20, 40, 80, 160, 320, 640, 1000])
    rows = [{"depth": d, "n_train": x, "dice": a - 1.5 * x**-0.5} for d, a in ((3, 0.8), (4, 0.86)) for x in n]
    path = tmp_path / "complete.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = tmp_path / "bt.json"
    result = run("backtest", path, "--cutoffs", "0.1,0.5", "--methods", "last1,pow3", "--json", out)
    assert result.exit_code == 0, result.output
    def strict(constant):
        raise ValueError(f"{constant} is not JSON")

    summary = json.loads(out.read_text(), parse_constant=strict)["summary"]  # last1 never reaches: null, not inf
    assert any(r["needed_ratio"] is None for r in summary if r["method"] == "last1")
    assert {(r["method"], r["cutoff"]) for r in summary} == {(m, c) for m in ("last1", "pow3") for c in (0.1, 0.5)}
    pow3 = {r["cutoff"]: r for r in summary if r["method"] == "pow3"}
    last1 = {r["cutoff"]: r for r in summary if r["method"] == "last1"}
    assert pow3[0.5]["mae"] < 0.01 < last1[0.5]["mae"]  # a noise-free power law is extrapolated, not flat-lined
    assert last1[0.1]["bias"] < 0


def test_backtest_rejects_bad_cutoffs(curves_csv):
    result = run("backtest", curves_csv, "--cutoffs", "0,1.5")
    assert result.exit_code == 2 and "cutoffs must lie strictly between 0 and 1" in result.stderr


def test_warnings_reach_the_terminal_the_json_and_the_report(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("n_train,dice,n_test,dice_sd\n10,0.5,3,0.2\n20,0.6,3,0.2\n40,0.65,3,0.2\n")
    out, pdf = tmp_path / "f.json", tmp_path / "r.pdf"
    result = run("forecast", path, "--method", "pow3", "--json", out)
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(out.read_text())["warnings"]
    assert warning.startswith("few: Dice was measured on only 3 test cases")
    assert "warning: few: Dice was measured on only 3 test cases" in " ".join(result.output.split())
    assert run("report", "--plan", out, "-o", pdf).exit_code == 0
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Warnings: curves that may not support a forecast" in text and "only 3 test cases" in text


def test_the_command_line_starts_without_the_heavy_libraries():
    import subprocess
    import sys

    heavy = ("scipy", "pandas", "statsmodels", "torch", "matplotlib")
    code = "import sys, samplecast.cli; print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))"
    out = subprocess.run([sys.executable, "-c", code, *heavy], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_forecast_prints_labels_from_the_csv_as_text_not_markup(tmp_path):
    rows = [{"dataset": dataset, "n_train": n, "dice": 0.8 - 1.2 * n**-0.5}
            for dataset in ("[/]", "[bold red]x") for n in (20, 50, 100, 200)]
    path = tmp_path / "curves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = run("forecast", path, "--method", "pow3", "--target-dice", "0.7")
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output and "[bold red]x" in result.output


def test_ctrl_c_in_a_command_exits_130_with_one_line(curves_csv, monkeypatch):
    import samplecast.plan

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(samplecast.plan, "plan_curves", interrupted)
    result = run("forecast", curves_csv, "--method", "pow3")
    assert result.exit_code == 130
    assert result.output.splitlines() == ["interrupted"]


def test_ctrl_c_while_a_class_is_defined_exits_130_with_one_line(curves_csv, monkeypatch):
    """Ctrl-C landing in a descriptor's ``__set_name__`` (a dataclass field while its module is imported), which
    Python 3.11 reraises as a RuntimeError."""
    import samplecast.plan

    class Stops:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    def define_a_class(*args, **kwargs):
        type("Late", (), {"field": Stops()})

    monkeypatch.setattr(samplecast.plan, "plan_curves", define_a_class)
    result = run("forecast", curves_csv, "--method", "pow3")
    assert result.exit_code == 130
    assert result.output.splitlines() == ["interrupted"]
