"""A sweep that never leaves a traceback: impossible depths found before training, a failing run recorded, one sweep
per folder, Ctrl-C and kill -9, damaged records, unwritable folders, narrowed grids."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.data import write_synthetic_2d
from samplecast.errors import InputError
from samplecast.train.config import Cell, SweepConfig, TrainSettings, size_problems
from samplecast.train.inputs import load_sweep_data
from samplecast.train.runs import resolve_runs, train_one
from samplecast.files import output_error, output_problems
from samplecast.train.store import LOCK_FILE, RunStore, SweepLock
from samplecast.train.sweep import SweepInterrupted, run_sweep

TINY = TrainSettings(steps=4, batch_size=4, val_every=2)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    """40 synthetic RGB cases of 32 px, as in the report of the depth-6 crash."""
    return write_synthetic_2d(tmp_path_factory.mktemp("toy"), n_cases=40, size=32, seed=0)


def _config(data, out, **options) -> SweepConfig:
    values = {"fractions": (0.5, 1.0), "depths": (2,), "seeds": (0,), "image_size": 32, "device": "cpu",
              "train": TINY, **options}
    return SweepConfig(data, out, **values)


@pytest.fixture(scope="module")
def finished(toy, tmp_path_factory):
    """A finished two-run sweep, shared read-only; tests that change it work on a copy."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(_config(toy, out))
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "sweep"))


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def _sweep_command(data, out, *options) -> list[str]:
    return ["sweep", str(data), "--out", str(out), "--image-size", "32", "--device", "cpu", *options]


def test_a_depth_too_deep_for_the_image_size_stops_the_sweep_before_training(toy, tmp_path):
    result = CliRunner().invoke(cli, _sweep_command(toy, tmp_path / "toy", "--fractions", "0.25,0.5,1",
                                                    "--steps", "20"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = _errors(result.output)
    assert "too small for depth 6" in line and "depths up to 5" in line and "at least 64" in line
    assert not (tmp_path / "toy").exists()


def test_impossible_option_values_are_all_reported_without_a_traceback(toy, tmp_path):
    result = CliRunner().invoke(cli, _sweep_command(toy, tmp_path / "out", "--fractions", "nan,-1,inf,1",
                                                    "--depths", "2,10000000000000000000000", "--lr", "nan",
                                                    "--seeds", "0,99999999999", "--min-epochs", "inf",
                                                    "--test-fraction", "nan"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = "\n".join(_errors(result.output))
    for expected in ("fraction nan ", "fraction -1 ", "fraction inf ", "depth 10000000000000000000000 must be",
                     "learning rate", "seed 99999999999 must", "minimum epochs", "test fraction"):
        assert expected in errors
    assert not (tmp_path / "out").exists()


def test_size_problems_check_the_deepest_level_of_volumes_too():
    assert size_problems((16, 16, 16), (4,)) == []
    (line,) = size_problems((16, 16, 16), (4, 5))
    assert "16x16x16 is too small for depth 5" in line
    assert size_problems((32, 64), (6,)) == []  # a 1x2 deepest level still normalises


def test_a_run_that_fails_anyway_is_recorded_as_failed(toy, tmp_path):
    config = _config(toy, tmp_path / "out", depths=(6,))  # past the checks: 32 px cannot reach depth 6
    data = load_sweep_data(_config(toy, tmp_path / "out"))
    (run,) = resolve_runs(config, data, [Cell(1.0, 6, 0)])
    record = train_one(config, data, run, device="cpu")
    assert record["status"] == "failed" and record["dice"] is None
    assert record["error"].startswith("ValueError: Expected more than 1 spatial element")
    assert RunStore(tmp_path / "out").has(record["run_id"])


def test_a_second_sweep_on_the_same_folder_names_the_holder_and_stops(toy, tmp_path):
    out = tmp_path / "out"
    with SweepLock(out):
        with pytest.raises(InputError, match=rf"another sweep .*pid {os.getpid()} on host {socket.gethostname()}"):
            run_sweep(_config(toy, out))
        result = CliRunner().invoke(cli, _sweep_command(toy, out, "--depths", "2", "--steps", "2"))
        assert result.exit_code == 2 and len(_errors(result.output)) == 1
    assert not (out / "runs").exists() and not (out / LOCK_FILE).exists()


def test_the_lock_of_a_process_that_died_is_taken_over(toy, tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out.mkdir()
    (out / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": "gone", "since": "yesterday"}))
    table = run_sweep(_config(toy, out, fractions=(1.0,)))
    assert len(table) == 1 and set(table["status"]) == {"ok"}


def test_ctrl_c_stops_the_sweep_keeping_the_finished_runs(toy, tmp_path, ctrl_c_enabled):
    config = _config(toy, tmp_path / "out")

    def interrupt_second_run(state):
        if state.done == 1 and state.step == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(config, progress=interrupt_second_run)
    assert (stopped.value.finished, stopped.value.total) == (1, 2)
    assert str(stopped.value) == "interrupted; 1 of 2 runs finished, rerun the same command to resume"
    assert len(list((tmp_path / "out" / "runs").glob("*.json"))) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    states = []
    table = run_sweep(config, progress=states.append)
    assert states[-1].finished_before == 1 and states[-1].done == 1 and len(table) == 2


def test_an_empty_or_damaged_record_counts_as_unfinished_with_a_warning(finished, toy, tmp_path):
    out = _copy(finished, tmp_path)
    first, second = sorted((out / "runs").glob("*.json"))
    first.write_text("")
    second.write_text('{"run_id": "trunc')
    states = []
    with pytest.warns(RuntimeWarning, match="counts as unfinished"):
        table = run_sweep(_config(toy, out), progress=states.append)
    assert states[-1].done == 2 and len(table) == 2 and set(table["status"]) == {"ok"}
    assert json.loads(first.read_text())["run_id"] == first.stem


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs the read-only /proc file system")
def test_an_unwritable_results_folder_is_reported_before_reading_the_data(toy):
    out = Path("/proc/samplecast-results")
    assert output_problems(out) and output_problems(Path(__file__).parent.parent) == []
    result = CliRunner().invoke(cli, _sweep_command(toy, out, "--depths", "2", "--steps", "2"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = _errors(result.output)
    assert line.startswith(f"error: {out}: cannot write results there")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_named_as_such():
    with pytest.raises(OSError) as full:
        with open("/dev/full", "w") as stream:
            stream.write("x")
    assert full.value.errno == errno.ENOSPC
    assert str(output_error("runs/x", full.value)) == "runs/x: cannot write results there (the disk is full)"


def test_narrowing_the_grid_keeps_describing_every_recorded_run(finished, toy, tmp_path):
    out = _copy(finished, tmp_path)
    table = run_sweep(_config(toy, out, fractions=(1.0,)))
    assert table["fraction"].tolist() == [0.5, 1.0]
    written = json.loads((out / "config.json").read_text())
    assert written["config"]["fractions"] == [0.5, 1.0]
    assert set(json.loads((out / "cases" / "seed0" / "splits.json").read_text())["subsets"]) == {"15", "29"}


@pytest.mark.slow
def test_cli_ctrl_c_exits_130_with_one_line(toy, tmp_path):
    out = tmp_path / "out"
    process = _start_cli(toy, out, "--steps", "400")
    _wait_for(lambda: any((out / "runs").glob("*.json")) if (out / "runs").exists() else False, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "interrupted; 1 of 2 runs finished, rerun the same command to resume" in stderr


@pytest.mark.slow
def test_kill_9_of_the_sweep_leaves_no_worker_training(toy, tmp_path):
    process = _start_cli(toy, tmp_path / "out", "--steps", "2000", "--workers", "2")
    workers = _wait_for(lambda: _training_children(process.pid), process, timeout=120)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived their parent"
        time.sleep(0.2)


@pytest.fixture
def ctrl_c_enabled():
    """Python's own Ctrl-C handler for the test, even where the test runner started with SIGINT ignored (a shell's
    background job)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _sigint_default() -> None:
    """In a child before exec: Ctrl-C as a terminal delivers it, so the child's Python installs its own handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_cli(data, out, *options) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", "from samplecast.cli import main; main()",
               *_sweep_command(data, out, "--depths", "2", "--fractions", "0.5,1", "--min-epochs", "0",
                               "--no-check-convergence", "--batch-size", "4", *options)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                            preexec_fn=_sigint_default)


def _wait_for(condition, process: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if process.poll() is not None:
            raise AssertionError(f"the sweep ended early: {process.communicate()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def _training_children(parent: int) -> list[int]:
    """Worker processes of ``parent`` that have been running a few seconds (so they are past start-up)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and int(fields[11]) + int(fields[12]) > 300:  # CPU ticks: past importing
            children.append(int(stat.parent.name))
    return children if len(children) >= 2 else []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
