"""Inputs that are not what a command expects, each refused before any work with one ``error:`` line and exit code 2:
files that are not regular files, tables over their limits, a semicolon-separated table, an output that is one of the
inputs, a pool too large to plan for, a lock file that is a folder. Labels reach the terminal as plain text."""

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast import curves as curves_module
from samplecast.cli import cli
from samplecast.errors import InputError
from samplecast.train.store import LOCK_FILE, SweepLock

CURVES = Path(__file__).resolve().parents[1] / "data" / "kvasir_reference_curves.csv"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize("make", [lambda path: os.mkfifo(path), None], ids=["fifo", "device"])
def test_a_table_that_is_not_a_regular_file_is_refused_unread(tmp_path, make):
    path = tmp_path / "curves.csv"
    if make:
        make(path)
    else:
        path = Path("/dev/zero")
    line = refused(run("forecast", path))
    assert line == (f"error: {path}: not a regular file (a pipe, a device or a socket); expected a curves table "
                    "(.csv or .parquet)")


def test_tables_over_the_limits_are_refused_naming_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "curves.csv"
    pd.DataFrame({"n_train": range(1, 31), "dice": 0.5}).to_csv(path, index=False)
    monkeypatch.setattr(curves_module, "MAX_ROWS", 20)
    with pytest.raises(InputError, match="more than 20 rows, the limit for a curves table"):
        curves_module.load_table(path)
    monkeypatch.setattr(curves_module, "MAX_TABLE_BYTES", 100)
    with pytest.raises(InputError, match=r"bytes, over the limit of 100 bytes for a curves table"):
        curves_module.load_table(path)


def test_a_semicolon_separated_table_gets_a_hint(tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("n_train;dice\n10;0,5\n20;0,6\n40;0,65\n")
    assert "its values look separated by semicolons; samplecast reads comma-separated tables" in refused(
        run("forecast", path))


@pytest.mark.parametrize("command", [
    ["forecast", "{curves}", "--json", "{curves}"],
    ["forecast", "{curves}", "--json", "{link}"],
    ["backtest", "{curves}", "--json", "{curves}"],
    ["report", "{curves}", "-o", "{curves}"],
])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, command):
    curves = tmp_path / "curves.csv"
    shutil.copy(CURVES, curves)
    (tmp_path / "link.csv").symlink_to(curves)
    line = refused(run(*(part.format(curves=curves, link=tmp_path / "link.csv") for part in command)))
    assert "is also an input of this command" in line
    assert curves.read_bytes() == CURVES.read_bytes()


def test_a_pool_too_large_to_plan_for_is_one_line():
    line = refused(run("forecast", CURVES, "--pool-size", "12345678901234567890"))
    assert line == ("error: pool_size 12,345,678,901,234,567,890 is more than 1,000,000,000 cases, the most "
                    "samplecast plans for")


def test_a_lock_file_that_is_a_folder_is_one_line(tmp_path):
    (tmp_path / LOCK_FILE).mkdir()
    with pytest.raises(InputError, match="the sweep's lock file cannot be opened"):
        SweepLock(tmp_path).acquire()


def test_labels_reach_the_terminal_without_control_characters(tmp_path):
    path = tmp_path / "curves.csv"
    rows = [{"dataset": "polyps\x1b[31mred\x07\u202e", "n_train": n, "dice": 0.8 - 1.2 * n**-0.5}
            for n in (20, 50, 100, 200)]
    pd.DataFrame(rows).to_csv(path, index=False)
    result = run("forecast", path, "--method", "pow3", "--target-dice", "0.7")
    assert result.exit_code == 0, result.output
    assert "polyps[31mred" in result.output
    assert not any(ch in result.output for ch in "\x1b\x07\u202e")
