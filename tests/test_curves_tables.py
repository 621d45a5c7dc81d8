"""Several curves tables read as one (the sweeps of two scenarios, seeds run apart): the same curves and answers as
one table holding all their rows, every file named and checksummed in the plan document and the report, and tables
that would mix or double-count runs refused with one line naming both files."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.curves import join_tables, load_curves
from samplecast.errors import InputError
from samplecast.plan import PlanDocument
from samplecast.report.provenance import report_command

OPTIONS = ["--method", "pow3", "--average-seeds", "--target-dice", "0.84", "--pool-size", "1000"]
SIZES = (10, 20, 40, 80, 160)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sweep(scenario: str | None, seeds=(0, 1), plateau: float = 0.92) -> pd.DataFrame:
    """A sweep's table of one configuration; ``scenario`` None writes no scenario column (an all-scratch table)."""
    rows = []
    for seed in seeds:
        noise = np.random.default_rng(seed + 10 * (scenario is None)).normal(0, 0.004, len(SIZES))
        for n, e in zip(SIZES, noise):
            row = dict(dataset="heart", model="resunet", depth=4, seed=seed, n_train=n,
                       dice=round(plateau - 0.7 * n**-0.5 + e, 4), run_id=f"{scenario}-{seed}-{n}")
            rows.append(row if scenario is None else {**row, "scenario": scenario})
    return pd.DataFrame(rows)


@pytest.fixture
def pair(tmp_path):
    scratch, transfer = tmp_path / "scratch.csv", tmp_path / "transfer.csv"
    sweep(None).to_csv(scratch, index=False)
    sweep("transfer:acdc", plateau=0.9).to_csv(transfer, index=False)
    return scratch, transfer


def test_two_sweeps_read_as_the_one_table_of_their_rows(pair, tmp_path):
    both = tmp_path / "both.csv"
    pd.concat([pd.read_csv(p) for p in pair]).fillna({"scenario": "scratch"}).to_csv(both, index=False)
    apart, joined = load_curves(pair, average_seeds=True), load_curves(both, average_seeds=True)
    assert [c.label for c in apart] == [c.label for c in joined] == ["heart / resunet / depth 4 / scratch",
                                                                     "heart / resunet / depth 4 / transfer:acdc"]
    for a, b in zip(apart, joined):
        assert np.array_equal(a.n, b.n) and np.allclose(a.dice, b.dice) and np.array_equal(a.count, b.count)

    run("forecast", *pair, "--json", tmp_path / "apart.json", *OPTIONS)
    run("forecast", both, "--json", tmp_path / "joined.json", *OPTIONS)
    apart_doc, joined_doc = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("apart", "joined"))
    assert apart_doc["curves"] == joined_doc["curves"] and apart_doc["comparisons"] == joined_doc["comparisons"]
    assert apart_doc["source"]["files"] == [{"path": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                                            for p in pair]
    assert apart_doc["source"]["runs"] == joined_doc["source"]["runs"] == 20


def test_a_report_from_two_tables_names_both_and_can_be_written_again(pair, tmp_path):
    result = run("report", *pair, "-o", tmp_path / "r.pdf", *OPTIONS)
    assert result.exit_code == 0, result.output
    assert "Scenarios compared: heart / resunet / depth 4" in result.output
    run("forecast", *pair, "--json", tmp_path / "plan.json", *OPTIONS)
    document = PlanDocument.read(tmp_path / "plan.json")
    assert f"from {pair[0]} and {pair[1]} (2 curves" in document.subtitle
    assert report_command(document, "r.pdf").startswith(f"samplecast report {pair[0]} {pair[1]} -o r.pdf")


def test_seeds_swept_apart_are_one_configuration(tmp_path):
    first, second = tmp_path / "seeds01.csv", tmp_path / "seed2.csv"
    sweep(None, seeds=(0, 1)).to_csv(first, index=False)
    sweep(None, seeds=(2,)).to_csv(second, index=False)
    (curve,) = load_curves([first, second], average_seeds=True)
    assert curve.count.tolist() == [3] * len(SIZES)
    assert len(load_curves([first, second], average_seeds=False)) == 3


def test_tables_without_grouping_columns_keep_their_file_names(tmp_path):
    for name, top in (("polyps", 0.8), ("skin", 0.7)):
        pd.DataFrame({"n_train": SIZES, "dice": [top - 0.5 * n**-0.5 for n in SIZES]}).to_csv(tmp_path / f"{name}.csv",
                                                                                               index=False)
    curves = load_curves([tmp_path / "polyps.csv", tmp_path / "skin.csv"])
    assert [c.label for c in curves] == ["polyps", "skin"]


def test_one_file_given_twice_is_refused(pair):
    scratch = pair[0]
    result = run("forecast", scratch, scratch.parent / "." / scratch.name, *OPTIONS)
    assert result.exit_code == 2 and result.output.count("error:") == 1
    assert "given twice" in result.output and "give each curves table once" in result.output


def test_one_curve_in_two_tables_is_refused_naming_both(pair, tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(pair[0].read_bytes())
    with pytest.raises(InputError) as caught:
        join_tables([pair[0], copy])
    assert caught.value.problems == [
        f"{pair[0]} and {copy}: both hold runs of curve dataset heart / model resunet / depth 4 / seed {seed}; tables "
        "read together must hold different curves (another seed, scenario, depth or dataset)" for seed in (0, 1)]
    result = run("backtest", pair[0], copy)
    assert result.exit_code == 2 and result.output.count("error:") == 2


def test_a_problem_in_one_table_names_that_file(pair, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("n_train,dice\n10,1.5\n20,0.5\n40,0.6\n")
    result = run("forecast", pair[0], bad, *OPTIONS)
    assert result.exit_code == 2 and f"{bad}: row 1: dice 1.5 is outside [0, 1]" in result.output


def test_report_takes_tables_or_a_plan_not_both(pair, tmp_path):
    result = run("report", *pair, "--plan", tmp_path / "plan.json", "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and "not both" in result.output
    result = run("forecast", *pair, "--json", pair[1], *OPTIONS)
    assert result.exit_code == 2 and "is also an input of this command" in result.output


def test_a_plan_document_of_format_2_is_still_read(pair, tmp_path):
    run("forecast", pair[0], "--json", tmp_path / "plan.json", *OPTIONS)
    document = json.loads((tmp_path / "plan.json").read_text())
    (file,) = document["source"].pop("files")
    older = {**document, "format": 2, "source": {"file": file["path"], "sha256": file["sha256"],
                                                 **document["source"]}}
    (tmp_path / "old.json").write_text(json.dumps(older))
    assert PlanDocument.read(tmp_path / "old.json") == PlanDocument.read(tmp_path / "plan.json")


def test_a_table_the_shipped_forecaster_learned_from_leaves_the_others_to_a_backtest_of_their_own(tmp_path):
    shipped = tmp_path / "la2018_cpu_curves.csv"  # a file name the shipped backtest scored
    transfer = tmp_path / "transfer.csv"
    sweep(None).to_csv(shipped, index=False)
    sweep("transfer:acdc", plateau=0.9).to_csv(transfer, index=False)
    run("forecast", shipped, transfer, "--json", tmp_path / "plan.json", *OPTIONS)
    note = PlanDocument.read(tmp_path / "plan.json").trust.own_note
    assert note.startswith("la2018_cpu_curves.csv is among the curves of the backtest above")
    assert f"{transfer} is not scored either: run samplecast backtest on it alone" in note
