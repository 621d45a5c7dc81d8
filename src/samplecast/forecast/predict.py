"""Forecast whole curves: fit a forecaster on each curve and tabulate Dice quantiles at the sizes a planner asks
about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from samplecast.curves import Curve
from samplecast.forecast.base import QUANTILES, CurveForecaster, quantile_name
from samplecast.forecast.together import fit_in_sweep

__all__ = ["DEFAULT_REACH", "CurveForecast", "default_sizes", "forecast_curve", "quantile_name"]

#: How far beyond the largest observed size the default grid goes when no pool size is given.
DEFAULT_REACH = 4


def default_sizes(curve: Curve, pool_size: float | None = None) -> np.ndarray:
    """A doubling grid from the largest observed size up to the pool size (or 4x the largest size), inclusive."""
    limit = float(pool_size) if pool_size else DEFAULT_REACH * curve.n_max
    sizes = [curve.n_max]
    while sizes[-1] * 2 < limit:
        sizes.append(sizes[-1] * 2)
    if limit > sizes[-1]:
        sizes.append(limit)
    return np.round(np.array(sizes))


@dataclass
class CurveForecast:
    """A fitted forecaster and its quantiles of Dice at chosen sizes, for one curve.

    Args:
        curve: the (partial) curve that was fitted.
        method: the forecaster's name.
        model: the fitted forecaster (a clone of the one given), to ask for more sizes or levels.
        sizes: the sizes forecast, shape ``(m,)``.
        quantiles: Dice quantiles at ``QUANTILES``, shape ``(m, 7)``.
    """

    curve: Curve
    method: str
    model: CurveForecaster
    sizes: np.ndarray
    quantiles: np.ndarray

    def records(self) -> list[dict]:
        """One dict per size, ``{"n": 490, "q05": ..., ..., "q95": ...}``, as the forecast JSON holds them."""
        return [
            {"n": int(n), **{quantile_name(q): round(float(v), 4) for q, v in zip(QUANTILES, row)}}
            for n, row in zip(self.sizes, self.quantiles)
        ]


def forecast_curve(
    curve: Curve,
    forecaster: CurveForecaster,
    *,
    at: Sequence[float] | None = None,
    pool_size: float | None = None,
    others: Sequence[Curve] = (),
) -> CurveForecast:
    """Fit a clone of ``forecaster`` on ``curve`` and forecast at ``at`` or the default grid (:func:`default_sizes`);
    with ``others``, the other depths of the curve's sweep, the gains beyond its last Dice are the mean of theirs and
    its own (:class:`~samplecast.forecast.together.SweepMean`).

    The forecaster given is left unfitted, so one object serves every curve.
    """
    model = fit_in_sweep(forecaster, curve, others)
    sizes = np.asarray(at, dtype=float) if at is not None else default_sizes(curve, pool_size)
    return CurveForecast(curve, model.name, model, sizes, model.predict_quantiles(sizes, QUANTILES))
