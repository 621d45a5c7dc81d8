"""The shift of the surrogate's median and the correction of its intervals, learned on complete real curves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.calibration import SpreadCalibration, interpolate_levels
from samplecast.forecast.shift import MedianShift, recent_gain
from samplecast.forecast.surrogate.features import MIN_POINTS, thin_curve
from samplecast.forecast.surrogate.model import Surrogate
from samplecast.forecast.together import mean_gain, sweep_groups

#: Fewest observed sizes of a prefix the median shift learns from: a backtest forecasts from three on.
SHIFT_MIN_POINTS = 3


@dataclass(frozen=True)
class PrefixForecasts:
    """Every prefix of some complete curves forecasting each later size of its curve: one row per (prefix, later
    size), the quantiles ``values`` at the surrogate's levels (paced and offset by its shift, if any, not widened)."""

    values: np.ndarray
    truth: np.ndarray
    log_ratio: np.ndarray
    group: np.ndarray
    points: np.ndarray
    headroom: np.ndarray
    gain: np.ndarray


def balanced_weights(group: np.ndarray) -> np.ndarray:
    """One weight per row, so that the rows of every group weigh 1 in total, however many each group has."""
    weight = np.ones(len(group))
    for g in set(group.tolist()):
        weight[group == g] /= weight[group == g].sum()
    return weight


def prefix_forecasts(surrogate: Surrogate, curves: Sequence[Curve], groups: Sequence[str] | None = None, *,
                     depths_together: bool = False) -> PrefixForecasts:
    """The forecasts of every prefix of ``curves`` (from :data:`MIN_POINTS` points) at the curve's later sizes.

    ``groups`` (one name per curve, e.g. its image set) name each row's group, for :func:`balanced_weights`. Curves
    with very many sizes are thinned first (:func:`thin_curve`): the prefixes grow with the square of the sizes. With
    ``depths_together`` each prefix is forecast with the same prefix of the other depths of its sweep measured at the
    same sizes (:class:`~samplecast.forecast.together.SweepMean`), as the planner forecasts when told to.
    """
    thinned = [thin_curve(c) for c in curves]
    values = [[surrogate.shifted_quantiles(c.n[:k], c.dice[:k], c.n[k:]) for k in range(MIN_POINTS, len(c.n))]
              for c in thinned]
    if depths_together:
        values = [_sweep_mean(values, thinned, [j for j in group if np.array_equal(thinned[j].n, thinned[i].n)])
                  for i, group in enumerate(sweep_groups(thinned))]
    rows, truth, ratio, points, headroom, gain, group = [], [], [], [], [], [], []
    for curve, forecasts, g in zip(thinned, values, groups if groups is not None else [""] * len(curves)):
        for k, forecast in enumerate(forecasts, start=MIN_POINTS):
            n, dice, later = curve.n[:k], curve.dice[:k], curve.n[k:]
            rows.append(forecast)
            truth.append(curve.dice[k:])
            ratio.append(np.log(later / n[-1]))
            size = len(later)
            points.append(np.full(size, k))
            headroom.append(np.full(size, 1.0 - dice[-1]))
            gain.append(np.full(size, recent_gain(n, dice)))
            group.extend([g] * size)
    if not rows:
        raise InputError(f"calibration needs curves with more than {MIN_POINTS} sizes")
    return PrefixForecasts(np.concatenate(rows), np.concatenate(truth), np.concatenate(ratio), np.array(group),
                           np.concatenate(points), np.concatenate(headroom), np.concatenate(gain))


def _sweep_mean(values: list[list[np.ndarray]], curves: Sequence[Curve], group: list[int]) -> list[np.ndarray]:
    """The forecasts of every prefix of ``curves[group[0]]`` with the mean gain over the curves of ``group``
    (measured at the same sizes), each gain from its own last measured Dice, as
    :class:`~samplecast.forecast.together.SweepMean` forecasts."""
    return [mean_gain([values[j][t] for j in group], [curves[j].dice[k - 1] for j in group])
            for t, k in enumerate(range(MIN_POINTS, len(curves[group[0]].n)))]


def learn_shift(surrogate: Surrogate, curves: Sequence[Curve], *, groups: Sequence[str] | None = None) -> MedianShift:
    """The shift of the surrogate's median (:class:`MedianShift`) that best forecasts ``curves`` (complete curves it
    was not trained on): the forecasts of prefixes of at least :data:`SHIFT_MIN_POINTS` sizes, paced, with the least
    absolute error of the median, each group of ``groups`` weighing the same."""
    paced = prefix_forecasts(surrogate.with_shift(MedianShift()), curves, groups)
    keep = paced.points >= SHIFT_MIN_POINTS
    if not keep.any():
        raise InputError(f"learning a median shift needs curves with more than {SHIFT_MIN_POINTS} sizes")
    median = interpolate_levels(surrogate.levels, paced.values[keep], [0.5])[:, 0]
    return MedianShift.fit(median, paced.truth[keep], paced.log_ratio[keep], paced.headroom[keep],
                           paced.gain[keep], sample_weight=balanced_weights(paced.group[keep]))


def calibrate_surrogate(surrogate: Surrogate, curves: Sequence[Curve], *, groups: Sequence[str] | None = None,
                        depths_together: bool = False) -> SpreadCalibration:
    """The correction of the surrogate's intervals that best scores its forecasts of ``curves`` (complete curves it
    was not trained on), shifted by its median shift if it has one.

    Every prefix of every curve (from :data:`MIN_POINTS` points) forecasts each of the curve's later sizes
    (:func:`prefix_forecasts`); the correction (a scale of at most 1 on the network's own spread, a floor and a part
    growing with the log distance, :class:`~samplecast.forecast.calibration.SpreadCalibration`, all keeping the
    forecast's shapes) is the one with the least pinball loss on those forecasts, each group of ``groups`` weighing
    the same. With ``depths_together`` the forecasts are those of each sweep's depths together, as the planner makes
    them; the correction is affine in the quantiles, so correcting each depth before pooling gives the same.
    """
    forecasts = prefix_forecasts(surrogate, curves, groups, depths_together=depths_together)
    return SpreadCalibration.fit(surrogate.levels, forecasts.values, forecasts.truth, forecasts.log_ratio,
                                 sample_weight=balanced_weights(forecasts.group))
