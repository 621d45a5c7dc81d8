"""`samplecast demo` end to end on a small configuration: data, sweep, forecast and report from nothing; a rerun
trains nothing again; invalid settings fail before anything is written."""

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.curves import load_curves
from samplecast.demo import DemoSettings, run_demo
from samplecast.errors import InputError
from samplecast.forecast.methods import make_forecaster
from samplecast.plan import plan_curves
from samplecast.train.store import RunStore

SMALL = ["--cases", "40", "--steps", "10"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.mark.slow
def test_demo_writes_curves_and_report(demo):
    out, output = demo
    table = pd.read_csv(out / "curves.csv")
    settings = DemoSettings()
    assert len(table) == len(settings.fractions) * len(settings.depths)
    assert (table["status"] == "ok").all() and table["dice"].between(0, 1).all()
    assert sorted(table["depth"].unique()) == list(settings.depths)
    assert str(out / "report.pdf") in output and str(out / "curves.csv") in output


@pytest.mark.slow
def test_demo_prints_plain_progress_lines_when_not_on_a_terminal(demo):
    _, output = demo  # CliRunner's output is not a terminal
    lines = output.splitlines()
    for stage in ("data:", "sweep: runs 1-6 of 12 · depth 2, seed 0, trained together", "forecast:", "report:"):
        assert any(line.startswith(stage) for line in lines), stage
    assert any(line.startswith("sweep:") and line.endswith("(100%)") for line in lines)


@pytest.mark.slow
def test_demo_trains_fused_groups(demo):
    out, _ = demo
    records = RunStore(out).records()
    assert {(r["engine"], r["group_size"]) for r in records} == {("fused", len(DemoSettings().fractions))}


@pytest.mark.slow
def test_demo_report_states_the_forecast_of_its_curves(demo):
    out, _ = demo
    reader = PdfReader(out / "report.pdf")
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    settings = DemoSettings()
    plans = plan_curves(load_curves(out / "curves.csv"), settings.plan_options(), make_forecaster(settings.method))
    for plan in plans:
        for sentence in plan.recommendation.sentences():
            assert sentence in text
    assert "synthetic-polyps / resunet / depth 2" in text and "depth 2 / seed 0" not in text  # seeds averaged
    assert len(reader.pages) >= 4


@pytest.mark.slow
def test_rerun_trains_nothing_again(demo):
    out, _ = demo
    runs = {path.name: path.stat().st_mtime_ns for path in (out / "runs").glob("*.json")}
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert {path.name: path.stat().st_mtime_ns for path in (out / "runs").glob("*.json")} == runs


def test_invalid_settings_fail_before_writing(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(InputError) as caught:
        run_demo(out, DemoSettings(cases=10, image_size=30, depths=(2, 3)))
    assert len(caught.value.problems) == 2  # too few cases; 30 px does not suit depth 3
    assert not out.exists()


def test_cli_rejects_too_few_cases(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--cases", "5"])
    assert result.exit_code == 2 and "--cases" in result.output
