"""Every method's forecast has the shapes of DESIGN.md on plausible and awkward curves, synthetic and real.

The median never falls; beyond the largest observed size the gain per doubling never grows, so past the point where a
doubling first gains less than a plateau tolerance every later doubling gains less too; quantiles move continuously
with the size; upper quantiles never fall.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from samplecast.curves import Curve, load_curves
from samplecast.forecast.base import clone
from samplecast.forecast.methods import METHOD_NAMES, make_forecaster
from samplecast.forecast.together import SweepMean, sweep_partners

DATA = Path(__file__).resolve().parents[1] / "data"
LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
UPPER = [i for i, q in enumerate(LEVELS) if q > 0.5]
TOL = 1e-9


def random_curves(count: int, seed: int = 0) -> list[Curve]:
    """Plausible and awkward curves: power laws with noise, flat, noisy, decreasing, saturated near 1, 3 points,
    long sweeps."""
    rng = np.random.default_rng(seed)
    kinds = ("power", "flat", "noisy", "decreasing", "saturated", "three", "long")
    curves = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        points = {"three": 3, "long": 12}.get(kind, int(rng.integers(4, 8)))
        n = np.unique(np.round(rng.uniform(8, 20) * 2.0 ** np.arange(points) * rng.uniform(0.9, 1.1, points)))
        a, b, c = rng.uniform(0.6, 0.95), rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.9)
        dice = {
            "flat": np.full(n.size, rng.uniform(0.2, 0.8)),
            "decreasing": np.linspace(0.8, 0.6, n.size),
            "saturated": 0.999 - 0.3 * n ** -c,
            "noisy": a - b * n ** -c + rng.normal(0, 0.05, n.size),
        }.get(kind, a - b * n ** -c + rng.normal(0, 0.01, n.size))
        curves.append(Curve({"curve": f"{kind}-{i}"}, n, np.clip(dice, 0.0, 1.0)))
    return curves


def assert_shapes(model, n_first: float, n_max: float) -> None:
    grid = np.geomspace(n_first / 2, 64 * n_max, 400)
    q = model.predict_quantiles(grid, LEVELS)
    median = q[:, LEVELS.index(0.5)]
    assert np.all(np.diff(median) >= -TOL), "median falls"
    assert np.all(np.diff(q[:, UPPER], axis=0) >= -TOL), "an upper quantile falls"
    beyond = n_max * 2.0 ** (np.arange(0, 25) / 4)
    m = model.predict(np.concatenate([beyond, 2 * beyond])).reshape(2, -1)
    gain = m[1] - m[0]  # per doubling from each size
    assert np.all(np.diff(gain) <= TOL), "gain per doubling grows beyond the data"
    slow = np.flatnonzero(gain < 0.01)
    assert slow.size == 0 or np.all(gain[slow[0]:] < 0.01), "a doubling past the plateau gains the plateau gain"
    edges = n_max * np.array([1.0, 1.5, 2.5, 7.0, 10.0, 30.0])  # where a method could switch behaviour
    for eps in (1e-6, -1e-6):
        jump = model.predict_quantiles(edges * (1 + eps), LEVELS) - model.predict_quantiles(edges, LEVELS)
        assert np.max(np.abs(jump)) < 1e-4, "quantiles jump"


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_shapes_on_random_curves(method):
    forecaster = make_forecaster(method)
    for curve in random_curves(14 if method not in ("ensemble", "average") else 7):
        assert_shapes(clone(forecaster).fit_curve(curve), curve.n[0], curve.n_max)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_shapes_of_depths_forecast_together_on_random_curves(method):
    """Each random curve pooled with the next one's values at its own sizes (a second depth of the same sweep)."""
    forecaster = make_forecaster(method)
    curves = random_curves(14 if method not in ("ensemble", "average") else 7, seed=2)
    for curve, other in zip(curves, curves[1:] + curves[:1]):
        partner = Curve({}, curve.n, np.interp(np.log(curve.n), np.log(other.n), other.dice))
        assert_shapes(SweepMean(forecaster, [partner]).fit_curve(curve), curve.n[0], curve.n_max)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_shapes_on_real_prefixes_and_many_random_curves(method):
    forecaster = make_forecaster(method)
    curves = random_curves(60, seed=1)
    for path in sorted(DATA.rglob("*_curves.csv")):  # transfer curves (data/transfer/) too
        for curve in load_curves(path, average_seeds=False):  # each seed: noisier than their mean
            curves += [curve.up_to(curve.n[k]) for k in range(2, len(curve.n), 3)]
    for curve in curves:
        assert_shapes(clone(forecaster).fit_curve(curve), curve.n[0], curve.n_max)
    for path in sorted(DATA.rglob("*_curves.csv")):  # each real prefix with the other depths of its sweep
        curves = load_curves(path, average_seeds=False)
        for k in range(2, max(len(c.n) for c in curves), 3):
            cut = [c.up_to(c.n[min(k, len(c.n) - 1)]) for c in curves]
            for curve, others in zip(cut, sweep_partners(cut)):
                if others:
                    assert_shapes(SweepMean(forecaster, others).fit_curve(curve), curve.n[0], curve.n_max)
