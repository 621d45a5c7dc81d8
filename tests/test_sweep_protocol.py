"""The training protocol of a sweep: a step budget that grows with the training set, and the convergence check."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.cli.sweep import not_converged_warning
from samplecast.curves import TRAINER_COLUMNS, load_table
from samplecast.train.config import CONVERGENCE_TOLERANCE, SweepConfig, TrainSettings, protocol_id
from samplecast.train.record import read_convergence
from samplecast.train.sweep import run_sweep

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def checked(polyps, tmp_path_factory):
    """A two-depth sweep with a minimum of two epochs per run and the convergence check."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("checked")
    config = SweepConfig(polyps, out, fractions=(0.5, 1.0), depths=(2, 3), image_size=32, device="cpu",
                         check_convergence=True, train=TrainSettings(steps=4, batch_size=4, val_every=2,
                                                                     min_epochs=2))
    states = []
    return config, run_sweep(config, progress=states.append), states


def test_the_step_budget_grows_to_the_minimum_epochs():
    settings = TrainSettings(steps=100, batch_size=16, min_epochs=10)
    assert settings.steps_for(80) == 100 and settings.steps_for(720) == 450 and settings.steps_for(161) == 101
    assert TrainSettings(steps=100, batch_size=16).steps_for(720) == 100  # min_epochs 0: the fixed budget
    resolved = settings.for_size(720)
    assert (resolved.steps, resolved.min_epochs, resolved.val_interval) == (450, 0, 45)


def test_a_fixed_budget_keeps_the_run_ids_it_had_before_min_epochs_existed():
    key = {"name": "d", "cases": "abc", "shape": [3, 32, 32]}
    fixed = SweepConfig("d", "o", image_size=32, train=TrainSettings(steps=10))
    assert "min_epochs" not in fixed.protocol()["train"]
    growing = SweepConfig("d", "o", image_size=32, train=TrainSettings(steps=10, min_epochs=5))
    assert growing.protocol()["train"]["min_epochs"] == 5
    assert protocol_id(key, fixed.protocol()) != protocol_id(key, growing.protocol())
    assert TrainSettings(min_epochs=float("nan")).problems() and TrainSettings(min_epochs=-1).problems()


def test_each_run_records_the_steps_it_used(checked):
    _, table, _ = checked
    assert list(table.columns) == list(TRAINER_COLUMNS)  # the curves table keeps its schema
    small, large = table[table["depth"] == 2].itertuples()
    assert (small.n_train, small.steps) == (9, 5) and (large.n_train, large.steps) == (17, 9)  # ceil(2 n / 4)
    assert large.epochs == pytest.approx(9 * 4 / 17, abs=1e-3)


def test_the_convergence_check_trains_the_largest_fraction_with_twice_the_steps(checked):
    config, table, states = checked
    assert states[-1].total == 6 and states[-1].checks == 2 and states[-1].done == 6
    assert len(table) == 4 and len(load_table(config.out / "curves.csv")) == 4  # checks stay out of the curves
    convergence = read_convergence(config.out)
    assert convergence["checked"] and convergence["fraction"] == 1.0 and convergence["seed"] == 0
    assert (convergence["steps"], convergence["double_steps"]) == (9, 18)
    by_depth = {entry["depth"]: entry for entry in convergence["depths"]}
    for depth in (2, 3):
        run = table[(table["depth"] == depth) & (table["fraction"] == 1.0)].iloc[0]
        check = json.loads((config.out / "runs" / f"{by_depth[depth]['check_run_id']}.json").read_text())
        assert by_depth[depth]["dice"] == pytest.approx(run["dice"]) and check["steps"] == 18
        assert check["convergence_check_of"] == run["run_id"]
        assert by_depth[depth]["change"] == pytest.approx(check["dice"] - run["dice"], abs=1e-6)
    changes = [abs(entry["change"]) for entry in convergence["depths"]]
    assert convergence["converged"] == all(change < CONVERGENCE_TOLERANCE for change in changes)
    assert "floor" not in convergence  # two epochs set every budget here: no size trains at the floor


def test_the_largest_set_the_step_floor_trains_is_checked_with_twice_the_floor(polyps, tmp_path):
    # one epoch at least: 4 and 9 cases train the 4-step floor, 17 cases 5 steps
    config = SweepConfig(polyps, tmp_path, fractions=(0.25, 0.5, 1.0), depths=(2,), image_size=32, device="cpu",
                         check_convergence=True, train=TrainSettings(steps=4, batch_size=4, val_every=2,
                                                                     min_epochs=1))
    states = []
    table = run_sweep(config, progress=states.append)
    assert states[-1].checks == 2 and states[-1].done == 5 and len(table) == 3
    convergence = read_convergence(tmp_path)
    assert (convergence["n_train"], convergence["steps"], convergence["double_steps"]) == (17, 5, 10)
    floor = convergence["floor"]
    assert (floor["fraction"], floor["n_train"], floor["steps"], floor["double_steps"]) == (0.5, 9, 4, 8)
    (entry,) = floor["depths"]
    run = table[table["n_train"] == 9].iloc[0]
    check = json.loads((tmp_path / "runs" / f"{entry['check_run_id']}.json").read_text())
    assert (check["n_train"], check["steps"], check["convergence_check_of"]) == (9, 8, run["run_id"])
    assert entry["change"] == pytest.approx(check["dice"] - run["dice"], abs=1e-6)
    changes = [abs(e["change"]) for e in (*convergence["depths"], *floor["depths"])]
    assert convergence["converged"] == all(change < CONVERGENCE_TOLERANCE for change in changes)
    again = []
    run_sweep(replace(config, check_convergence=False), progress=again.append)  # the verdict outlives the flag
    assert again[-1].total == 0 and read_convergence(tmp_path) == convergence


def test_the_warning_names_each_check_that_moved_and_the_budget_to_raise():
    moved = {"converged": False, "tolerance": 0.01, "depths": [{"depth": 3, "change": 0.018}],
             "floor": {"steps": 1200, "n_train": 347, "depths": [{"depth": 3, "change": 0.0601}]}}
    assert not_converged_warning(moved) == (
        "warning: not converged: twice the steps on the largest fraction moved test Dice by depth 3 +0.018; twice the "
        "1,200-step floor on 347 cases moved test Dice by depth 3 +0.060; the curve measures the step budget as much "
        "as the data (raise --steps and --min-epochs)")
    floor_only = {**moved, "depths": [{"depth": 3, "change": -0.004}]}
    assert not_converged_warning(floor_only).startswith("warning: not converged: twice the 1,200-step floor")
    assert not_converged_warning(floor_only).endswith("(raise --steps)")
    assert not_converged_warning({**moved, "converged": True}) is None and not_converged_warning({}) is None


def test_a_rerun_reuses_the_convergence_check(checked):
    config, table, _ = checked
    states = []
    again = run_sweep(config, progress=states.append)
    assert states[-1].total == 0 and again["dice"].tolist() == table["dice"].tolist()
    assert read_convergence(config.out)["converged"] is not None


def test_a_later_sweep_without_the_check_keeps_the_verdict(checked, tmp_path):
    config, table, _ = checked
    out = shutil.copytree(config.out, tmp_path / "copy")  # the shared sweep stays as it is
    before = read_convergence(out)
    more = run_sweep(replace(config, out=out, seeds=(1,), fractions=(1.0, 0.5), check_convergence=False))
    assert sorted(more["seed"].unique()) == [0, 1] and len(more) == 2 * len(table)
    assert read_convergence(out) == before and before["checked"] and before["seed"] == 0


def test_without_the_check_the_sweep_says_it_did_not_check(polyps, tmp_path):
    config = SweepConfig(polyps, tmp_path, fractions=(1.0,), depths=(2,), image_size=32, device="cpu",
                         train=TrainSettings(steps=2, batch_size=4))
    run_sweep(config)
    assert read_convergence(tmp_path) == {"checked": False, "converged": None}
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1
    assert read_convergence(tmp_path / "nowhere") is None


def test_cli_warns_when_twice_the_steps_moves_dice(polyps, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path), "--fractions", "0.5,1",
                                      "--depths", "2", "--steps", "1", "--min-epochs", "0", "--batch-size", "2",
                                      "--image-size", "32", "--device", "cpu", "--lr", "0.01"])
    assert result.exit_code == 0, result.output
    convergence = read_convergence(tmp_path)
    assert convergence["double_steps"] == 2
    assert convergence["converged"] is False  # one step against two: far from converged
    assert "floor" not in convergence  # every run trains exactly --steps: the largest check is the floor's
    assert f"warning: not converged: twice the steps on the largest fraction moved test Dice by depth 2 " \
           f"{convergence['depths'][0]['change']:+.3f}" in result.output



def test_raising_min_epochs_trains_again_only_the_runs_whose_budget_grew(polyps, tmp_path):
    """Steps 6, batch 4: at one epoch both sizes (9 and 17 cases) get 6 steps; at two, 17 cases get 9 and 9 keep 6."""
    first = SweepConfig(polyps, tmp_path, fractions=(0.5, 1.0), depths=(2,), image_size=32, device="cpu",
                        train=TrainSettings(steps=6, batch_size=4, val_every=3, min_epochs=1))
    before = run_sweep(first)
    states = []
    after = run_sweep(replace(first, train=replace(first.train, min_epochs=2)), progress=states.append)
    assert states[-1].total == 1 and states[-1].done == 1  # only the 17-case run trained
    assert list(zip(after["n_train"], after["steps"])) == [(9, 6), (17, 9)]
    small = before[before["n_train"] == 9].iloc[0]
    assert after.loc[after["n_train"] == 9, "dice"].item() == small["dice"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
    reused = [r for r in records if "reused_from" in r]
    assert len(records) == 4 and len(reused) == 1 and reused[0]["n_train"] == 9
    original = next(r for r in records if r["run_id"] == reused[0]["reused_from"])
    assert original["protocol_id"] != reused[0]["protocol_id"] and original["dice"] == reused[0]["dice"]
    assert reused[0]["protocol"]["train"]["min_epochs"] == 2
    again = []
    run_sweep(replace(first, train=replace(first.train, min_epochs=2)), progress=again.append)
    assert again[-1].total == 0  # a rerun finds every run finished
    edited = tmp_path / "runs" / f"{original['run_id']}.json"  # a record whose protocol was edited by hand
    edited.write_text(json.dumps({**original, "protocol": "edited"}))
    third = []
    run_sweep(replace(first, train=replace(first.train, min_epochs=3)), progress=third.append)
    assert third[-1].total == 2  # no record to reuse at 3 epochs (7 and 13 steps); the edited one is passed over
