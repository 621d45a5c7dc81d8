"""`samplecast surrogate build` writes a whole forecaster from complete curves; `forecast --forecaster` uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.forecast.ensemble import EnsembleForecaster, load_stacking_weights
from samplecast.forecast.folder import REQUIRED
from samplecast.forecast.surrogate import LSTMForecaster, load_surrogate
from samplecast.plan import PlanDocument
from samplecast.report.provenance import report_command

SIZES = (10, 20, 40, 80, 160, 320)
#: A build small enough for a test: a 16-unit LSTM pre-trained for one epoch on 300 prior curves.
TINY = ["--pretrain", "--hidden", "16", "--epochs", "1", "--prior-curves", "300", "--cutoffs", "0.3,0.6"]


def write_sweep(path, dataset: str, plateau: float, seeds=(0,)):
    rng = np.random.default_rng(len(dataset))
    rows = ["dataset,depth,seed,n_train,dice"]
    rows += [f"{dataset},{depth},{seed},{n},{plateau + 0.02 * depth - 0.9 * n ** -0.5 + rng.normal(0, 0.005):.4f}"
             for depth in (3, 4) for seed in seeds for n in SIZES]
    path.write_text("\n".join(rows) + "\n")
    return path


def one_error(result) -> str:
    """The single ``error:`` line of a run that must fail with exit code 2 and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A forecaster built by the command on two image sets (Kvasir-like at two resolutions, one set; and another)."""
    root = tmp_path_factory.mktemp("build")
    files = [write_sweep(root / "kv64.csv", "kvasir", 0.72), write_sweep(root / "kv256.csv", "kvasir", 0.8),
             write_sweep(root / "other.csv", "other", 0.6)]
    result = CliRunner().invoke(cli, ["surrogate", "build", *map(str, files), "-o", str(root / "fc"), *TINY])
    assert result.exit_code == 0, result.output
    return root


def test_build_writes_a_forecaster_folder_and_reports_held_out_figures(built):
    assert {p.name for p in (built / "fc").iterdir()} == {*REQUIRED, "build.json"}
    record = json.loads((built / "fc" / "build.json").read_text())
    assert record["image_sets"] == ["kvasir", "other"]
    assert record["settings"]["surrogate"]["architecture"]["hidden"] == 16
    assert record["settings"]["surrogate"]["pretrain"]["epochs"] == 1
    summary = json.loads((built / "fc" / "backtest_summary.json").read_text())
    assert {r["method"] for r in summary["rows"]} >= {"ensemble", "lstm", "pow3"}


def test_forecast_uses_the_built_weights_and_its_backtest(built, tmp_path):
    partial = tmp_path / "mine.csv"
    partial.write_text("n_train,dice\n10,0.62\n20,0.70\n40,0.76\n80,0.79\n")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["forecast", str(partial), "--forecaster", str(built / "fc"), "--method",
                                      "ensemble", "--at", "640", "--json", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    got = [document["curves"][0]["forecast"][0][k] for k in ("q05", "q50", "q95")]
    n, dice = [10, 20, 40, 80], [0.62, 0.70, 0.76, 0.79]
    weights = load_stacking_weights(built / "fc" / "ensemble.json")
    mine = EnsembleForecaster(weights=weights).fit(n, dice).predict_quantiles([640])[0][[0, 3, 6]]
    shipped = EnsembleForecaster().fit(n, dice).predict_quantiles([640])[0][[0, 3, 6]]
    np.testing.assert_allclose(got, mine, atol=1e-4)
    assert load_stacking_weights() != weights and np.abs(np.array(got) - shipped).max() > 1e-3
    assert document["forecaster"] == str(built / "fc")
    assert [d["name"] for d in document["trust"]["shipped"]["datasets"]] == ["kvasir", "other"]
    assert f"--forecaster {built / 'fc'}" in report_command(PlanDocument.read(out), "r.pdf")


def test_forecast_with_the_built_lstm(built, tmp_path, one_thread):
    partial = tmp_path / "mine.csv"
    partial.write_text("n_train,dice\n10,0.62\n20,0.70\n40,0.76\n")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["forecast", str(partial), "--method", "lstm", "--forecaster", str(built / "fc"),
                                      "--at", "320", "--json", str(out)])
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text())["curves"][0]["forecast"][0]
    expected = LSTMForecaster(load_surrogate(built / "fc" / "surrogate.npz")).fit(
        [10, 20, 40], [0.62, 0.70, 0.76]).predict_quantiles([320])[0]
    np.testing.assert_allclose([row["q05"], row["q50"], row["q95"]], expected[[0, 3, 6]], atol=1e-4)
    shipped = json.loads(out.read_text())["trust"]["shipped"]
    assert {r["held_out"] for r in shipped["pooled"] + shipped["per_set"]} == {"kvasir", "other", "all"}


@pytest.mark.slow
def test_a_surrogate_from_train_is_built_into_a_forecaster(built, tmp_path, one_thread):
    model = tmp_path / "model.npz"
    train = ["surrogate", "train", str(built / "kv64.csv"), "-o", str(model), "--epochs", "1", "--start", "scratch",
             "--prior-curves", "100"]
    assert CliRunner().invoke(cli, train).exit_code == 0
    result = CliRunner().invoke(cli, ["surrogate", "build", str(built / "kv256.csv"), str(built / "other.csv"),
                                      "-o", str(tmp_path / "fc"), "--start", str(model), "--cutoffs", "0.5"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "fc" / "build.json").read_text())
    assert record["settings"]["surrogate"]["start"] == str(model)
    assert load_surrogate(tmp_path / "fc" / "surrogate.npz").calibration is not None


@pytest.mark.parametrize("arguments, expected", [
    (["{kv64}", "{kv256}", *TINY], "at least two image sets"),
    (["{kv64}", "{root}/absent.csv", *TINY], "absent.csv: file not found"),
    (["{kv64}", "{other}", "--pretrain", "--start", "shipped"], "--pretrain and --start"),
    (["{kv64}", "{other}", "--epochs", "3"], "--epochs: only with --pretrain or --fine-tune"),
    (["{kv64}", "{other}", "--image-set", "{root}/nowhere.csv=x"], "nowhere.csv is not among the CURVES"),
])
def test_bad_build_input_exits_2_with_one_line_and_writes_nothing(built, tmp_path, arguments, expected):
    where = {"kv64": built / "kv64.csv", "kv256": built / "kv256.csv", "other": built / "other.csv", "root": tmp_path}
    args = [a.format(**where) for a in arguments]
    result = CliRunner().invoke(cli, ["surrogate", "build", *args, "-o", str(tmp_path / "fc")])
    assert expected in one_error(result)
    assert not (tmp_path / "fc").exists()


def test_an_unwritable_output_is_refused_before_the_curves_are_read(tmp_path):
    (tmp_path / "a_file").write_text("")
    result = CliRunner().invoke(cli, ["surrogate", "build", str(tmp_path / "absent.csv"),
                                      "-o", str(tmp_path / "a_file" / "fc")])
    assert "a_file is a file, not a folder" in one_error(result)


def test_forecast_refuses_a_folder_that_is_not_a_forecaster(built, tmp_path):
    result = CliRunner().invoke(cli, ["forecast", str(built / "kv64.csv"), "--forecaster", str(tmp_path)])
    assert "not a complete forecaster folder, it lacks ensemble.json" in one_error(result)


@pytest.mark.parametrize("part, field, value, problem", [
    ("decisions", "reached", "lots", "reached: expected a number, got str"),
    ("decisions", "decisions", -3, "decisions: -3 must not be negative"),
    ("rows", "mae", None, "mae: expected a number, got null"),
])
def test_a_backtest_summary_of_the_wrong_types_is_one_error_naming_the_file_and_row(built, tmp_path, part, field,
                                                                                    value, problem):
    import shutil

    from test_forecaster_folder import reseal

    folder = tmp_path / "fc"
    shutil.copytree(built / "fc", folder)
    summary = json.loads((folder / "backtest_summary.json").read_text())
    index = max(i for i, r in enumerate(summary[part]) if r["held_out"] == "all" and r.get("method", "lstm") == "lstm")
    summary[part][index][field] = value  # a row the forecast quotes: pooled, of the method used
    (folder / "backtest_summary.json").write_text(json.dumps(summary))
    reseal(folder)  # as a build would have written it: the file's schema, not its checksum, refuses it
    result = CliRunner().invoke(cli, ["forecast", str(built / "kv64.csv"), "--forecaster", str(folder),
                                      "--target-dice", "0.7", "--json", str(tmp_path / "plan.json")])
    assert one_error(result) == f"error: {folder / 'backtest_summary.json'}: {part}[{index}].{problem}"
    assert not (tmp_path / "plan.json").exists()


def test_the_report_names_the_forecaster_its_trust_figures_come_from(built, tmp_path):
    partial = tmp_path / "mine.csv"
    partial.write_text("n_train,dice\n10,0.62\n20,0.70\n40,0.76\n80,0.79\n")
    plan, pdf = tmp_path / "plan.json", tmp_path / "report.pdf"
    forecast = ["forecast", str(partial), "--forecaster", str(built / "fc"), "--json", str(plan)]
    assert CliRunner().invoke(cli, forecast).exit_code == 0
    result = CliRunner().invoke(cli, ["report", "--plan", str(plan), "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(pdf).pages)  # no line breaks to trip on
    assert "".join(f"the forecaster in {built / 'fc'} was built from".split()) in text
    assert "shippedwithsamplecast" not in text and "--forecaster" in text


def test_curves_too_short_to_backtest_are_named_before_any_training(built, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("dataset,n_train,dice\nshort,10,0.5\nshort,20,0.6\nshort,40,0.65\n")
    result = CliRunner().invoke(cli, ["surrogate", "build", str(built / "kv64.csv"), str(short),
                                      "-o", str(tmp_path / "fc"), "--pretrain", "--prior-curves", str(10**9)])
    assert "short.csv: no curve has at least 3 sizes below any cutoff" in one_error(result)


def test_the_same_curves_under_two_names_are_refused_naming_both(built, tmp_path):
    """Counted as two image sets, a curve would be scored held out by a forecaster that learned it."""
    renamed = tmp_path / "renamed.csv"
    renamed.write_text((built / "other.csv").read_text().replace("other,", "polyps,"))
    result = CliRunner().invoke(cli, ["surrogate", "build", str(built / "kv64.csv"), str(built / "other.csv"),
                                      str(renamed), "-o", str(tmp_path / "fc"), *TINY])
    assert one_error(result) == (f"error: {built / 'other.csv'} (dataset other) and {renamed} (dataset polyps): 2 "
                                 "curves with the same sizes and Dice values under both names; give each curve once, "
                                 "or a held-out backtest figure would be scored on curves the forecaster learned from")
    assert not (tmp_path / "fc").exists()


@pytest.mark.slow
def test_ctrl_c_during_a_build_exits_130_with_one_line_and_leaves_the_old_folder(built, tmp_path):
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    out = shutil.copytree(built / "fc", tmp_path / "fc")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    log = tmp_path / "stderr.txt"
    command = [sys.executable, "-c", "from samplecast.cli import main; main()", "surrogate", "build",
               str(built / "kv64.csv"), str(built / "other.csv"), "-o", str(out), "--pretrain", "--hidden", "16",
               "--epochs", "200", "--prior-curves", "2000"]
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"},
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while "epoch 1/" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    lines = log.read_text().strip().splitlines()
    assert lines[-1] == "interrupted" and not any("Traceback" in line or "Aborted" in line for line in lines)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc", "stderr.txt"]
