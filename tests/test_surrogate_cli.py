"""`samplecast surrogate train`: trains on a user's curves tables and reports bad input, all of it, with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.forecast.surrogate import LSTMForecaster, load_surrogate


def write_curves(path, seeds=(0, 1, 2)):
    rows = ["dataset,seed,n_train,dice"]
    for seed in seeds:
        for n in (10, 20, 40, 80, 160):
            rows.append(f"mine,{seed},{n},{0.8 - 0.5 * n ** -0.5 + 0.01 * seed:.4f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_writes_a_model_that_forecasts(tmp_path):
    corpus = write_curves(tmp_path / "curves.csv")
    held_out = write_curves(tmp_path / "held_out.csv", seeds=(5, 6))
    out = tmp_path / "model.npz"
    result = CliRunner().invoke(cli, ["surrogate", "train", str(corpus), "-o", str(out), "--epochs", "1",
                                      "--start", "scratch", "--prior-curves", "300", "--calibrate", str(held_out)])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "uncalibrated" not in result.output
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["training"]["corpus"] == "3 user curves + prior: 300 synthetic curves"
    assert meta["calibration"] is not None
    q = LSTMForecaster(load_surrogate(out)).fit([10, 20, 40], [0.6, 0.68, 0.72]).predict_quantiles([160])
    assert np.all(np.diff(q) >= 0)


def test_fine_tunes_a_model_it_wrote_and_says_when_intervals_are_uncalibrated(tmp_path):
    corpus = write_curves(tmp_path / "curves.csv")
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    base = ["surrogate", "train", str(corpus), "--epochs", "1", "--prior-curves", "100"]
    assert CliRunner().invoke(cli, base + ["-o", str(first), "--start", "scratch"]).exit_code == 0
    result = CliRunner().invoke(cli, base + ["-o", str(second), "--start", str(first)])
    assert result.exit_code == 0, result.output
    assert "uncalibrated" in result.output
    assert json.loads(second.with_suffix(".json").read_text())["training"]["fine_tuned_from"] is not None


def test_every_bad_input_is_reported_with_exit_code_2(tmp_path):
    no_dice = tmp_path / "no_dice.csv"
    no_dice.write_text("n_train,score_x\n10,0.5\n")
    result = CliRunner().invoke(cli, ["surrogate", "train", str(no_dice), str(tmp_path / "absent.csv"),
                                      "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert "no_dice.csv: missing required column dice" in errors[0]
    assert "absent.csv: file not found" in errors[1]


def test_a_missing_start_model_is_bad_input(tmp_path):
    corpus = write_curves(tmp_path / "curves.csv")
    result = CliRunner().invoke(cli, ["surrogate", "train", str(corpus), "-o", str(tmp_path / "m.npz"),
                                      "--start", str(tmp_path / "nowhere.npz")])
    assert result.exit_code == 2
    assert "nowhere.npz: file not found" in result.output


def one_error(result) -> str:
    """The single ``error:`` line of a run that must fail with exit code 2 and no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("output, expected", [
    ("model.json", "model.json: surrogate weights are written to a .npz file"),
    ("model", "model: surrogate weights are written to a .npz file"),
    ("a_file/model.npz", "a_file is a file, not a folder"),
])
def test_an_output_that_cannot_hold_the_weights_is_refused_before_any_work(tmp_path, output, expected):
    corpus = write_curves(tmp_path / "curves.csv")
    (tmp_path / "a_file").write_text("")
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(cli, ["surrogate", "train", str(corpus), str(tmp_path / "absent.csv"),
                                      "-o", str(tmp_path / output)])
    assert expected in one_error(result)  # reported before the (also bad) corpus is read
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("lr", ["nan", "inf", "-inf", "0"])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(tmp_path, lr):
    corpus = write_curves(tmp_path / "curves.csv")
    result = CliRunner().invoke(cli, ["surrogate", "train", str(corpus), "-o", str(tmp_path / "m.npz"), "--lr", lr])
    assert "lr" in one_error(result)
    assert not (tmp_path / "m.npz").exists()


def test_a_curve_of_200000_sizes_trains_without_padding_to_its_length(tmp_path):
    n = np.arange(1, 200_001)
    table = tmp_path / "long.csv"
    table.write_text("n_train,dice\n" + "\n".join(f"{k},{0.9 - 0.5 / k ** 0.5:.5f}" for k in n) + "\n")
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(cli, ["surrogate", "train", str(table), "-o", str(out), "--epochs", "1",
                                      "--start", "scratch", "--prior-curves", "200"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.with_suffix(".json").read_text())["training"]["curves"] < 300
