"""The recommendation, checked on forecasters whose answers are known in closed form."""

import math

import numpy as np
import pytest
from scipy import stats

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.base import CurveForecaster, as_sizes, tidy_quantiles
from samplecast.plan import PlanOptions, recommend, smallest_n

A, B, C, SD = 0.9, 2.0, 0.5, 0.02  # Dice(n) = A - B n^-C, normal spread SD


class KnownCurve(CurveForecaster):
    """A forecaster with a known power-law median and a normal spread: the planner's answers are closed-form."""

    name = "known"

    def fit(self, n, dice, sd=None):
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=(0.5,)):
        mean = A - B * as_sizes(n) ** (-C)
        return tidy_quantiles(mean[:, None] + SD * stats.norm.ppf(np.asarray(quantiles))[None, :])


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


def test_unreachable_target_gives_none():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.95))
    assert rec.n_for_target is None and rec.n_target_median is None
    assert "not reached" in rec.sentences()[0]


def test_plateau_is_where_a_doubling_gains_less_than_the_tolerance():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(plateau_gain=0.03))
    expected = (B * (1 - 2**-C) / 0.03) ** (1 / C)  # gain(n) = B n^-C (1 - 2^-C)
    assert rec.n_plateau == math.floor(expected) + 1
    assert recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(plateau_gain=0.001)).n_plateau is None


def test_pool_dice_and_costs():
    options = PlanOptions(target_dice=0.8, pool_size=5000, cost_per_case=2.5)
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, options)
    assert rec.dice_at_pool["q50"] == pytest.approx(A - B * 5000**-C, abs=1e-4)
    assert rec.dice_at_pool["q10"] < rec.dice_at_pool["q50"] < rec.dice_at_pool["q90"]
    assert rec.additional_to_target == rec.n_for_target - 100
    assert rec.cost_to_target == pytest.approx(2.5 * (rec.n_for_target - 100))
    assert rec.cost_to_pool == pytest.approx(2.5 * 4900)


def test_target_already_reached_costs_nothing():
    rec = recommend(KnownCurve().fit_curve(CURVE), CURVE, PlanOptions(target_dice=0.5, cost_per_case=3))
    assert rec.n_for_target < 100 and rec.additional_to_target == 0 and rec.cost_to_target == 0
    assert "already reach" in rec.sentences()[0]


def test_bad_options_are_reported_together():
    with pytest.raises(InputError) as info:
        PlanOptions(target_dice=1.2, confidence=1.5, plateau_gain=0)
    assert len(info.value.problems) == 3


def test_smallest_n_finds_the_exact_integer():
    assert smallest_n(lambda n: n >= 1234.5, 1, 10_000) == 1235
    assert smallest_n(lambda n: n > 1e9, 1, 10_000) is None
