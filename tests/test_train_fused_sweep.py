"""Sweeps with the fused engine: the same records as one run at a time (plus engine and group size), resume after a
kill, a group that runs out of memory split and retried, diverging runs recorded as failed, 3D volumes, and one
fused group per task of a submitit job array."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import samplecast.train.runs as runs_module
from samplecast.cli import cli
from samplecast.data import write_synthetic_3d
from samplecast.train.config import SubmititOptions, SweepConfig, TrainSettings
from samplecast.train.store import RunStore
from samplecast.train.sweep import run_sweep

TINY = TrainSettings(steps=6, batch_size=4, val_every=3)

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(data, out, **options) -> SweepConfig:
    values = {"fractions": (0.25, 0.5, 1.0), "depths": (2,), "seeds": (0, 1), "image_size": 32, "device": "cpu",
              "engine": "fused", "train": TINY, **options}
    return SweepConfig(data, out, **values)


def _sweep(config: SweepConfig):
    states = []
    return run_sweep(config, progress=states.append), states


def _by_cell(out):
    """Dice of each (fraction, depth, seed) from a sweep's records."""
    return {(r["fraction"], r["depth"], r["seed"]): r["dice"] for r in RunStore(out).records()}


@pytest.fixture(scope="module")
def local(polyps, tmp_path_factory):
    """The grid trained one run at a time, for comparison."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("local")
    run_sweep(_config(polyps, out, engine="local"))
    return out


def test_a_fused_sweep_records_the_runs_one_at_a_time_would(polyps, local, tmp_path):
    table, states = _sweep(_config(polyps, tmp_path / "fused"))
    assert states[-1].done == 6 and states[-1].failed == 0 and set(table["status"]) == {"ok"}
    assert sorted(table["run_id"]) == sorted(r["run_id"] for r in RunStore(local).records())  # same identities
    fused, alone = _by_cell(tmp_path / "fused"), _by_cell(local)
    assert fused.keys() == alone.keys() and all(abs(fused[cell] - alone[cell]) <= 1e-3 for cell in alone)
    records = RunStore(tmp_path / "fused").records()
    assert {(r["engine"], r["group_size"]) for r in records} == {("fused", 6)}
    assert all(r["group_wall_s"] >= r["wall_s"] > 0 for r in records)
    assert {(r["engine"], r["group_size"]) for r in RunStore(local).records()} == {("local", 1)}
    assert json.loads((tmp_path / "fused" / "config.json").read_text())["machine"]["device"] == "cpu"


def test_a_killed_fused_sweep_retrains_only_its_unfinished_runs(polyps, tmp_path):
    config = _config(polyps, tmp_path / "killed", group_size=3)

    def stop_after_first_group(state):
        if state.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, progress=stop_after_first_group)
    assert len(list((tmp_path / "killed" / "runs").glob("*.json"))) == 3
    table, states = _sweep(config)
    assert states[0].total == 3 and states[-1].done == 3 and states[-1].finished_before == 3
    assert len(table) == 6 and table["run_id"].is_unique


def test_a_group_out_of_memory_is_split_and_retried(polyps, local, tmp_path, monkeypatch):
    real = runs_module.fit_and_test_group
    sizes = []

    def fits_two_runs(images, masks, runs, *args, **kwargs):  # a device that holds two runs at once
        sizes.append(len(runs))
        if len(runs) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        yield from real(images, masks, runs, *args, **kwargs)

    monkeypatch.setattr(runs_module, "fit_and_test_group", fits_two_runs)
    table, states = _sweep(_config(polyps, tmp_path / "oom"))
    assert sizes == [6, 3, 1, 2, 3, 1, 2] and states[-1].failed == 0 and len(table) == 6
    fused, alone = _by_cell(tmp_path / "oom"), _by_cell(local)
    assert all(abs(fused[cell] - alone[cell]) <= 1e-3 for cell in alone)


def test_diverging_runs_of_a_fused_sweep_are_recorded_as_failed(polyps, tmp_path):
    config = _config(polyps, tmp_path / "nan", seeds=(0,), train=TrainSettings(steps=4, batch_size=4, lr=1e30,
                                                                               val_every=2))
    table, states = _sweep(config)
    assert states[-1].failed == 3 and set(table["status"]) == {"failed"}
    record = json.loads(next((tmp_path / "nan" / "runs").glob("*.json")).read_text())
    assert "NaN or infinite" in record["error"] and record["engine"] == "fused"
    assert _sweep(config)[1][-1].total == 0


def test_a_fused_sweep_on_3d_volumes(tmp_path):
    data = write_synthetic_3d(tmp_path / "lesions", n_cases=12, size=16, seed=0)
    config = SweepConfig(data, tmp_path / "out", fractions=(0.5, 1.0), depths=(2,), image_size=16, device="cpu",
                         engine="fused", train=TrainSettings(steps=3, batch_size=2, val_every=3))
    table, _ = _sweep(config)
    assert len(table) == 2 and set(table["status"]) == {"ok"} and table["dice"].between(0, 1).all()
    local, _ = _sweep(SweepConfig(**{**config.__dict__, "out": tmp_path / "local", "engine": "local"}))
    assert (table["dice"] - local["dice"]).abs().max() <= 1e-3


@pytest.mark.slow  # a fresh Python process; test_train_sweep covers the same path with a group of one
def test_submitit_sends_one_fused_group_per_task(polyps, local, tmp_path):
    config = _config(polyps, tmp_path / "array", engine="submitit", seeds=(0,),
                     submitit=SubmititOptions(cluster="local", timeout_min=10))
    table, states = _sweep(config)  # one task: each task is a fresh Python process, slow to start
    assert states[-1].done == 3 and set(table["status"]) == {"ok"}
    assert {(r["engine"], r["group_size"]) for r in RunStore(tmp_path / "array").records()} == {("submitit", 3)}
    fused, alone = _by_cell(tmp_path / "array"), _by_cell(local)
    assert all(abs(fused[cell] - alone[cell]) <= 1e-3 for cell in fused)
    assert len(list((tmp_path / "array" / "submitit").glob("*_result.pkl"))) == 1  # one task for the group


@pytest.mark.slow
def test_cli_sweep_takes_the_fused_engine_and_a_group_size(polyps, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path / "cli"), "--fractions", "0.5,1",
                                      "--depths", "2", "--steps", "2", "--batch-size", "4", "--image-size", "32",
                                      "--device", "cpu", "--engine", "fused", "--group-size", "1"])
    assert result.exit_code == 0, result.output
    assert {r["group_size"] for r in RunStore(tmp_path / "cli").records()} == {1}


def test_runs_with_their_own_step_budget_train_in_groups_of_equal_budget(polyps, tmp_path):
    settings = TrainSettings(steps=4, batch_size=4, val_every=2, min_epochs=1.5)  # 17 cases: 7 steps, others 4
    run_sweep(_config(polyps, tmp_path / "fused", train=settings))
    run_sweep(_config(polyps, tmp_path / "local", train=settings, engine="local"))
    records = RunStore(tmp_path / "fused").records()
    assert {(r["fraction"], r["steps"], r["group_size"]) for r in records} == {(0.25, 4, 4), (0.5, 4, 4),
                                                                                (1.0, 7, 2)}
    fused, alone = _by_cell(tmp_path / "fused"), _by_cell(tmp_path / "local")
    assert all(abs(fused[cell] - alone[cell]) <= 1e-3 for cell in alone)
