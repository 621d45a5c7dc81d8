"""`samplecast report` end to end: the PDF says what `forecast --json` says, holds every section, and bad input fails
the way it fails for `forecast` (exit 2, one `error:` line per problem)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.forecast.evaluate import BacktestSummary
from samplecast.plan import Recommendation
from samplecast.report import SECTIONS

OPTIONS = ["--method", "pow3", "--target-dice", "0.7", "--pool-size", "2000", "--cost-per-case", "3",
           "--average-seeds"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def pdf_text(path) -> tuple[str, int]:
    """The PDF's text with runs of whitespace (line breaks included) collapsed, and its page count."""
    reader = PdfReader(path)
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text), len(reader.pages)


@pytest.fixture(scope="module")
def curves_csv(tmp_path_factory):
    """Two partial curves (two depths) of a saturating power law, two seeds each."""
    rng = np.random.default_rng(3)
    rows = [{"dataset": "toy", "model": "resunet", "depth": depth, "seed": seed, "n_train": n,
             "dice": a - 1.2 * n**-0.5 + rng.normal(0, 0.006)}
            for depth, a in ((4, 0.78), (5, 0.85)) for seed in (0, 1) for n in (20, 50, 100, 200)]
    path = tmp_path_factory.mktemp("curves") / "curves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def report(curves_csv, tmp_path_factory):
    """The report and the forecast JSON for the same curves and options."""
    folder = tmp_path_factory.mktemp("report")
    pdf, forecast = folder / "report.pdf", folder / "forecast.json"
    result = run("report", curves_csv, "-o", pdf, *OPTIONS)
    assert result.exit_code == 0, result.output
    assert run("forecast", curves_csv, "--json", forecast, *OPTIONS).exit_code == 0
    text, pages = pdf_text(pdf)
    return {"text": text, "pages": pages, "json": json.loads(forecast.read_text()), "output": result.output,
            "folder": folder}


def recommendation(record: dict) -> Recommendation:
    return Recommendation.from_dict(record)


def test_recommended_numbers_are_those_of_the_forecast_json(report):
    for curve in report["json"]["curves"]:
        rec = recommendation(curve["recommendation"])
        assert rec.n_for_target is not None  # the fixture's target is reachable, so numbers are on the page
        for sentence in rec.sentences():
            assert sentence in report["text"]
        assert f"{rec.n_for_target:,}" in report["text"]
        assert f"{rec.dice_at_pool['q50']:.3f}" in report["text"]


def test_answer_comes_first(report):
    first_sentence = recommendation(report["json"]["curves"][0]["recommendation"]).sentences()[0]
    assert report["text"].index(first_sentence) < report["text"].index(SECTIONS[1])


def test_every_section_is_present_in_order(report):
    positions = [report["text"].index(f"{i} {name}") for i, name in enumerate(SECTIONS, start=1)]
    assert positions == sorted(positions)


def test_page_count_and_page_numbers(report):
    pages = report["pages"]
    assert 3 <= pages <= 6
    assert "page 1 of " + str(pages) in report["text"] and f"page {pages} of {pages}" in report["text"]


def test_confidence_is_defined_on_page_1(report):
    text = report["text"]
    assert text.index("at least 4 chances in 5 that a model trained on the recommended cases reaches the target") \
        < text.index(SECTIONS[1])


def test_trust_and_provenance_content(report, curves_csv):
    text = report["text"]
    assert "never learned from" in text
    assert f"On your own curves (2 curves of {curves_csv}), each cut at 20% and 50% of its largest size" in text
    datasets = BacktestSummary.load().source["datasets"]
    named = [f"{d['name']} ({d['curves']} curves" for d in datasets]
    assert "Method 'pow3', leave-one-dataset-out on the real learning curves shipped with samplecast: " in text
    positions = [text.index(name) for name in named]  # every image set of the shipped backtest, in order
    assert positions == sorted(positions)
    assert "80% interval held" in text and "Caveats" in text
    assert str(curves_csv) in text and "16 (rows with status ok)" in text
    assert "averaged into one curve per configuration" in text
    assert "samplecast report" in text and "--target-dice 0.7" in text


def test_cli_prints_the_answer_and_the_file(report):
    assert "To reach Dice 0.70" in report["output"] and "report.pdf" in report["output"]


def test_report_without_target_pool_or_cost(curves_csv, tmp_path):
    pdf = tmp_path / "plain.pdf"
    result = run("report", curves_csv, "-o", pdf, "--method", "exp3", "--title", "Plain report")
    assert result.exit_code == 0, result.output
    text, pages = pdf_text(pdf)
    assert text.startswith("Plain report")
    for i, name in enumerate(SECTIONS, start=1):
        assert f"{i} {name}" in text
    assert "cost" not in text.split("Inputs and provenance")[0].lower().replace("cost per case", "")
    assert "does not cover the method" not in text
    assert pages >= 3


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("", "file is empty"),
    ("n_train,dice\n10,0.5\n20,55\n40,0.6\n", "row 2: dice 55 is outside [0, 1]"),
    ("n_train,dice\n10,0.5\n20,0.55\n", "at least 3 are needed"),
])
def test_bad_curves_exit_2_with_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    result = run("report", path, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0] and message in lines[0]
    assert not (tmp_path / "r.pdf").exists()


def without_dates(text: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?", "DATE", text)


def test_a_plan_document_renders_into_the_same_report(report, tmp_path):
    result = run("report", "--plan", report["folder"] / "forecast.json", "-o", tmp_path / "report.pdf")
    assert result.exit_code == 0, result.output
    from_plan = pdf_text(tmp_path / "report.pdf")[0].replace(str(tmp_path), "FOLDER")
    assert without_dates(from_plan) == without_dates(report["text"].replace(str(report["folder"]), "FOLDER"))


def test_a_plan_document_fixes_the_options(report, curves_csv, tmp_path):
    plan_json = tmp_path / "forecast.json"
    plan_json.write_text(json.dumps(report["json"]))
    result = run("report", "--plan", plan_json, "--target-dice", "0.8", "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and "--target-dice: the plan document fixes the forecast options" in result.stderr
    assert run("report", curves_csv, "--plan", plan_json, "-o", tmp_path / "r.pdf").exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = run("report", "--plan", broken, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {broken}: not valid JSON")
    assert not (tmp_path / "r.pdf").exists()


def test_bad_options_exit_2(curves_csv, tmp_path):
    assert run("report", curves_csv, "-o", tmp_path / "r.pdf", "--confidence", "1.5").exit_code == 2
    assert run("report", curves_csv, "-o", tmp_path / "r.pdf", "--method", "nope").exit_code == 2


def test_more_curves_than_a_report_shows_are_refused_before_anything_is_forecast(report, curves_csv, tmp_path,
                                                                                  monkeypatch):
    import samplecast.report.pdf

    monkeypatch.setattr(samplecast.report.pdf, "MAX_CURVES", 1)  # the fixture's table and plan hold two curves
    expected = "curves; a report shows at most 1 (each with its own sentences, table rows and figure panel)"
    from_table = run("report", curves_csv, "-o", tmp_path / "r.pdf", *OPTIONS)
    assert from_table.exit_code == 2 and from_table.stderr == f"error: {curves_csv}: 2 {expected}: select the " \
        "configurations to compare (a plan document can hold them all)\n"
    assert "toy" not in from_table.stdout  # refused before any curve was forecast and printed
    from_plan = run("report", "--plan", report["folder"] / "forecast.json", "-o", tmp_path / "r.pdf")
    assert from_plan.exit_code == 2 and f"forecast.json: 2 {expected}" in from_plan.stderr
    assert not (tmp_path / "r.pdf").exists()
