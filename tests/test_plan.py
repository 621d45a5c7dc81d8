"""The recommendation, checked on forecasters whose answers are known in closed form."""

import math

import numpy as np
import pytest
from scipy import stats

from known_curve import KnownCurve as ClosedForm
from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.base import as_sizes
from samplecast.forecast.evaluate import data_needed
from samplecast.forecast.reach import search, size_reaching
from samplecast.plan import PlanOptions, chances, curve_warnings, recommend
from samplecast.plan.wording import size_text

A, B, C, SD = 0.9, 2.0, 0.5, 0.02  # Dice(n) = A - B n^-C, normal spread SD


class KnownCurve(ClosedForm):
    """The closed-form forecaster with this module's constants."""

    def __init__(self, a: float = A, b: float = B, c: float = C, sd: float = SD):
        super().__init__(a, b, c, sd)


CURVE = Curve({"dataset": "x"}, [25, 50, 100], [A - B * 25**-C, A - B * 50**-C, A - B * 100**-C])


def n_reaching(target, z):
    """Smallest integer n with A - B n^-C + SD z >= target."""
    return math.ceil((B / (A + SD * z - target)) ** (1 / C) - 1e-9)


def test_n_for_target_uses_the_confidence_quantile():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.8, confidence=0.8))
    assert rec.n_for_target == n_reaching(0.8, stats.norm.ppf(0.2))
    assert rec.n_target_median == n_reaching(0.8, 0.0)
    assert rec.n_target_range == (n_reaching(0.8, stats.norm.ppf(0.9)), n_reaching(0.8, stats.norm.ppf(0.1)))
    assert rec.n_target_range[0] < rec.n_target_median < rec.n_for_target < rec.n_target_range[1]


def test_higher_confidence_needs_more_cases():
    model = KnownCurve().fit_curve(CURVE)
    low = recommend(model, CURVE, PlanOptions(target_dice=0.8, confidence=0.6)).n_for_target
    high = recommend(model, CURVE, PlanOptions(target_dice=0.8, confidence=0.95)).n_for_target
    assert low < high


def test_unreachable_target_gives_none_and_states_the_horizon():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.95))
    assert rec.n_for_target is None and rec.n_target_median is None and rec.horizon == 2000
    assert "not reached with 80% confidence within 2,000 cases (the horizon searched, 20x" in rec.sentences()[0]
    assert "No pool size was given: sizes up to 2,000 cases" in rec.sentences()[-1]


def test_no_answer_exceeds_the_pool():
    options = PlanOptions(target_dice=0.8, pool_size=500, cost_per_case=30, plateau_gain=0.001)
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, options)
    beyond = n_reaching(0.8, stats.norm.ppf(0.2))
    assert beyond > 500  # the closed form needs more cases than the pool holds
    assert rec.n_for_target is None and rec.target_within_pool is False and rec.n_beyond_pool == beyond
    assert rec.n_plateau is None and rec.cost_to_target is None and rec.cost_to_pool == 30 * 400
    low, high = rec.n_target_range
    assert low <= 500 and high is None
    words = rec.sentences()[0]
    assert words.startswith("Dice 0.80 is not reachable within the pool of 500 cases with 80% confidence: "
                            f"expected Dice at 500 is {rec.dice_at_pool['q50']:.3f}")
    assert f"Beyond the pool, the forecast would reach it with 80% confidence at about {beyond:,} cases" in words
    assert rec.to_dict()["n_for_target"] is None and rec.to_dict()["target_within_pool"] is False


def test_a_reachable_target_within_the_pool():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.8, pool_size=5000))
    assert rec.target_within_pool is True and rec.n_for_target <= 5000 and rec.n_beyond_pool is None


def test_a_pool_smaller_than_the_cases_used_is_an_input_error():
    with pytest.raises(InputError, match="pool_size 50 is smaller than the 100 training cases curve x already used"):
        recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(pool_size=50))


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.95])
def test_the_range_is_at_the_confidence_of_the_answer_and_holds_it(confidence):
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.8, confidence=confidence))
    low, high = rec.n_target_range
    assert low <= rec.n_for_target <= high
    assert (low, high) == (n_reaching(0.8, stats.norm.ppf((1 + confidence) / 2)),
                           n_reaching(0.8, stats.norm.ppf((1 - confidence) / 2)))
    assert f"({confidence:.0%} range {size_text(low, 100)} to {size_text(high, 100)})" in rec.sentences()[0]


def test_confidence_in_words():
    assert [chances(c) for c in (0.8, 0.95, 0.5, 0.9)] == ["4 chances in 5", "19 chances in 20", "1 chance in 2",
                                                           "9 chances in 10"]
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.8))
    assert "with 80% confidence (at least 4 chances in 5)" in rec.sentences()[0]


def test_plateau_is_where_a_doubling_gains_less_than_the_tolerance():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(plateau_gain=0.03))
    expected = (B * (1 - 2**-C) / 0.03) ** (1 / C)  # gain(n) = B n^-C (1 - 2^-C)
    assert rec.n_plateau == math.floor(expected) + 1
    assert recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(plateau_gain=0.001)).n_plateau is None


def test_pool_dice_and_costs():
    options = PlanOptions(target_dice=0.8, pool_size=5000, cost_per_case=2.5)
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, options)
    assert rec.dice_at_pool["q50"] == pytest.approx(A - B * 5000**-C, abs=1e-4)
    d = rec.dice_at_pool
    assert d["low"] < d["floor"] < d["q50"] < d["high"]
    assert d["floor"] == pytest.approx(A - B * 5000**-C + SD * stats.norm.ppf(0.2), abs=1e-4)
    assert rec.additional_to_target == rec.n_for_target - 100
    assert rec.cost_to_target == pytest.approx(2.5 * (rec.n_for_target - 100))
    assert rec.cost_to_pool == pytest.approx(2.5 * 4900)


def test_target_already_reached_costs_nothing_and_says_so():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.5, cost_per_case=3))
    assert rec.n_for_target < 100 and rec.additional_to_target == 0 and rec.cost_to_target == 0
    assert rec.sentences()[0].startswith("Dice 0.50 is already reached: the 100 cases used so far measured 0.700")


def test_a_measured_target_the_forecast_is_not_sure_of_says_why_it_asks_for_more():
    target = round(float(CURVE.dice[-1]) - 0.005, 3)  # measured, but within the spread of the forecast
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=target))
    assert rec.additional_to_target > 0
    assert "was already measured (0.700 with the 100 cases used so far), but one measurement is noisy" in \
        rec.sentences()[0]


def test_bad_options_are_reported_together():
    with pytest.raises(InputError) as info:
        PlanOptions(target_dice=1.2, confidence=1.5, plateau_gain=0)
    assert len(info.value.problems) == 3


def test_non_finite_options_are_refused_by_name():
    with pytest.raises(InputError) as info:
        PlanOptions(target_dice=float("nan"), plateau_gain=float("nan"), cost_per_case=float("inf"),
                    pool_size=float("inf"))
    assert [p.split()[0] for p in info.value.problems] == ["target_dice", "plateau_gain", "pool_size",
                                                           "cost_per_case"]


class Ramp(KnownCurve):
    """Dice rising linearly with n, quantiles spread evenly: every answer is a known whole number."""

    def predict_quantiles(self, n, quantiles=(0.5,)):
        return as_sizes(n)[:, None] / 10_000 + (np.asarray(quantiles)[None, :] - 0.5) / 10


def test_search_finds_exact_whole_sizes_for_several_questions_at_once():
    model = Ramp().fit_curve(CURVE)
    answers, _ = search(model, [(0.12345, 0.5), (0.12345, 0.4), (0.00035, 0.5), (2.0, 0.5)], 1, 10_000)
    assert answers == [1235, 1335, 4, None]  # the 0.4 quantile lies 0.01 (100 cases) below the median


def test_plateau_and_reaching_questions_share_the_calls():
    calls = []

    class Counted(KnownCurve):
        def predict_quantiles(self, n, quantiles=(0.5,)):
            calls.append(len(as_sizes(n)))
            return super().predict_quantiles(n, quantiles)

    answers, plateau = search(Counted().fit_curve(CURVE), [(0.8, 0.2), (0.8, 0.5)], 25, 10_000, plateau_gain=0.03)
    assert answers == [n_reaching(0.8, stats.norm.ppf(0.2)), n_reaching(0.8, 0.0)]
    assert plateau == math.floor((B * (1 - 2**-C) / 0.03) ** (1 / C)) + 1
    assert len(calls) == 2


def test_plan_and_backtest_share_one_search():
    model = KnownCurve().fit_curve(CURVE)
    for target in (0.7, 0.8, 0.85):
        expected = n_reaching(target, 0.0)
        assert size_reaching(model, target, 0.5, 25, 64 * 100) == expected
        assert data_needed(model, 25, 100, target) == expected
        assert recommend(model, CURVE, PlanOptions(target_dice=target, pool_size=6400)).n_target_median == expected


def test_warnings_name_curves_that_cannot_support_a_forecast():
    model = KnownCurve().fit_curve(CURVE)
    n = np.array([10.0, 40, 160])
    flat = Curve({"dataset": "flat"}, n, [0.18, 0.181, 0.18])
    assert "flat: Dice stays at 0.180 from 10 to 160 cases" in curve_warnings(flat, model)[0]
    few = Curve({"dataset": "few"}, n, [0.5, 0.6, 0.7], n_test=[3, 3, 3], dice_sd=[0.1, 0.1, 0.1])
    assert any("only 3 test cases" in w for w in curve_warnings(few, model))
    noisy = Curve({"dataset": "noisy"}, n, [0.5, 0.6, 0.7], sd=[0.08, 0.08, 0.08], count=[2, 2, 2],
                  n_test=[400] * 3, dice_sd=[0.1] * 3)
    (warning,) = curve_warnings(noisy, model)
    assert "noisy: Dice scatters by 0.080 between seeds, 16x the 0.005 its test set explains" in warning
    calm = Curve({"dataset": "calm"}, n, [0.5, 0.6, 0.7], sd=[0.004] * 3, count=[2] * 3, n_test=[400] * 3,
                 dice_sd=[0.1] * 3)
    assert curve_warnings(calm, model) == []


def test_a_curve_is_searched_once_for_its_recommendation_and_target_table(monkeypatch):
    import samplecast.plan.recommendation as planner
    from samplecast.plan import plan_curves, plan_document

    searches = []
    real = planner.search
    monkeypatch.setattr(planner, "search", lambda *args, **kwargs: searches.append(args[1]) or real(*args, **kwargs))
    plans = plan_curves([CURVE], PlanOptions(target_dice=0.8, pool_size=6400), KnownCurve())
    plan_document(plans, "known", backtest_summary={"format": 1})
    assert len(searches) == 1
    (row,) = [r for r in plans[0].targets if r.target_dice == 0.8]
    assert row.n_needed == plans[0].recommendation.n_for_target == n_reaching(0.8, stats.norm.ppf(0.2))
    assert [r.target_dice for r in plans[0].targets] == [0.76, 0.78, 0.8, 0.82, 0.84]
