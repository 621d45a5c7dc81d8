"""The typed plan document: it round-trips through JSON unchanged, `forecast --json` then `report --plan` gives the
PDF of `report`, and a malformed plan file is refused through the command line with one `error:` line per problem,
each naming the file and the field."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.curves import Curve
from samplecast.forecast.methods import make_forecaster
from samplecast.forecast.rounds import RoundPlan
from samplecast.plan import MAX_BYTES, PlanDocument, PlanOptions, plan_curves, plan_document

OPTIONS = ["--method", "pow3", "--target-dice", "0.7", "--pool-size", "2000", "--cost-per-case", "3"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def pdf_text(path) -> str:
    """The PDF's text, whitespace collapsed, without the date and time it was written."""
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))
    return re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?", "DATE", text)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A curves file of two depths, its report, and its plan document from `forecast --json`."""
    folder = tmp_path_factory.mktemp("plan")
    rows = [{"dataset": "toy", "depth": depth, "n_train": n, "dice": a - 1.2 * n**-0.5}
            for depth, a in ((4, 0.78), (5, 0.85)) for n in (20, 50, 100, 200)]
    curves = folder / "curves.csv"
    pd.DataFrame(rows).to_csv(curves, index=False)
    assert run("report", curves, "-o", folder / "report.pdf", *OPTIONS).exit_code == 0
    assert run("forecast", curves, "--json", folder / "plan.json", *OPTIONS).exit_code == 0
    return folder


@pytest.fixture(scope="module")
def document():
    n = np.array([20.0, 40, 80, 160])
    curves = [Curve({"dataset": "toy", "depth": depth, "seed": 0}, n, a - 1.2 * n**-0.5)
              for depth, a in ((4, 0.8), (5, 0.86))]
    plans = plan_curves(curves, PlanOptions(target_dice=0.72, pool_size=1500, cost_per_case=2.0),
                        make_forecaster("pow3"))
    return plan_document(plans, "pow3")


def test_the_document_round_trips_through_json(document):
    assert PlanDocument.from_json(document.to_json()) == document


def test_the_round_plan_rides_on_the_recommendation_typed(document):
    plans = [view.recommendation.next_round for view in document.curves]
    assert all(isinstance(p, RoundPlan) and p.rounds == 3 for p in plans)
    back = PlanDocument.from_json(document.to_json())
    assert [view.recommendation.next_round for view in back.curves] == plans
    assert json.loads(document.to_json())["curves"][0]["recommendation"]["next_round"]["annotate_to"] == \
        plans[0].annotate_to


def test_forecast_json_then_report_plan_gives_the_report(made, tmp_path):
    result = run("report", "--plan", made / "plan.json", "-o", tmp_path / "from_plan.pdf")
    assert result.exit_code == 0, result.output
    assert pdf_text(tmp_path / "from_plan.pdf").replace(str(tmp_path / "from_plan.pdf"), "OUT") == \
        pdf_text(made / "report.pdf").replace(str(made / "report.pdf"), "OUT")


def _set(document: dict, path: str, value) -> dict:
    """``document`` with the value at a dotted path (``curves.0.observed.n``) replaced, or removed for ``...``."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = document
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


MALFORMED = {
    "nan quantile": ([("curves.0.forecast.0.q50", float("nan"))], ["curves[0].forecast[0].q50: expected a finite "
                                                                    "number, got nan"]),
    "infinite dice": ([("curves.1.observed.dice.0", float("inf"))], ["curves[1].observed.dice[0]: expected a "
                                                                      "finite number, got inf"]),
    "missing keys": ([("method", ...), ("curves.0.band", ...)], ["method: missing", "curves[0].band: missing"]),
    "curves as a dict": ([("curves", {"a": 1})], ["curves: expected a list of objects, got dict"]),
    "curves as a list of ints": ([("curves", [1, 2])], ["curves[0]: expected an object, got int",
                                                        "curves[1]: expected an object, got int"]),
    "options as a list": ([("options", [0.7])], ["options: expected an object, got list"]),
    "created as an int": ([("created", 2026)], ["created: expected a string, got int"]),
    "a string for numbers": ([("curves.0.observed.n", "20,50")], ["curves[0].observed.n: expected a list of "
                                                                  "numbers, got str"]),
    "a string for a number": ([("curves.0.recommendation.dice_now", "0.7")],
                              ["curves[0].recommendation.dice_now: expected a number, got str"]),
    "dice outside 0-1": ([("curves.0.observed.dice.1", 1.5)], ["curves[0].observed.dice[1]: 1.5 is outside [0, 1]"]),
    "a negative size": ([("curves.0.recommendation.n_observed", -3)],
                        ["curves[0].recommendation.n_observed: -3 must not be negative"]),
    "unequal columns": ([("curves.0.band.q10", [0.5])], ["curves[0].band: n, q10, q25, q50, q75, q90 must be as long "
                                                          "as each other"]),
    "an overlong title": ([("title", "x" * 501)], ["title: 501 characters, more than the 500 allowed"]),
    "an option out of range": ([("options.confidence", 1.5)], ["options: confidence 1.5 must lie strictly between"]),
    "a round plan not an object": ([("curves.0.recommendation.next_round", [1])],
                                   ["curves[0].recommendation.next_round: expected an object or null, got list"]),
    "a forecast quantile of Dice 7": ([("curves.1.forecast.2.q95", 7)],
                                      ["curves[1]: forecast[2]: expected a positive size and quantiles of Dice in "
                                       "[0, 1], each at least the one before"]),
    "a forecast row without a quantile": ([("curves.0.forecast.1.q05", ...)],
                                          ["curves[0]: forecast[1]: expected the fields n, q05, q10"]),
    "quantiles out of order": ([("curves.0.forecast.0.q95", 0.0)], ["curves[0]: forecast[0]: expected a positive"]),
    "sizes out of order": ([("curves.0.marginal.n.1", 7)], ["curves[0]: marginal.n: sizes must increase"]),
    "an interval wider than Dice": ([("trust.shipped.pooled.1.width80", 7)],
                                    ["trust.shipped.pooled[1].width80: 7 is outside [0, 1]"]),
    "a round plan's chance above 1": ([("curves.0.recommendation.next_round.chance_by_end", 1.5)],
                                      ["curves[0].recommendation.next_round.chance_by_end: 1.5 is outside [0, 1]"]),
}


@pytest.mark.parametrize("changes, expected", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_plan_exits_2_with_one_line_per_problem(made, tmp_path, changes, expected):
    document = json.loads((made / "plan.json").read_text())
    for path, value in changes:
        _set(document, path, value)
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps(document))
    result = run("report", "--plan", bad, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected)
    for line, problem in zip(lines, expected):
        assert line.startswith(f"error: {bad}: {problem}")
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize("content, problem", [
    ("[" * 100_000, "nested too deeply to be a plan document"),
    ("{", "not valid JSON"),
    ('{"format": 1}', "not a samplecast plan document of format 3 (found 1)"),
    ("[]", "not a samplecast plan document of format 3 (found 'list')"),
])
def test_a_file_that_is_no_plan_exits_2_with_one_line(tmp_path, content, problem):
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    result = run("report", "--plan", bad, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad}: {problem}")


def test_a_fifo_is_refused_before_it_is_read(tmp_path):
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    result = run("report", "--plan", fifo, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {fifo}: not a regular file (a pipe, a device or a socket); expected a " \
                                    "plan document (JSON written by samplecast forecast --json)"


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    big = tmp_path / "plan.json"
    with big.open("wb") as out:
        out.truncate(MAX_BYTES + 1)
    result = run("report", "--plan", big, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {big}: {MAX_BYTES + 1:,} bytes, over the limit of {MAX_BYTES:,} bytes "
                                     "for a plan document (JSON written by samplecast forecast --json)")
