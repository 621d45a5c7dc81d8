"""Complete tiny sweeps: rows and columns of the curves table, nested case lists, resume, grid extension, failed
runs, 3D volumes, the submitit engine and the command line's handling of bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.curves import TRAINER_COLUMNS, load_table
from samplecast.data import write_synthetic_2d, write_synthetic_3d
from samplecast.errors import InputError
from samplecast.train.config import SubmititOptions, SweepConfig, TrainSettings
from samplecast.train.inputs import load_sweep_data
from samplecast.train.sweep import run_sweep

TINY = TrainSettings(steps=4, batch_size=4, val_every=2)

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(data, out, **options) -> SweepConfig:
    values = {"fractions": (0.5, 1.0), "depths": (2,), "seeds": (0,), "image_size": 32, "device": "cpu",
              "train": TINY, **options}
    return SweepConfig(data, out, **values)


def _sweep(config: SweepConfig) -> tuple[pd.DataFrame, list]:
    states = []
    return run_sweep(config, progress=states.append), states


@pytest.fixture(scope="module")
def finished(polyps, tmp_path_factory):
    """A finished two-run sweep, shared read-only; tests that change it work on a copy."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sweep")
    table, _ = _sweep(_config(polyps, out))
    return out, table


def _copy(finished, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(finished[0], out)
    return out


def _mtimes(out):
    return {path.name: path.stat().st_mtime_ns for path in (out / "runs").glob("*.json")}


def test_sweep_writes_one_trainer_row_per_run(finished):
    out, table = finished
    assert list(table.columns) == list(TRAINER_COLUMNS)
    assert len(table) == 2 and set(table["status"]) == {"ok"}
    assert table["n_train"].tolist() == [9, 17] and table["fraction"].tolist() == [0.5, 1.0]
    assert set(table["model"]) == {"resunet"} and set(table["n_test"]) == {5} and set(table["steps"]) == {4}
    assert table["dice"].between(0, 1).all() and table["run_id"].is_unique
    on_disk = load_table(out / "curves.csv")
    assert on_disk["dice"].tolist() == pytest.approx(table["dice"].tolist(), abs=1e-6)
    record = json.loads((out / "runs" / f"{table['run_id'][0]}.json").read_text())
    assert len(record["test_dice"]) == 5 and record["device"] == "cpu"


def test_sweep_records_config_versions_and_device(finished):
    written = json.loads((finished[0] / "config.json").read_text())
    assert written["config"]["train"]["steps"] == 4 and written["config"]["fractions"] == [0.5, 1.0]
    assert written["packages"]["torch"] and written["packages"]["monai"]
    assert written["machine"]["device"] == "cpu" and written["dataset"]["pool"] == 17


def test_case_lists_are_nested_and_disjoint_from_test_and_validation(finished):
    splits = json.loads((finished[0] / "cases" / "seed0" / "splits.json").read_text())
    small, large = splits["subsets"]["9"], splits["subsets"]["17"]
    assert len(small) == 9 and large[:9] == small and sorted(large) == sorted(splits["pool"])
    assert not set(large) & (set(splits["test"]) | set(splits["val"]))


def test_rerunning_a_finished_sweep_trains_nothing(finished, polyps, tmp_path):
    out = _copy(finished, tmp_path)
    before = _mtimes(out)
    table, states = _sweep(_config(polyps, out))
    assert states[-1].total == 0 and states[-1].finished_before == 2
    assert _mtimes(out) == before
    assert table["dice"].tolist() == pytest.approx(finished[1]["dice"].tolist(), abs=1e-6)


def test_widening_the_grid_trains_only_the_new_cells(finished, polyps, tmp_path):
    out = _copy(finished, tmp_path)
    before = _mtimes(out)
    table, states = _sweep(_config(polyps, out, fractions=(0.25, 0.5, 1.0)))
    assert states[-1].total == 1 and states[-1].done == 1
    assert {k: v for k, v in _mtimes(out).items() if k in before} == before
    assert table["n_train"].tolist() == [5, 9, 17] and table["run_id"].is_unique


def test_a_changed_protocol_makes_new_runs_instead_of_mixing(finished, polyps, tmp_path):
    out = _copy(finished, tmp_path)
    table, states = _sweep(_config(polyps, out, train=TrainSettings(steps=3, batch_size=4)))
    assert states[-1].total == 2
    assert set(table["steps"]) == {3} and len(table) == 2
    assert len(list((out / "runs").glob("*.json"))) == 4  # the first protocol's runs are kept, not tabled


def test_sweep_gives_the_same_dice_again_on_cpu(finished, polyps, tmp_path):
    table, _ = _sweep(_config(polyps, tmp_path / "again"))
    assert table["dice"].tolist() == finished[1]["dice"].tolist()


def test_a_killed_sweep_resumes_without_losing_or_repeating_runs(polyps, tmp_path):
    config = _config(polyps, tmp_path / "killed")

    def stop_after_first_run(state):
        if state.done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, progress=stop_after_first_run)
    assert len(list((tmp_path / "killed" / "runs").glob("*.json"))) == 1
    table, states = _sweep(config)
    assert states[-1].total == 1 and states[-1].finished_before == 1
    assert len(table) == 2 and table["run_id"].is_unique


def test_a_diverging_run_is_recorded_as_failed_and_the_sweep_goes_on(polyps, tmp_path):
    config = _config(polyps, tmp_path / "nan", train=TrainSettings(steps=4, batch_size=4, lr=1e30, val_every=2))
    table, states = _sweep(config)
    assert states[-1].done == 2 and states[-1].failed == 2
    assert set(table["status"]) == {"failed"} and table["dice"].isna().all()
    record = json.loads(next((tmp_path / "nan" / "runs").glob("*.json")).read_text())
    assert "NaN or infinite" in record["error"]
    assert _sweep(config)[1][-1].total == 0  # recorded failures are not retried
    with pytest.raises(InputError, match="no rows with status 'ok'"):
        load_table(tmp_path / "nan" / "curves.csv")


def test_a_dataset_too_large_for_the_gpu_stays_in_cpu_memory(polyps, tmp_path):
    data = load_sweep_data(_config(polyps, tmp_path / "big"))
    with pytest.warns(RuntimeWarning, match="stays in CPU memory"):
        kept = data.for_training_on("cuda", share=0.5, gpu_memory=data.nbytes)  # would take 100% of the GPU
    assert kept.images is data.images and kept.images.device.type == "cpu"
    assert data.for_training_on("cpu").images.device.type == "cpu"


def test_sweep_on_3d_volumes(tmp_path):
    data = write_synthetic_3d(tmp_path / "lesions", n_cases=12, size=16, seed=0)
    table, _ = _sweep(SweepConfig(data, tmp_path / "out", fractions=(0.5, 1.0), depths=(2,), image_size=16,
                                  device="cpu", train=TrainSettings(steps=3, batch_size=2, val_every=3)))
    assert len(table) == 2 and set(table["status"]) == {"ok"}
    assert table["n_train"].tolist() == [5, 9] and table["dice"].between(0, 1).all()


@pytest.mark.slow
def test_submitit_engine_runs_the_grid_as_a_local_job_array(polyps, finished, tmp_path):
    options = SubmititOptions(cluster="local", gpus_per_job=0, cpus_per_task=1, timeout_min=5)
    config = _config(polyps, tmp_path / "array", fractions=(1.0,), engine="submitit", submitit=options)
    table, states = _sweep(config)  # one task: each task is a fresh Python process, slow to start
    assert states[-1].done == 1 and len(table) == 1 and set(table["status"]) == {"ok"}
    assert table["dice"].tolist() == finished[1]["dice"].tolist()[-1:]  # the same run as in this process
    assert any((tmp_path / "array" / "submitit").iterdir())  # the task's logs
    assert _sweep(config)[1][-1].total == 0


@pytest.mark.slow
def test_worker_processes_train_the_same_runs_as_this_process(polyps, finished, tmp_path):
    table, states = _sweep(_config(polyps, tmp_path / "workers", workers=2))
    assert states[-1].done == 2 and states[-1].failed == 0
    assert table["dice"].tolist() == finished[1]["dice"].tolist()  # the same seeds give the same runs


def test_cli_sweep_trains_and_prints_the_table(polyps, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path / "cli"), "--fractions", "0.5,1",
                                      "--depths", "2", "--steps", "2", "--min-epochs", "0", "--batch-size", "4",
                                      "--image-size", "32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "Trained 2 runs and 1 convergence check;" in result.output and "curves.csv" in result.output
    assert len(pd.read_csv(tmp_path / "cli" / "curves.csv")) == 2


def test_cli_reports_a_bad_dataset_with_exit_code_2_before_training(tmp_path):
    broken = write_synthetic_2d(tmp_path / "broken", n_cases=6, size=32, seed=0)
    (broken / "masks" / "case_0002.png").unlink()
    (broken / "images" / "case_0004.png").write_bytes(b"not an image")
    result = CliRunner().invoke(cli, ["sweep", str(broken), "--out", str(tmp_path / "out"), "--depths", "2",
                                      "--image-size", "32"])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert any("case_0002" in line for line in errors) and any("case_0004" in line for line in errors)
    assert not (tmp_path / "out" / "runs").exists()


def test_cli_reports_fractions_too_small_for_the_pool_and_bad_sizes_with_exit_code_2(polyps, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path / "out"), "--fractions",
                                      "0.01,0.5", "--depths", "2", "--image-size", "32"])
    assert result.exit_code == 2 and "error:" in result.output and "fraction 0.01" in result.output
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path / "out"), "--depths", "4,6",
                                      "--image-size", "36", "--format", "nifti"])
    assert result.exit_code == 2
    assert "does not suit depth 4" in result.output and "does not suit depth 6" in result.output
    assert "format 'nifti'" in result.output
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cli_reports_a_missing_gpu_with_exit_code_2(polyps, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(polyps), "--out", str(tmp_path / "out"), "--depths", "2",
                                      "--image-size", "32", "--device", "cuda"])
    assert result.exit_code == 2 and "no CUDA GPU" in result.output
