"""The command line in real processes. Ctrl-C (SIGINT), at whatever moment it lands once Python has started: exit code
130, one line on stderr, and no output file, partial or whole, left behind. A write that fails (here: beyond the
process's file-size limit, as a full disk fails it): one ``error:`` line naming the file, exit code 2."""

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CURVES = Path(__file__).resolve().parents[1] / "data" / "kvasir_reference_curves.csv"
MORE_CURVES = CURVES.with_name("la2018_cpu_curves.csv")  # more curves: a forecast of a few seconds' CPU time


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
@pytest.mark.parametrize(("command", "after_ticks"), [
    (["forecast", str(MORE_CURVES), "--target-dice", "0.8", "--json", "plan.json"], 15),  # loading the command line
    (["forecast", str(MORE_CURVES), "--target-dice", "0.8", "--json", "plan.json"], 80),  # fitting
    (["report", str(CURVES), "--target-dice", "0.8", "-o", "report.pdf"], 150),         # fitting or typesetting
    (["backtest", str(CURVES), "--json", "backtest.json"], 100),
])
def test_ctrl_c_exits_130_with_one_line_and_writes_nothing(tmp_path, command, after_ticks):
    process = subprocess.Popen([sys.executable, "-c", "from samplecast.cli import main; main()", *command],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while _cpu_ticks(process.pid) < after_ticks and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the command finished before Ctrl-C; give it more work"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted"), err
    assert list(tmp_path.iterdir()) == []


def _small_files_only() -> None:
    """In the child: writes beyond 20 kB fail with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.parametrize("command", [
    ["report", str(CURVES), "--target-dice", "0.8", "-o", "report.pdf"],
    ["forecast", str(CURVES), "--target-dice", "0.8", "--pool-size", "1000", "--json", "report.pdf"],
])
def test_a_write_that_fails_is_one_error_line_and_exit_2(tmp_path, command):
    result = subprocess.run([sys.executable, "-c", "from samplecast.cli import main; main()", *command], cwd=tmp_path,
                            capture_output=True, text=True, preexec_fn=_small_files_only,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "error: report.pdf: cannot write results there (File too large)"
    assert list(tmp_path.iterdir()) == []
