"""The round planner, checked against closed-form chances and a brute-force search of every schedule."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from known_curve import KnownCurve
from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.methods import make_forecaster
from samplecast.forecast.rounds import RoundPlanner, best_schedule, schedule_grid, shortfall_amount, survival_below

A, B, C, SD = 0.9, 2.0, 0.5, 0.03  # Dice(n) = A - B n^-C, normal spread SD that does not change with n

MODEL = KnownCurve(A, B, C, SD).fit([], [])
CURVE = MODEL.curve()


def chance_reached(n, target):
    """P(Dice(n) >= target) for the known curve."""
    return 1 - stats.norm.cdf((target - (A - B * n ** (-C))) / SD)


def test_survival_is_the_closed_form_chance_conditioned_on_today():
    sizes = np.array([100.0, 200, 400, 800, 1600])
    target = 0.82
    expected = (1 - chance_reached(sizes, target)) / (1 - chance_reached(100.0, target))
    assert np.allclose(survival_below(MODEL, sizes, target), expected, atol=0.01)


def test_best_schedule_matches_every_schedule_tried_by_hand():
    sizes = np.array([10.0, 14, 20, 30, 45, 70, 100])
    survival = np.array([1.0, 0.9, 0.7, 0.45, 0.25, 0.1, 0.05])
    for rounds, shortfall in itertools.product((1, 2, 3), (30.0, 200.0, 2000.0)):
        def cost(path):
            total, previous, paid = 0.0, 0, 1.0
            for i in path:
                total += paid * (sizes[i] - sizes[previous])
                previous, paid = i, survival[i]
            return total + shortfall * survival[previous]

        paths = [p for p in itertools.product(range(len(sizes)), repeat=rounds) if list(p) == sorted(p)]
        best = min(cost(p) for p in paths)
        steps, found = best_schedule(sizes, survival, 1.0, shortfall, rounds)
        assert found == pytest.approx(best) and cost(steps) == pytest.approx(best)


def test_one_round_annotates_when_a_shortfall_costs_more_than_the_cases_though_the_target_is_uncertain():
    target, pool = 0.84, 2000
    assert chance_reached(pool, target) < 0.95  # not certain within the pool
    dear = RoundPlanner(rounds=1, shortfall_cost="5x").plan(MODEL, CURVE, target_dice=target, pool_size=pool)
    assert dear.annotate_to is not None and CURVE.n_max < dear.annotate_to <= pool
    assert dear.chances == (dear.chance_by_end,) and dear.more == dear.annotate_to - CURVE.n_max
    cheap = RoundPlanner(rounds=1, shortfall_cost=0).plan(MODEL, CURVE, target_dice=target, pool_size=pool)
    assert cheap.annotate_to is None and cheap.stop_reason == "not_worth"


def test_more_rounds_take_a_cheaper_first_step_and_spend_less_on_average():
    plans = [RoundPlanner(rounds=r, shortfall_cost="3x").plan(MODEL, CURVE, target_dice=0.83, pool_size=3000)
             for r in (1, 2, 3, 5)]
    firsts = [p.annotate_to for p in plans]
    assert firsts == sorted(firsts, reverse=True) and firsts[-1] < firsts[0]
    costs = [p.expected_cost for p in plans]
    assert costs == sorted(costs, reverse=True)
    assert all(1 <= len(p.schedule) <= p.rounds and list(p.schedule) == sorted(set(p.schedule)) for p in plans)


def test_stops_when_the_measured_curve_already_reaches_the_target():
    plan = RoundPlanner(rounds=3).plan(MODEL, CURVE, target_dice=0.6, pool_size=500)
    assert plan.annotate_to is None and plan.stop_reason == "reached"


def test_stops_when_the_pool_is_used_up():
    plan = RoundPlanner(rounds=2).plan(MODEL, CURVE, target_dice=0.85, pool_size=100)
    assert plan.annotate_to is None and plan.stop_reason == "pool_used"


def test_schedule_grid_is_whole_sizes_from_today_to_the_top():
    grid = schedule_grid(100, 150)
    assert grid[0] == 100 and grid[-1] == 150 and np.all(np.diff(grid) == 1)
    wide = schedule_grid(10, 100000)
    assert wide[0] == 10 and wide[-1] == 100000 and np.all(wide == np.round(wide)) and np.all(np.diff(wide) > 0)


@pytest.mark.parametrize("seed", range(6))
def test_never_annotates_beyond_the_pool_or_below_today(seed):
    rng = np.random.default_rng(seed)
    n = np.unique(np.round(np.geomspace(rng.integers(3, 20), rng.integers(60, 400), 5)))
    dice = np.sort(rng.uniform(0.3, 0.9, n.size))
    curve = Curve({"dataset": f"random {seed}"}, n, dice)
    model = make_forecaster("lstm").fit_curve(curve)
    pool = int(n[-1] * rng.uniform(1.0, 8.0))
    for rounds in (1, 3):
        plan = RoundPlanner(rounds=rounds, shortfall_cost="10x").plan(model, curve, target_dice=min(dice[-1] + 0.05,
                                                                                                     0.99),
                                                                       pool_size=pool)
        if plan.annotate_to is not None:
            assert curve.n_max < plan.annotate_to <= pool
            assert all(curve.n_max < s <= pool for s in plan.schedule)
        if plan.annotate_to is not None:
            assert list(plan.chances) == sorted(plan.chances) and plan.chances[-1] == plan.chance_by_end
        assert 0 <= plan.chance_by_end <= 1 and 0 <= plan.chance_at_pool <= 1


@pytest.mark.parametrize("value, problem", [
    (0, "rounds 0 must be a whole number, at least 1"),
    (2.5, "rounds 2.5 must be a whole number, at least 1"),
])
def test_bad_rounds_are_refused(value, problem):
    with pytest.raises(InputError, match=problem):
        RoundPlanner(rounds=value)


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, "-2x", "lots", "x"])
def test_bad_shortfall_costs_are_refused(value):
    with pytest.raises(InputError, match="shortfall_cost"):
        RoundPlanner(shortfall_cost=value)


def test_shortfall_as_a_multiple_of_the_pool():
    assert shortfall_amount("2.5x", 1000.0) == 2500.0
    assert shortfall_amount(700, 1000.0) == 700.0
