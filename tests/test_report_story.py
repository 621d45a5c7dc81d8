"""One story per report: every sentence is made from the numbers the plan document holds and the page shows, and
says what those numbers mean (a plateau where the forecast stays flat, an answer at the smallest size measured,
sizes beyond the data rounded, costs with their unit, omitted backtest cutoffs with their reason)."""

import re

import numpy as np
import pytest
from pypdf import PdfReader

from known_curve import KnownCurve
from samplecast.curves import Curve, load_curves
from samplecast.errors import InputError
from samplecast.forecast.base import CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.evaluate import cutoff_coverage
from samplecast.forecast.methods import make_forecaster
from samplecast.forecast.reach import search, size_reaching
from samplecast.plan import PlanOptions, curve_warnings, plan_curves, plan_document, recommend
from samplecast.plan.trust_sentences import cutoff_notes
from samplecast.plan.wording import cost_of, estimate, more_than, size_text
from samplecast.report import render_report
from samplecast.report.tables import glance_rows, marginal_rows, target_rows

CURVE = Curve({"dataset": "x"}, [25, 50, 100], KnownCurve().mean([25, 50, 100]))
NO_SUMMARY = {"format": 1}  # a forecaster backtest of no known format: the report says there is none


class Onset(CurveForecaster):
    """A curve that starts flat near zero, rises and levels off: median 0.6 / (1 + (200 / n)^2), spread 0.01."""

    name = "onset"

    def fit(self, n, dice, sd=None):
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=(0.5,)):
        median = 0.6 / (1 + (200 / as_sizes(n)) ** 2)
        return tidy_quantiles(median[:, None] + 0.01 * np.linspace(-1, 1, len(quantiles))[None, :])


def _sentences(curve: Curve, model: CurveForecaster, **options) -> list[str]:
    return recommend(model.fit_curve(curve), curve, PlanOptions(**options)).sentences()


# --- the plateau ---------------------------------------------------------------------------------------------------


def test_a_curve_flat_at_its_start_has_not_flattened_while_it_still_rises():
    model = Onset().fit_curve(CURVE)
    _, plateau = search(model, [], 10, 100_000, plateau_gain=0.01)
    sizes = np.arange(plateau, 20_000, 7.0)
    gains = model.predict(2 * sizes) - model.predict(sizes)
    assert plateau > 1000 and (gains < 0.01).all()  # flat from there on, not at 10 where the rise has not begun
    assert model.predict([2 * (plateau - 1)])[0] - model.predict([plateau - 1])[0] >= 0.01


def test_the_issues_rising_curve_is_not_said_to_flatten_from_its_first_size():
    rising = Curve({"dataset": "rising"}, [10, 20, 40, 80, 160, 320], [0.0, 0.0032, 0.1091, 0.2103, 0.2909, 0.3433])
    (plan,) = plan_curves([rising], PlanOptions(pool_size=100_000), make_forecaster("lstm"))
    sentences = " ".join(plan.recommendation.sentences())
    assert "flat from" not in sentences and "has not flattened within the pool of 100,000 cases" in sentences


# --- answers at the smallest size measured, rounding, costs --------------------------------------------------------


@pytest.fixture(scope="module")
def ceiling():
    """A plan whose target the forecast reaches at the smallest size measured, and its document."""
    model = KnownCurve(a=0.95, b=0.1, sd=0.005)
    curve = model.curve((30, 60, 120, 240))
    plans = plan_curves([curve], PlanOptions(target_dice=0.85, pool_size=1000, cost_per_case=5), model)
    return plans[0], plan_document(plans, "known", backtest_summary=NO_SUMMARY)


def test_an_answer_at_the_smallest_size_measured_is_said_so_not_as_a_range_of_one_size(ceiling):
    plan, document = ceiling
    first = plan.recommendation.sentences()[0]
    assert "at the smallest size measured (30 cases)" in first
    assert not re.search(r"range (\d[\d,]*) to \1\b", " ".join(plan.recommendation.sentences()))
    rows, _ = target_rows(document)
    reached = [row for row in rows[1:] if row[1] in ("0.81", "0.83", "0.85")]
    assert reached and all(row[2] == row[3] == row[4] == "≤ 30" for row in reached)
    assert "\"≤ N\" a level the forecast already reaches at the smallest size measured" in document.captions.targets


def test_sizes_beyond_the_data_are_rounded_and_what_follows_adds_up():
    assert (estimate(12_487), size_text(12_487, 800), size_text(799, 800)) == ("12,500", "12,500", "799")
    assert (more_than(1383, 720), cost_of(1383, 720, 5.0)) == (660, 3300.0)
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.83, cost_per_case=5))
    assert rec.n_for_target > 1000 and size_text(rec.n_for_target, 100) != f"{rec.n_for_target:,}"
    shown, more = size_text(rec.n_for_target, 100), more_than(rec.n_for_target, 100)
    assert (f"annotate about {shown} training cases" in rec.sentences()[0]
            and f"{more:,} more than the 100 used so far, costing {more * 5:,.0f} cost units" in rec.sentences()[0])


def test_the_cost_of_more_dice_is_read_off_the_forecast_within_the_pool():
    model = KnownCurve().fit_curve(CURVE)
    (plan,) = plan_curves([CURVE], PlanOptions(pool_size=5000, cost_per_case=2), KnownCurve())
    document = plan_document([plan], "known", backtest_summary=NO_SUMMARY)
    now = document.curves[0].marginal_now
    a, b, c = 0.9, 2.0, 0.5
    exact = (b / (a - (a - b * 100**-c) - 0.01)) ** (1 / c)  # where the median is 0.01 above today's
    assert now.n_for_gain == size_reaching(model, model.predict([100])[0] + 0.01, 0.5, 100, 5000)
    assert abs(now.n_for_gain - exact) <= 1
    (row,) = marginal_rows(document)[1:]
    assert row[-2:] == [size_text(now.n_for_gain, 100), f"{cost_of(now.n_for_gain, 100, 2):,.0f}"]
    (short,) = plan_curves([CURVE], PlanOptions(pool_size=105, cost_per_case=2), KnownCurve())
    short_row = marginal_rows(plan_document([short], "known", backtest_summary=NO_SUMMARY))[1]
    assert short_row[-2:] == ["> 105", "–"]  # the pool does not give +0.01


def test_the_horizon_beyond_the_pool_is_explained_where_it_is_quoted():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.89, pool_size=500))
    assert rec.n_beyond_pool is None
    assert "Nor would it within 2,000 cases (20x the 100 used so far, as far as the forecast is searched beyond the " \
           "pool)" in rec.sentences()[0]


# --- warnings and caveats that fit the curve -----------------------------------------------------------------------


def test_a_flat_curve_is_a_constant_answer_only_near_a_constant_predictors_score():
    model = KnownCurve().fit_curve(CURVE)
    n = [30.0, 60, 120, 240]
    (low,) = curve_warnings(Curve({"dataset": "low"}, n, [0.30, 0.301, 0.299, 0.30]), model)
    (high,) = curve_warnings(Curve({"dataset": "high"}, n, [0.80, 0.801, 0.799, 0.80]), model)
    assert "constant answer" in low and "plateau" in high and "constant" not in high


def test_a_zigzag_curve_without_test_sizes_is_warned_of_its_own_scatter():
    model = KnownCurve().fit_curve(CURVE)
    n = [10.0, 20, 40, 80, 160]
    (warning,) = curve_warnings(Curve({"dataset": "zigzag"}, n, [0.55, 0.71, 0.64, 0.74, 0.69]), model)
    assert "zigzag: Dice falls 2 times as the data grows, by up to 0.070 (from 20 to 40 cases)" in warning
    assert curve_warnings(Curve({"dataset": "rising"}, n, [0.55, 0.64, 0.69, 0.71, 0.74]), model) == []


def test_the_seed_caveat_says_what_the_curves_hold():
    single = plan_document(plan_curves([CURVE], PlanOptions(), KnownCurve()), "known", backtest_summary=NO_SUMMARY)
    two = Curve({"dataset": "x"}, CURVE.n, CURVE.dice, sd=[0.01] * 3, count=[2] * 3)
    averaged = plan_document(plan_curves([two], PlanOptions(), KnownCurve()), "known", backtest_summary=NO_SUMMARY)
    assert "with one seed per size the noise is assumed" in single.trust.caveats[-1]
    assert "2 seeds were averaged per size" in averaged.trust.caveats[-1]
    assert not any("one seed" in c for c in averaged.trust.caveats)


# --- what the checks let through -----------------------------------------------------------------------------------


def test_sizes_beyond_the_pool_or_the_horizon_and_unbounded_costs_are_refused():
    with pytest.raises(InputError, match=r"at 5,000 lies beyond pool_size 2,000"):
        plan_curves([CURVE], PlanOptions(pool_size=2000), KnownCurve(), at=[500, 5000])
    with pytest.raises(InputError, match=r"at 1,000,000,000,000 lies beyond the horizon of 2,000 cases"):
        plan_curves([CURVE], PlanOptions(), KnownCurve(), at=[1e12])
    with pytest.raises(InputError, match="cost_per_case 1e\\+308 must lie between 0 and 1e\\+09"):
        PlanOptions(cost_per_case=1e308)


def test_every_backtest_cutoff_left_out_or_repeated_is_explained():
    curve = Curve({"dataset": "x"}, [16, 80, 160, 400, 800], [0.5, 0.6, 0.65, 0.7, 0.72])
    coverage = cutoff_coverage([curve], (0.1, 0.2, 0.3, 0.5))
    assert coverage == [(0.1, 0, None), (0.2, 1, None), (0.3, 1, 0.2), (0.5, 1, None)]
    assert cutoff_notes(coverage, 1) == [
        "10% is left out: no curve has 3 sizes at or below 10% of its largest size",
        "30% keeps the same sizes as 20% on every curve (none was measured between), so its figures repeat those of "
        "20%"]


# --- the PDF against its plan document -----------------------------------------------------------------------------


def _pdf_text(path) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))


#: Sizes a forecast estimates: a sentence may quote them only as shown (rounded beyond the data), with the cases more
#: and the cost that follow from that.
_ESTIMATED = ("n_for_target", "n_target_median", "n_beyond_pool", "n_plateau", "annotate_to")


def _allowed_numbers(document, view) -> set[str]:
    """Every way the report may write a number of this curve's plan and of the options: exact for what was given or
    measured (the pool, the horizons, Dice, chances), as shown for sizes the forecast estimates."""
    rec, o, plan = view.recommendation, document.options, view.recommendation.next_round
    numbers: set[str] = {str(k) for k in range(21)}
    exact = [rec.n_observed, rec.horizon, rec.beyond_horizon, rec.dice_now, rec.cost_to_pool, rec.plateau_gain,
             *(rec.dice_at_pool or {}).values(), o.pool_size, o.cost_per_case, o.target_dice, rec.confidence]
    estimated = [getattr(rec, name) for name in _ESTIMATED if hasattr(rec, name)] + list(rec.n_target_range or ())
    if plan is not None:
        exact += [plan.shortfall_cost, plan.chance_by_end, plan.chance_at_pool, *plan.chances]
        estimated += [plan.annotate_to, *plan.schedule]
        numbers.add(estimate(plan.expected_cases))
    for v in (v for v in exact if v is not None):
        numbers |= {f"{v:,}", f"{v:,.0f}", f"{v:.3f}", f"{v:.2f}", f"{v:,.2f}", f"{v:.0%}".rstrip("%")}
        if rec.n_observed and isinstance(v, int):
            numbers.add(f"{v / rec.n_observed:.0f}")
    for v in (v for v in estimated if v is not None):
        numbers |= {size_text(v, rec.n_observed), f"{more_than(v, rec.n_observed):,}"}
        if o.cost_per_case is not None:
            numbers.add(f"{cost_of(v, rec.n_observed, o.cost_per_case):,.0f}")
    return numbers


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The plan documents and PDFs of the shipped reference curves (as in reports/), and of a near-ceiling curve
    beside one whose target needs more cases than measured."""
    folder = tmp_path_factory.mktemp("story")
    made = []
    reference = load_curves("data/kvasir_reference_curves.csv")
    options = PlanOptions(target_dice=0.8, pool_size=1000, cost_per_case=5)
    document = plan_document(plan_curves(reference, options, make_forecaster("lstm")), "lstm",
                             source="data/kvasir_reference_curves.csv")
    made.append((document, render_report(document, folder / "reference.pdf")))
    n = [30, 60, 120, 240]
    curves = [Curve({"dataset": "ceiling"}, n, [0.88, 0.89, 0.895, 0.90]),
              Curve({"dataset": "rising"}, n, KnownCurve(a=0.92).mean(n))]  # needs more cases than measured
    options = PlanOptions(target_dice=0.85, pool_size=3000, cost_per_case=5)
    document = plan_document(plan_curves(curves, options, make_forecaster("pow3")), "pow3",
                             backtest_summary=NO_SUMMARY)
    made.append((document, render_report(document, folder / "ceiling.pdf")))
    return [(document, _pdf_text(pdf)) for document, pdf in made]


def test_every_sentence_of_the_plan_is_in_the_pdf_and_quotes_only_its_numbers(reports):
    for document, text in reports:
        for view in document.curves:
            allowed = _allowed_numbers(document, view)
            for sentence in view.sentences:
                assert re.sub(r"\s+", " ", sentence) in text
                quoted = set(re.findall(r"\d[\d,]*(?:\.\d+)?", sentence)) - allowed
                assert not quoted, f"{sentence!r} quotes {quoted}, not in the plan document"


def test_the_pdf_tables_and_captions_agree_with_the_plan(reports):
    for document, text in reports:
        for row in glance_rows(document)[1:]:
            assert " ".join(row) in text
        rows, _ = target_rows(document)
        assert ("last column gives the size" in text) == ("beyond the pool" in rows[0])
        seeds = max(max(view.observed.count) for view in document.curves)
        assert ("one seed per size the noise is assumed" in text) == (seeds < 2)
        assert not re.search(r"costing \d[\d,]*(?![\d,])(?! cost units| times)", text)
        assert not re.search(r"range (\d[\d,]*) to \1\b", text)
