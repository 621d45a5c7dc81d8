"""The sweep record beside a curves table: found under either name, read for its convergence verdict, and a failed
check carried into the forecast's warnings (terminal and plan document), so nobody plans from a budget-bent curve
without being told."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.train.record import budget_warnings, convergence_moves, read_convergence, record_beside

NOT_CONVERGED = {
    "checked": True, "converged": False, "tolerance": 0.01, "fraction": 1.0, "seed": 0, "n_train": 693,
    "steps": 2166, "double_steps": 4332, "depths": [{"depth": 3, "dice": 0.764, "dice_at_double_steps": 0.7823,
                                                      "change": 0.0183}],
    "floor": {"fraction": 0.5, "seed": 0, "n_train": 347, "steps": 1200, "double_steps": 2400,
              "depths": [{"depth": 3, "dice": 0.659, "dice_at_double_steps": 0.719, "change": 0.0605}]},
}


def write_sweep(folder, convergence, name="curves.csv"):
    """A small rising curve as a sweep writes it, with its record (``config.json``, or ``<name>_config.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = (14, 21, 35, 52, 70, 104, 139)
    table = pd.DataFrame({"dataset": "wounds", "model": "resunet", "depth": 3, "seed": 0, "n_train": sizes,
                          "dice": [0.38 + 0.05 * i for i in range(len(sizes))]})
    curves = folder / name
    table.to_csv(curves, index=False)
    record_beside(curves).write_text(json.dumps({"config": {}, "convergence": convergence}))
    return curves


def test_the_record_lies_beside_a_sweeps_table_or_a_kept_copy(tmp_path):
    assert record_beside(tmp_path / "runs" / "curves.csv") == tmp_path / "runs" / "config.json"
    assert record_beside(tmp_path / "fuseg128_cpu_curves.csv") == tmp_path / "fuseg128_cpu_config.json"
    curves = write_sweep(tmp_path / "sweep", NOT_CONVERGED)
    assert read_convergence(curves.parent) == NOT_CONVERGED


def test_each_check_that_moved_is_named_with_its_depths():
    moves = convergence_moves(NOT_CONVERGED)
    assert moves == {"largest": "twice the steps on the largest fraction moved test Dice by depth 3 +0.018",
                     "floor": "twice the 1,200-step floor on 347 cases moved test Dice by depth 3 +0.060"}
    held = {**NOT_CONVERGED, "depths": [{"depth": 3, "change": -0.004}, {"depth": 4, "change": None}]}
    assert list(convergence_moves(held)) == ["floor"]


@pytest.mark.parametrize("name", ["curves.csv", "fuseg_curves.csv"])
def test_a_failed_check_is_one_warning_naming_the_table_and_what_moved(tmp_path, name):
    curves = write_sweep(tmp_path, NOT_CONVERGED, name)
    (line,) = budget_warnings([curves])
    assert line.startswith(f"{curves}: its sweep did not converge ({record_beside(curves).name}: twice the steps")
    assert "+0.018" in line and "347 cases" in line and "+0.060" in line


def test_no_warning_without_a_failed_check(tmp_path):
    converged = write_sweep(tmp_path / "ok", {**NOT_CONVERGED, "converged": True})
    unchecked = write_sweep(tmp_path / "unchecked", {"checked": False, "converged": None})
    unreadable = write_sweep(tmp_path / "bad", NOT_CONVERGED)
    record_beside(unreadable).write_text("{not json")
    alone = write_sweep(tmp_path / "alone", NOT_CONVERGED)
    record_beside(alone).unlink()
    malformed = write_sweep(tmp_path / "malformed", {**NOT_CONVERGED, "tolerance": "a lot", "floor": {"steps": None}})
    assert budget_warnings([converged, unchecked, unreadable, alone, malformed]) == []


def test_forecast_prints_the_warning_and_the_plan_document_keeps_it(tmp_path):
    curves = write_sweep(tmp_path / "sweep", NOT_CONVERGED)
    document = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["forecast", str(curves), "--method", "pow3", "--pool-size", "700",
                                      "--json", str(document)])
    assert result.exit_code == 0, result.output
    (expected,) = budget_warnings([curves])
    assert f"warning: {expected}" in " ".join(result.output.split())
    assert json.loads(document.read_text())["warnings"] == [expected]
