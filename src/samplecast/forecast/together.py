"""The depths of one sweep forecast together: each depth's gain beyond its last measured Dice is the mean gain its
forecaster expects for every depth of the sweep.

Depths of one sweep train on the same nested subsets of the same images, so how much more data still helps is
largely a property of the images and the labels, shared by the depths; each curve's own extrapolation error is not
shared, and averaging the gains cancels part of it. Every curve keeps its own level (its last measured Dice).
Quantiles are averaged level by level, so the shapes each member's forecast keeps (ordered levels, a non-decreasing
median concave in ``log n``, upper quantiles that never fall) hold for their mean.

Held out by image set (``benchmarks/forecast_accuracy.md`` and ``decision_quality.md``, their sections on the depths
of a sweep together or apart) the median of a forecast made so erred less from 10% and 20% of a curve and the
pinball loss was lower at every cutoff, but the intervals learned on such forecasts were wider than needed and the
round planner did not decide better; so the planner forecasts each depth alone unless asked (``depths_together``).

Example:
    >>> from samplecast.curves import Curve
    >>> from samplecast.forecast.parametric import LogLinearPowerLaw
    >>> n = np.array([20.0, 40, 80, 160])
    >>> deep = Curve({"depth": 4}, n, np.array([0.50, 0.60, 0.66, 0.70]))
    >>> shallow = Curve({"depth": 3}, n, np.array([0.40, 0.45, 0.50, 0.55]))
    >>> pooled = SweepMean(LogLinearPowerLaw(), others=[shallow]).fit_curve(deep)
    >>> bool(pooled.predict([320])[0] > 0.70)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samplecast.curves import Curve
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, clone, tidy_quantiles

#: The key column whose values tell the curves of one sweep apart.
SWEEP_APART = "depth"


def sweep_of(curve: Curve) -> tuple:
    """What the curves of one sweep share: their key without the depth, and their largest size (gains are added from
    the last measured size, so only curves cut at the same size are pooled)."""
    return (tuple(sorted((k, repr(v)) for k, v in curve.key.items() if k != SWEEP_APART)), float(curve.n_max))


def sweep_groups(curves: Sequence[Curve | None], *, together: bool = True) -> list[list[int]]:
    """For each of ``curves``, the indices of the curves of its sweep (:func:`sweep_of`), its own first: only its own
    for a curve alone in its sweep or without a depth in its key, or for every curve unless ``together``; none for a
    ``None`` (a curve a backtest skips)."""
    sweeps: dict[tuple, list[int]] = {}
    for i, curve in enumerate(curves):
        if together and curve is not None and SWEEP_APART in curve.key:
            sweeps.setdefault(sweep_of(curve), []).append(i)
    groups: list[list[int]] = [[] if curve is None else [i] for i, curve in enumerate(curves)]
    for members in sweeps.values():
        for i in members:
            groups[i] = [i, *(j for j in members if j != i)]
    return groups


def sweep_partners(curves: Sequence[Curve]) -> list[list[Curve]]:
    """For each of ``curves``, the other curves of its sweep (:func:`sweep_groups`), for :class:`SweepMean`'s
    ``others``."""
    return [[curves[j] for j in group[1:]] for group in sweep_groups(curves)]


def mean_gain(quantiles: Sequence[np.ndarray], last: Sequence[float]) -> np.ndarray:
    """The forecast of the first of a sweep's curves: its ``last`` measured Dice plus the mean, level by level, of
    every curve's forecast ``quantiles`` minus that curve's own last Dice (the arithmetic of :class:`SweepMean`)."""
    return tidy_quantiles(last[0] + np.mean([q - d for q, d in zip(quantiles, last)], axis=0))


def fit_in_sweep(forecaster: CurveForecaster, curve: Curve, others: Sequence[Curve] = ()) -> CurveForecaster:
    """A clone of ``forecaster`` fitted on ``curve``, pooled with the ``others`` of its sweep (:class:`SweepMean`)
    when there are any."""
    return SweepMean(forecaster, others).fit_curve(curve) if others else clone(forecaster).fit_curve(curve)


def pool_fitted(forecaster: CurveForecaster, models: Sequence[CurveForecaster],
                last: Sequence[float]) -> CurveForecaster:
    """``models`` of one sweep, fitted by clones of ``forecaster`` (the curve forecast first), as one forecaster:
    the first alone, or all pooled (:meth:`SweepMean.of_fitted`) when there are more."""
    return models[0] if len(models) == 1 else SweepMean.of_fitted(forecaster, models, last)


class SweepMean(CurveForecaster):
    """A forecaster of one curve whose gain beyond its last measured Dice is the mean of the gains ``forecaster``
    forecasts for it and for ``others``, the other curves of its sweep (:func:`sweep_partners`), each from its own
    last measured Dice; with no ``others`` it forecasts as ``forecaster`` alone.

    Args:
        forecaster: the unfitted forecaster every curve of the sweep is fitted with (cloned for each).
        others: the other curves of the sweep, measured up to the same largest size as the curve fitted; any other
            is left out, since its gains would start from another size.

    Attributes after ``fit``: ``models_`` (the fitted clones, the curve's own first), ``last_`` (the Dice each was
    last measured at, in the same order).
    """

    def __init__(self, forecaster: CurveForecaster, others: Sequence[Curve] = ()):
        self.forecaster = forecaster
        self.others = others

    @property
    def name(self) -> str:  # type: ignore[override]
        """The name of the forecaster pooled: a plan forecast by depths together is still that method's."""
        return self.forecaster.name

    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> SweepMean:
        own = clone(self.forecaster).fit(n, dice, sd)
        n_last = float(np.asarray(n, dtype=float)[-1])
        kept = [c for c in self.others if np.isclose(c.n_max, n_last)]
        return self._pool([own, *(clone(self.forecaster).fit_curve(c) for c in kept)],
                          [float(np.asarray(dice, dtype=float)[-1]), *(float(c.dice[-1]) for c in kept)])

    @classmethod
    def of_fitted(cls, forecaster: CurveForecaster, models: Sequence[CurveForecaster],
                  last: Sequence[float]) -> SweepMean:
        """A fitted pool of ``models``, already fitted by clones of ``forecaster`` on the curves of one sweep cut at
        the same size (the curve forecast first), last measured at Dice ``last``: what :meth:`fit` makes, without
        fitting a curve twice when every curve of a sweep is forecast."""
        return cls(forecaster)._pool(list(models), [float(v) for v in last])

    def _pool(self, models: list[CurveForecaster], last: list[float]) -> SweepMean:
        self.models_, self.last_ = models, np.array(last)
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        sizes = as_sizes(n)
        return mean_gain([m.predict_quantiles(sizes, quantiles) for m in self.models_], self.last_)
