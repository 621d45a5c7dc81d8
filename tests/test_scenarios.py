"""Scenarios (scratch, transfer:<source>, a user's label) in the curves table: part of every curve's key, never
averaged together, checked cell by cell, and compared side by side for a target in the terminal, the plan document
and the PDF with the same numbers."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.curves import group_curves, load_curves, validate_table
from samplecast.errors import InputError
from samplecast.forecast.folds import with_other_seeds
from samplecast.forecast.methods import make_forecaster
from samplecast.plan import PlanDocument, PlanOptions, plan_curves, plan_document
from samplecast.plan.scenarios import compare_scenarios, difference
from samplecast.plan.wording import cost_words, estimate

SIZES = (10, 20, 40, 80, 160)
OPTIONS = ["--method", "pow3", "--average-seeds", "--target-dice", "0.84", "--pool-size", "1000",
           "--cost-per-case", "5"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def two_scenarios(scratch: float = 0.92, transfer: float = 0.90) -> pd.DataFrame:
    """One configuration trained from scratch and by transfer, two seeds: the transfer curve starts higher and
    flattens sooner (its plateau ``transfer`` lies below scratch's ``scratch``)."""
    rows = []
    for seed in (0, 1):
        noise = np.random.default_rng(seed).normal(0, 0.004, (2, len(SIZES)))
        for i, n in enumerate(SIZES):
            common = dict(dataset="heart", model="resunet", depth=4, seed=seed, n_train=n)
            rows.append({**common, "scenario": "scratch", "dice": round(scratch - 0.9 * n**-0.45 + noise[0, i], 4)})
            rows.append({**common, "scenario": "transfer:acdc",
                         "dice": round(transfer - 0.45 * n**-0.6 + noise[1, i], 4)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The two-scenario table on disk, the terminal output of `forecast --json` and of `report`, the plan document
    and the PDF."""
    folder = tmp_path_factory.mktemp("scenarios")
    curves = folder / "two.csv"
    two_scenarios().to_csv(curves, index=False)
    forecast = run("forecast", curves, "--json", folder / "plan.json", *OPTIONS)
    assert forecast.exit_code == 0, forecast.output
    report = run("report", curves, "-o", folder / "report.pdf", *OPTIONS)
    assert report.exit_code == 0, report.output
    return {"folder": folder, "forecast": " ".join(forecast.output.split()), "report": " ".join(report.output.split()),
            "plan": json.loads((folder / "plan.json").read_text()),
            "pdf": " ".join(" ".join(p.extract_text() for p in PdfReader(folder / "report.pdf").pages).split())}


def test_scenarios_are_separate_curves_and_seeds_are_averaged_within_each(tmp_path):
    table = two_scenarios()
    path = tmp_path / "two.csv"
    table.to_csv(path, index=False)
    curves = load_curves(path, average_seeds=True)
    assert [c.key for c in curves] == [{"dataset": "heart", "model": "resunet", "depth": 4, "scenario": s}
                                       for s in ("scratch", "transfer:acdc")]
    for curve in curves:
        rows = table[table["scenario"] == curve.scenario]
        assert np.allclose(curve.dice, rows.groupby("n_train")["dice"].mean().to_numpy())
        assert list(curve.count) == [2] * len(SIZES)
    assert [c.label for c in load_curves(path, average_seeds=False)][:2] == [
        "heart / resunet / depth 4 / scratch / seed 0", "heart / resunet / depth 4 / scratch / seed 1"]


def test_a_scenario_label_is_kept_as_text(tmp_path):
    path = tmp_path / "labels.csv"
    two_scenarios().assign(scenario=lambda t: np.where(t["scenario"] == "scratch", "1", " dinov2 ")).to_csv(
        path, index=False)
    assert sorted(c.scenario for c in load_curves(path, average_seeds=True)) == ["1", "dinov2"]


def test_a_table_without_the_column_is_all_scratch_with_unchanged_keys_and_no_comparison(tmp_path):
    path = tmp_path / "plain.csv"
    two_scenarios().query("scenario == 'scratch'").drop(columns="scenario").to_csv(path, index=False)
    curves = load_curves(path, average_seeds=True)
    assert curves[0].key == {"dataset": "heart", "model": "resunet", "depth": 4}
    assert curves[0].label == "heart / resunet / depth 4" and curves[0].scenario == "scratch"
    plans = plan_curves(curves, PlanOptions(target_dice=0.84), make_forecaster("pow3"))
    document = plan_document(plans, "pow3", source=path)
    assert compare_scenarios(plans) == [] and document.comparisons == ()
    written = json.loads(document.to_json())
    assert written["format"] == 3 and "comparisons" not in written
    assert PlanDocument.from_json(document.to_json()) == document


def test_a_sweep_of_scratch_runs_only_reads_as_a_table_without_the_column(tmp_path):
    scratch = two_scenarios().query("scenario == 'scratch'")
    with_column, without = tmp_path / "with.csv", tmp_path / "without.csv"
    scratch.to_csv(with_column, index=False)
    scratch.drop(columns="scenario").to_csv(without, index=False)
    assert [c.label for c in load_curves(with_column)] == [c.label for c in load_curves(without)]
    assert all("scratch" not in c.label for c in load_curves(with_column))


def test_a_table_naming_only_scenarios_names_its_curves_after_the_file(tmp_path):
    path = tmp_path / "mine.csv"
    two_scenarios()[["scenario", "n_train", "dice"]].to_csv(path, index=False)
    assert [c.label for c in load_curves(path)] == ["mine / scratch", "mine / transfer:acdc"]


@pytest.mark.parametrize("cell, problem", [
    ("", "scenario is missing"),
    ("'   '", "scenario is empty"),
    ("transfer:", "scenario 'transfer:' names no source"),
    ("'a\tb'", "scenario 'a\\tb' holds control characters"),
])
def test_a_bad_scenario_is_one_error_line_naming_the_file_and_row(tmp_path, cell, problem):
    path = tmp_path / "bad.csv"
    path.write_text("n_train,dice,scenario\n10,0.5,scratch\n20,0.6," + cell.replace("'", '"') + "\n40,0.7,scratch\n")
    result = run("forecast", path, "--method", "pow3")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: row 2: {problem}")


def test_a_scenario_that_is_not_text_is_refused():
    table = pd.DataFrame({"n_train": [10, 20, 40], "dice": [0.5, 0.6, 0.7], "scenario": ["scratch", 3, "\x07"]})
    with pytest.raises(InputError) as refused:
        validate_table(table, "mine.parquet")
    assert refused.value.problems == ["mine.parquet: row 2: scenario 3 is not text",
                                      "mine.parquet: row 3: scenario '\\x07' holds control characters"]


def test_other_seeds_score_forecasts_only_within_their_scenario():
    rows = pd.DataFrame([{"source": "f.csv", "dataset": "d", "depth": 4, "scenario": s, "seed": seed, "n_final": 160,
                          "truth": truth, "curve": f"{s} / seed {seed}"}
                         for s, base in (("scratch", 0.8), ("transfer:x", 0.9)) for seed, truth in
                         ((0, base), (1, base + 0.01))])
    extra = with_other_seeds(rows).iloc[len(rows):]
    assert len(extra) == 4  # each run scored by the other seed of its scenario only (12 if scenarios mixed)
    for row in extra.itertuples():
        same_scenario = 0.8 if row.scenario == "scratch" else 0.9
        assert row.curve.startswith(row.scenario) and abs(row.truth - same_scenario) < 0.02


def test_the_difference_of_two_independent_sizes():
    constant = np.full(100, 60.0)
    assert difference(np.full(100, 100.0), constant, 0.8, 1000) == (40, 40, 40, 1.0)
    spread = np.arange(100, 200, dtype=float)  # equally likely 100 ... 199
    median, low, high, fewer = difference(spread, constant, 0.8, 1000)
    assert (median, low, high) == (89, 49, 129)  # 40 more than the quantiles of the spread itself
    assert fewer == 1.0
    assert difference(constant, spread, 0.8, 1000)[1:3] == (-130, -50)
    beyond = np.where(spread > 180, math.inf, spread)  # a fifth of the draws reach the target beyond the search
    median, low, high, fewer = difference(beyond, constant, 0.8, 180)
    assert median == 89 and low == 49 and high is None
    assert difference(np.full(100, math.inf), np.full(100, math.inf), 0.8, 180) == (None, None, None, 0.5)


def test_transfer_saves_cases_with_a_range_for_the_difference():
    curves = load_curves_from(two_scenarios())
    plans = plan_curves(curves, PlanOptions(target_dice=0.84, pool_size=1000, cost_per_case=5),
                        make_forecaster("pow3"))
    (c,) = compare_scenarios(plans)
    assert (c.baseline.scenario, c.alternative.scenario) == ("scratch", "transfer:acdc")
    assert c.baseline.reaches == c.alternative.reaches == "within"
    assert c.saved == c.baseline.n_needed - c.alternative.n_needed > 0 and c.better == "transfer:acdc"
    assert c.saved_cost == c.baseline.cost - c.alternative.cost
    low, high = c.saved_range
    assert 0 < low <= c.saved_median <= high and c.chance_fewer > 0.9
    assert c.baseline.n_needed == plans[0].recommendation.n_for_target
    assert c.baseline.next_round == plans[0].recommendation.next_round
    assert c.alternative.next_round.stop_reason == "reached"
    assert (f"transfer:acdc needs {c.saved:,} fewer cases; annotating from here costs {cost_words(c.saved_cost)} less"
            in " ".join(c.sentences))


def test_the_measured_difference_is_said_beside_the_forecasts():
    table = two_scenarios()
    curves = load_curves_from(table)
    measured = compare_scenarios(plan_curves(curves, PlanOptions(target_dice=0.84), make_forecaster("pow3")))[0].measured
    means = table.groupby(["scenario", "n_train"])["dice"].agg(["mean", "std"])
    gap = means.loc["transfer:acdc", "mean"] - means.loc["scratch", "mean"]
    se = math.sqrt((means.loc["scratch", "std"].iloc[-1] ** 2 + means.loc["transfer:acdc", "std"].iloc[-1] ** 2) / 2)
    assert (measured.sizes, measured.n_low, measured.n_high) == (len(SIZES), SIZES[0], SIZES[-1])
    assert measured.mean == pytest.approx(gap.mean(), abs=1e-4) and measured.last == pytest.approx(gap.iloc[-1], abs=1e-4)
    assert measured.last_se == pytest.approx(se, abs=1e-4)
    assert measured.within_noise == (abs(measured.last) <= 2 * measured.last_se)


@pytest.mark.parametrize("shift, seeds, words", [
    (0.0, (0, 1), "within twice its standard error over the seeds"),
    (0.05, (0, 1), "beyond twice its standard error over the seeds"),
    (0.0, (0,), "one run each, so how much of it is noise is not measured"),
])
def test_the_measured_difference_says_whether_the_seeds_tell_the_curves_apart(shift, seeds, words):
    table = two_scenarios().query("seed in @seeds")
    scratch = table[table.scenario == "scratch"]
    table = pd.concat([scratch, scratch.assign(scenario="transfer:acdc", dice=scratch.dice + shift)])
    (c,) = compare_scenarios(plan_curves(load_curves_from(table), PlanOptions(target_dice=0.84),
                                         make_forecaster("pow3")))
    assert c.measured.mean == pytest.approx(shift) and words in " ".join(c.sentences)
    assert "Measured at the 5 sizes both scenarios ran (10 to 160 cases)" in " ".join(c.sentences)


def test_each_seed_is_compared_with_the_same_seed_of_the_baseline_scenario():
    table = two_scenarios().replace({"scenario": {"scratch": "imagenet"}})  # no scratch: the first scenario leads
    plans = plan_curves(group_curves(validate_table(table), average_seeds=False), PlanOptions(target_dice=0.84),
                        make_forecaster("pow3"))
    comparisons = compare_scenarios(plans)
    assert [c.configuration for c in comparisons] == [f"heart / resunet / depth 4 / seed {s}" for s in (0, 1)]
    for c in comparisons:
        assert (c.baseline.scenario, c.alternative.scenario) == ("imagenet", "transfer:acdc")
        key = plans[c.baseline.curve].forecast.curve.key
        assert plans[c.alternative.curve].forecast.curve.key == {**key, "scenario": "transfer:acdc"}


def compared(target: float, pool: int):
    plans = plan_curves(load_curves_from(two_scenarios()), PlanOptions(target_dice=target, pool_size=pool),
                        make_forecaster("pow3"))
    (comparison,) = compare_scenarios(plans)
    return comparison, " ".join(comparison.sentences)


def test_a_target_both_reach_only_beyond_the_pool_is_said_so():
    c, words = compared(0.87, 170)
    assert c.baseline.reaches == c.alternative.reaches == "beyond_pool"
    assert c.saved == c.baseline.n_needed - c.alternative.n_needed > 0
    assert (f"Neither reaches Dice 0.87 within the pool of 170 cases, only beyond it: by extrapolation, "
            f"transfer:acdc needs {c.saved:,} fewer cases.") in words
    assert c.alternative.dice_now > 0.87  # measured above the target, though its forecast at 80% is not
    assert f"about {estimate(c.alternative.n_needed)} by extrapolation (its measured curve already reaches it: " \
           f"{c.alternative.dice_now:.3f} with 160 cases)" in words


def test_a_target_only_one_scenario_reaches_within_the_pool_is_said_so():
    c, words = compared(0.86, 170)
    assert (c.baseline.reaches, c.alternative.reaches) == ("beyond_pool", "within")
    assert "Only transfer:acdc reaches Dice 0.86 within the pool of 170 cases; by extrapolation beyond it" in words


def test_a_target_neither_scenario_reaches_gives_no_difference():
    c, words = compared(0.95, 300)
    assert c.baseline.reaches == c.alternative.reaches == "not_reached" and c.saved is None
    assert ("Neither scenario reaches Dice 0.95 within the pool of 300 cases, nor by extrapolation up to 3,200: "
            "there is no difference to give at 80% confidence.") in words
    assert c.saved_range == (None, None) and c.saved_median is None and "How sure" not in words


def test_without_a_target_nothing_is_compared_and_the_terminal_says_why(tmp_path):
    path = tmp_path / "two.csv"
    two_scenarios().to_csv(path, index=False)
    result = run("forecast", path, "--method", "pow3", "--average-seeds")
    assert result.exit_code == 0, result.output
    assert "give --target-dice to compare the scenarios" in " ".join(result.output.split())


def test_the_comparison_reads_the_same_in_the_terminal_the_json_and_the_pdf(made):
    (c,) = made["plan"]["comparisons"]
    assert c["baseline"]["scenario"] == "scratch" and c["saved"] > 0
    for sentence in c["sentences"]:
        assert sentence in made["forecast"] and sentence in made["report"] and sentence in made["pdf"]
    assert "Scenarios compared" in made["pdf"]
    assert f"transfer:acdc vs scratch {c['saved']:+,} {c['saved_cost']:,.0f} {c['saved_median']:+,}" in made["pdf"]
    assert f"{c['saved_range'][0]:+,} to {c['saved_range'][1]:+,}" in made["pdf"]
    document = PlanDocument.read(made["folder"] / "plan.json")
    assert PlanDocument.from_json(document.to_json()) == document


def test_a_comparison_naming_a_curve_the_document_lacks_is_refused(made, tmp_path):
    plan = dict(made["plan"])
    plan["comparisons"] = [dict(plan["comparisons"][0], alternative=dict(plan["comparisons"][0]["alternative"],
                                                                          curve=5))]
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps(plan))
    result = run("report", "--plan", bad, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert re.match(rf"error: {re.escape(str(bad))}: .*comparisons\[0\]\.alternative\.curve: 5 is not one of the 2 "
                    "curves", line)


def load_curves_from(table: pd.DataFrame):
    return group_curves(validate_table(table), average_seeds=True)


def test_backtest_summarises_each_scenario_apart(made, tmp_path):
    result = run("backtest", made["folder"] / "two.csv", "--methods", "pow3", "--json", tmp_path / "b.json")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "b.json").read_text())["summary"]
    assert {(row["scenario"], row["curves"]) for row in summary} == {("scratch", 2), ("transfer:acdc", 2)}


def test_the_backtest_on_the_planners_curves_is_given_per_scenario(made):
    rows = made["plan"]["trust"]["own"]["rows"]
    assert {row["scenario"] for row in rows} == {"scratch", "transfer:acdc"}
    for row in rows:
        assert f"{row['scenario']} {row['cutoff']:.0%} {1 / row['cutoff']:.0f}x {row['curves']} {row['mae']:.3f}" \
               in made["pdf"]
