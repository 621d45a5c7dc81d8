"""A sweep that grows with its dataset between annotation rounds: earlier runs kept, test and validation cases fixed,
new subsets extending the old order, absolute sizes, and removed or changed cases refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.data import write_synthetic_2d
from samplecast.data.splits import check_fractions, pool_order
from samplecast.errors import InputError
from samplecast.train.config import SweepConfig, TrainSettings
from samplecast.train.store import RunStore
from samplecast.train.sweep import run_sweep

TINY = TrainSettings(steps=2, batch_size=4, val_every=1)

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(data: Path, out: Path, **options) -> SweepConfig:
    values = {"fractions": (0.5, 1.0), "depths": (2,), "image_size": 32, "device": "cpu", "engine": "local",
              "train": TINY, **options}
    return SweepConfig(data, out, **values)


def _read(out: Path, name: str) -> dict:
    return json.loads((out / name).read_text())


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A sweep on 24 cases, resumed after the dataset grew to 28 (fractions, and a size equal to a recorded run),
    then to 32 (a size from the command line); each stage's results folder copied aside."""
    torch.set_num_threads(1)
    data, out = tmp_path_factory.mktemp("growing"), tmp_path_factory.mktemp("out")
    stages = tmp_path_factory.mktemp("stages")
    write_synthetic_2d(data, n_cases=24, size=32, seed=0)
    run_sweep(_config(data, out))
    shutil.copytree(out, stages / "first")
    write_synthetic_2d(data, n_cases=28, size=32, seed=0)  # the same first 24 cases, and 4 more
    run_sweep(_config(data, out, sizes=(17,)))
    shutil.copytree(out, stages / "second")
    write_synthetic_2d(data, n_cases=32, size=32, seed=0)
    result = CliRunner().invoke(cli, ["sweep", str(data), "--out", str(out), "--sizes", "23", "--depths", "2",
                                      "--steps", "2", "--batch-size", "4", "--val-every", "1", "--min-epochs", "0",
                                      "--image-size", "32", "--device", "cpu", "--engine", "local",
                                      "--no-check-convergence"])
    assert result.exit_code == 0, result.output
    return data, out, stages


def test_earlier_runs_are_kept_and_not_trained_again(grown):
    _, out, stages = grown
    first = {r["run_id"]: r for r in RunStore(stages / "first").records()}
    now = {r["run_id"]: r for r in RunStore(out).records()}
    assert len(first) == 2 and set(first) <= set(now)
    assert all(now[run_id] == record for run_id, record in first.items())  # same ids, Dice, start times
    assert _read(out, "config.json")["protocol_id"] == _read(stages / "first", "config.json")["protocol_id"]
    assert sorted(r["n_train"] for r in now.values()) == [9, 11, 17, 21, 23]  # 17 asked as a size: the same run
    assert {r["n_train"]: r["pool_version"] for r in now.values()} == {9: 0, 11: 0, 17: 0, 21: 1, 23: 2}


def test_test_and_validation_cases_stay_and_new_subsets_extend_the_old_order(grown):
    _, out, stages = grown
    before, after = _read(stages / "first", "cases/seed0/splits.json"), _read(out, "cases/seed0/splits.json")
    assert (after["val"], after["test"]) == (before["val"], before["test"])
    added = [f"case_{i:04d}" for i in range(24, 32)]
    assert set(after["pool"]) == {*before["pool"], *added}
    assert after["subsets"]["23"][:17] == before["subsets"]["17"] == after["subsets"]["17"]
    assert after["subsets"]["21"] == after["subsets"]["23"][:21]


def test_the_rounds_say_which_cases_were_added_when(grown):
    _, out, _ = grown
    rounds = _read(out, "config.json")["dataset"]["rounds"]
    assert [entry["pool"] for entry in rounds] == [17, 21, 25]
    assert len(rounds[0]["added"]) == 24 and rounds[2]["added"] == [f"case_{i:04d}" for i in range(28, 32)]
    assert all(entry["first_seen"] for entry in rounds)


def test_a_removed_or_changed_case_is_an_input_error_naming_it(grown, tmp_path):
    data, out, _ = grown
    for change in ("remove", "edit"):
        copy, results = tmp_path / change / data.name, tmp_path / change / "out"  # the same dataset name
        shutil.copytree(data, copy)
        shutil.copytree(out, results)
        if change == "remove":
            for folder in ("images", "masks"):
                (copy / folder / "case_0003.png").unlink()
        else:
            shutil.copy(copy / "images" / "case_0001.png", copy / "images" / "case_0003.png")
        records = sorted(p.name for p in (results / "runs").iterdir())
        with pytest.raises(InputError) as caught:
            run_sweep(_config(copy, results, fractions=None, sizes=(23,)))
        (problem,) = caught.value.problems
        assert "case case_0003" in problem and ("missing" if change == "remove" else "changed") in problem
        assert sorted(p.name for p in (results / "runs").iterdir()) == records


def test_sizes_above_the_pool_or_repeating_a_fraction_are_refused():
    with pytest.raises(InputError) as caught:
        check_fractions(20, [0.5], [10, 30])
    assert [line.split(";")[0] for line in caught.value.problems] == [
        "size 30: more than the 20 case(s) of the training pool (annotate more, or ask for at most 20)"]
    with pytest.raises(InputError) as caught:
        check_fractions(20, [0.5], [10])
    assert caught.value.problems[0].startswith("fraction 0.5 and size 10 all give 10 training case(s)")


def test_the_pool_order_keeps_each_batch_after_the_earlier_ones():
    old, new = [f"c{i}" for i in range(10)], ["n1", "n2", "n3"]
    for seed in range(3):
        order = pool_order([old, new], seed)
        assert order[:10] == pool_order([old], seed) and sorted(order[10:]) == new
