"""The report's parts: the plan document's tables and figures, the out-of-sample trust figures (format 2 of the
backtest summary), and the PDF rendered from the document alone."""

import json
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from samplecast.curves import Curve, load_curves
from samplecast.errors import InputError
from samplecast.forecast.evaluate import (
    ROW_FIELDS, BacktestSummary, backtest, read_summary, seeds_together, summarize_backtest)
from samplecast.forecast.methods import DEFAULT_METHOD, make_forecaster
from samplecast.plan import (
    PlanDocument,
    PlanOptions,
    marginal_value,
    own_trust,
    plan_curves,
    plan_document,
    short_labels,
    target_levels,
    target_table,
    value_step,
)
from samplecast.report import render_report
from samplecast.report.figures import learning_curves_figure, marginal_value_figure

#: A small backtest summary of format 2: two held-out datasets and their union, two cutoffs.
SUMMARY = {
    "format": 2, "protocol": "leave-one-dataset-out",
    "source": {"datasets": [{"name": "Kvasir-SEG", "files": ["data/kv_a.csv", "data/kv_b.csv"], "curves": 12},
                            {"name": "LA-2018", "files": ["data/la.csv"], "curves": 9}],
               "command": "python benchmarks/backtest_summary.py", "created": "2026-12-01", "machine": "2-core CPU"},
    "rows": [{"method": "pow3", "held_out": held_out, "cutoff": cutoff, "curves": curves, "mae": mae, "bias": -mae / 2,
              "coverage80": 0.75, "coverage90": 0.875, "width80": 0.1}
             for held_out, curves, mae in (("all", 21, 0.0412), ("Kvasir-SEG", 12, 0.0333), ("LA-2018", 9, 0.0517))
             for cutoff in (0.1, 0.2)],
}


def power_curve(depth: int, a: float, sizes=(20, 40, 80, 160)) -> Curve:
    n = np.array(sizes, dtype=float)
    return Curve({"dataset": "toy", "model": "resunet", "depth": depth, "seed": 0}, n, a - 1.2 * n**-0.5)


@pytest.fixture(scope="module")
def plans():
    options = PlanOptions(target_dice=0.72, pool_size=1500, cost_per_case=2.0)
    return plan_curves([power_curve(4, 0.8), power_curve(5, 0.86)], options, make_forecaster("pow3"))


@pytest.fixture(scope="module")
def document(plans):
    """The plan document as `forecast --json` writes it and `report --plan` reads it back."""
    return PlanDocument.from_json(plan_document(plans, "pow3", backtest_summary=SUMMARY).to_json())


def write_report(plans, method, path, backtest):
    return render_report(plan_document(plans, method, backtest_summary=backtest), path)


def pdf_text(path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())


def test_target_row_equals_the_recommendation(plans, document):
    for plan, view in zip(plans, document.curves):
        rec = plan.recommendation
        (row,) = [r for r in view.targets if r.target_dice == rec.target_dice]
        assert row.n_needed == rec.n_for_target and row.n_median == rec.n_target_median
        assert (row.n_low, row.n_high) == rec.n_target_range
        assert row.additional == rec.additional_to_target and row.cost == rec.cost_to_target


def test_higher_targets_need_more_cases(plans):
    table = target_table(plans[1], target_levels(0.78))
    needed = [r.n_needed for r in table if r.n_needed is not None]
    assert len(needed) >= 3 and needed == sorted(needed)
    assert all(isinstance(n, int) for n in needed)


def test_target_levels_surround_the_target_inside_0_1():
    assert target_levels(0.8) == [0.76, 0.78, 0.8, 0.82, 0.84]
    assert target_levels(0.97) == [0.93, 0.95, 0.97, 0.99]


def test_levels_without_a_target_rise_from_todays_dice(plans):
    levels = target_levels(None, plans[0])
    today = plans[0].forecast.curve.dice[-1]
    assert len(levels) >= 2 and levels == sorted(levels) and levels[0] >= round(today, 2)


def test_value_step_is_a_round_tenth_of_the_data():
    assert [value_step(n) for n in (5, 100, 800, 3000, 20000)] == [1, 10, 100, 200, 2000]


def test_short_labels_keep_what_differs():
    a, b = power_curve(4, 0.8), power_curve(5, 0.8)
    assert short_labels([a, b]) == ["depth 4", "depth 5"]
    assert short_labels([a]) == [a.label]


def test_marginal_value_falls_as_data_grows(plans):
    value = marginal_value(plans[0].forecast.model, [40, 160, 640], step=value_step(160))
    assert np.all(np.array(value.gain_per_step) > 0) and np.all(np.diff(value.gain_per_step) < 0)
    assert np.all(np.diff(value.gain_per_doubling) < 0)


def test_the_document_holds_no_size_beyond_the_pool(document):
    for view in document.curves:
        assert max(view.band.n) <= 1500 and max(view.marginal.n) <= 1500
        assert all(r.n_needed is None or r.n_needed <= 1500 for r in view.targets)
        assert all(r.cost is None or r.cost <= 2.0 * 1500 for r in view.targets)


def test_learning_curve_figure_has_a_labelled_log_panel_per_curve(document):
    fig = learning_curves_figure(document.curves)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    assert all(ax.get_xscale() == "log" and ax.get_xlabel() == "training cases (n)" for ax in axes)
    assert axes[0].get_ylabel() == "test Dice"
    assert [ax.get_title(loc="left") for ax in axes] == ["depth 4", "depth 5"]


def test_marginal_figure_prices_the_step(document):
    per_step, _ = marginal_value_figure(document.curves, document.value_step).axes
    assert "Dice gained by 20 more cases" in per_step.get_ylabel() and "costing 40" in per_step.get_ylabel()


def test_trust_figures_name_datasets_cutoffs_and_counts(document, tmp_path):
    shipped = document.trust.shipped
    assert [r.held_out for r in shipped.pooled] == ["all", "all"]  # the union, by cutoff
    assert [r.cutoff for r in shipped.pooled] == [0.1, 0.2]
    assert [r.held_out for r in shipped.per_set] == ["Kvasir-SEG", "Kvasir-SEG", "LA-2018", "LA-2018"]
    text = pdf_text(render_report(document, tmp_path / "r.pdf"))
    assert "leave-one-dataset-out" in text
    assert "Kvasir-SEG (12 curves: data/kv_a.csv, data/kv_b.csv), LA-2018 (9 curves: data/la.csv)" in text
    assert "10% 10x 21 0.041" in text and "LA-2018 20% 5x 9 0.052" in text
    assert "never learned from" in text


def test_own_curves_are_backtested_when_they_are_long_enough(tmp_path):
    curves = [power_curve(d, a, sizes=(10, 20, 40, 80, 160, 320)) for d, a in ((4, 0.8), (5, 0.86))]
    plans = plan_curves(curves, PlanOptions(target_dice=0.75), make_forecaster("pow3"))
    own = plan_document(plans, "pow3", backtest_summary=SUMMARY).trust.own
    assert own.curves == 2 and [r.cutoff for r in own.rows] == [0.2, 0.5]
    assert max(r.mae for r in own.rows) < 0.01  # an exact power law: pow3 is right
    text = pdf_text(write_report(plans, "pow3", tmp_path / "own.pdf", SUMMARY))
    assert "On your own curves (2 curves of this plan), each cut at 20% and 50% of its largest size" in text


def test_report_says_when_the_method_was_not_backtested(plans, tmp_path):
    only_lstm = {**SUMMARY, "rows": [{**r, "method": "lstm"} for r in SUMMARY["rows"]]}
    text = pdf_text(write_report(plans, "pow3", tmp_path / "r.pdf", only_lstm))
    assert "does not cover the method 'pow3'" in text and "samplecast backtest CURVES.csv --methods pow3" in text
    assert "curves in memory" in text


def test_a_backtest_of_another_format_is_not_quoted(plans):
    trust = plan_document(plans, "pow3", backtest_summary={"format": 1, "rows": []}).trust
    assert trust.shipped is None and "never learned from" in trust.shipped_note


def test_curves_of_the_shipped_backtest_are_not_scored_again(tmp_path):
    curves = [power_curve(4, 0.8, sizes=(10, 20, 40, 80, 160, 320))]
    source = tmp_path / "kv_a.csv"
    source.write_text("n_train,dice\n")
    own, note = own_trust(curves, make_forecaster("pow3"), [source], read_summary(SUMMARY))
    assert own is None and "kv_a.csv is among the curves of the backtest above" in note
    assert own_trust(curves, make_forecaster("pow3"), [tmp_path / "mine.csv"], read_summary(SUMMARY))[0].curves == 1


def test_a_file_that_is_not_a_plan_document_is_refused():
    with pytest.raises(InputError, match="not a samplecast plan document"):
        PlanDocument.from_dict({"format": 99}, "x.json")
    with pytest.raises(InputError, match="not a samplecast plan document of format 3"):
        PlanDocument.from_dict({"format": 1, "curves": []}, "x.json")
    with pytest.raises(InputError) as lacking:
        PlanDocument.from_dict({"format": 2, "curves": []}, "x.json")
    assert "x.json: curves: expected at least 1 item, got none" in lacking.value.problems
    assert "x.json: method: missing" in lacking.value.problems


@pytest.mark.slow
def test_many_curves_are_drawn_in_several_figures(tmp_path):
    curves = [power_curve(depth, 0.7 + 0.01 * depth) for depth in range(2, 12)]
    plans = plan_curves(curves, PlanOptions(target_dice=0.7), make_forecaster("pow3"))
    with pytest.raises(ValueError, match="1 to 9 curves"):
        learning_curves_figure(plan_document(plans, "pow3", backtest_summary=SUMMARY).curves)
    reader = PdfReader(write_report(plans, "pow3", tmp_path / "many.pdf", SUMMARY))
    assert sum(len(page.images) for page in reader.pages) == 3  # learning curves in two figures, marginal value


def test_backtest_summary_round_trip(tmp_path):
    curves = [power_curve(d, a, sizes=(10, 20, 40, 80, 160, 320)) for d, a in ((4, 0.8), (5, 0.86))]
    results = backtest(curves, [make_forecaster("last1"), make_forecaster("pow3")], [0.3, 0.6])
    summary = summarize_backtest(results.assign(held_out=["toy-a", "toy-b"] * (len(results) // 2)),
                                 source={"datasets": [{"name": "toy", "files": ["toy.csv"], "curves": 2}]})
    assert list(summary.rows.columns) == list(ROW_FIELDS) and summary.methods == ["last1", "pow3"]
    assert set(summary.rows["held_out"]) == {"toy-a", "toy-b", "all"}
    loaded = BacktestSummary.load(summary.save(tmp_path / "summary.json"))
    assert loaded.source["datasets"][0]["files"] == ["toy.csv"] and loaded.protocol == "leave-one-dataset-out"
    pow3 = loaded.for_method("pow3")
    assert list(pow3["cutoff"]) == [0.3, 0.6] and list(pow3["curves"]) == [2, 2] and pow3["mae"].max() < 0.01
    assert loaded.for_method("lstm").empty
    assert "toy (2 curves: toy.csv)" in loaded.provenance("pow3") and "30% (2 forecasts)" in loaded.provenance("pow3")


def test_shipped_backtest_summary_is_held_out_and_covers_the_default_method():
    summary = BacktestSummary.load()
    rows = summary.for_method(DEFAULT_METHOD)
    datasets = summary.source["datasets"]
    assert len(datasets) >= 3 and {"kvasir-seg", "la2018", "hc18"} <= {d["name"] for d in datasets}
    assert summary.protocol == "leave-one-dataset-out"
    assert set(summary.rows["held_out"]) == {d["name"] for d in datasets} | {"all"}
    assert list(rows["cutoff"]) == [0.1, 0.2, 0.3, 0.5]
    assert ((rows["coverage80"] >= 0) & (rows["coverage80"] <= 1)).all()
    assert ((rows["mae_low"] <= rows["mae"]) & (rows["mae"] <= rows["mae_high"])).all()  # over its configurations
    where = summary.provenance(DEFAULT_METHOD)
    assert all(f"{d['name']} ({d['curves']} curves" in where for d in datasets)
    assert f"20% ({int(rows.loc[rows['cutoff'] == 0.2, 'curves'].iloc[0])} forecasts)" in where


@pytest.mark.slow
def test_shipped_backtest_summary_reproduces_from_its_committed_curves():
    from samplecast.forecast.folder import ForecasterFolder
    from samplecast.forecast.folds import held_out_folds

    summary = BacktestSummary.load()
    together = json.loads(ForecasterFolder.open().build.read_text())["settings"].get("average_seeds", False)
    root = Path(__file__).resolve().parents[1]
    corpus, image_sets = {}, {}
    for dataset in summary.source["datasets"]:
        for file in dataset["files"]:
            curves = load_curves(root / file, average_seeds=False)
            corpus[file] = seeds_together(curves) if together else curves
            image_sets[file] = dataset["name"]
    results, _ = held_out_folds(corpus, image_sets, beside=tuple(dict.fromkeys(("pow3", DEFAULT_METHOD))))
    again = summarize_backtest(results).rows.set_index(["method", "held_out", "cutoff"])
    shipped = summary.rows[summary.rows["method"].isin(["pow3", "ensemble", DEFAULT_METHOD])].set_index(
        ["method", "held_out", "cutoff"])
    assert sorted(again.index) == sorted(shipped.index)
    for column in ("curves", "mae", "bias", "coverage80", "coverage90", "width80"):
        assert np.allclose(again.loc[shipped.index, column].astype(float), shipped[column].astype(float), atol=1e-4)


def test_bad_backtest_summary_lists_every_problem(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": 7, "rows": [{"method": "pow3"}]}))
    with pytest.raises(InputError) as caught:
        BacktestSummary.load(path)
    assert caught.value.problems[:2] == [f"{path}: format 7 is not 2", f"{path}: rows[0].cutoff: missing"]
    assert all(p.startswith(f"{path}: ") for p in caught.value.problems)
    with pytest.raises(InputError, match="not valid JSON"):
        (tmp_path / "broken.json").write_text("{")
        BacktestSummary.load(tmp_path / "broken.json")
