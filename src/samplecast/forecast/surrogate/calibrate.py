"""The widening of the surrogate's intervals, learned on complete real curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.surrogate.features import MIN_POINTS, thin_curve
from samplecast.forecast.surrogate.model import Surrogate


def calibrate_surrogate(surrogate: Surrogate, curves: Sequence[Curve], *,
                        groups: Sequence[str] | None = None) -> SpreadCalibration:
    """The widening of the surrogate's intervals that best scores its forecasts of ``curves`` (complete curves it was
    not trained on).

    Every prefix of every curve (from :data:`MIN_POINTS` points) forecasts each of the curve's later sizes with the
    raw network; the spread added (a floor plus a part growing with the log distance, never subtracted, so the shapes
    of the forecast are kept) is the one with the least pinball loss on those forecasts.
    ``groups`` (one name per curve, e.g. its image set) weigh the forecasts so that every group weighs the same in
    total, however many curves and sizes it has. Curves
    with very many sizes are thinned first (:func:`thin_curve`): the prefixes grow with the square of the sizes.
    """
    rows, truth, ratio, weight, group = [], [], [], [], []
    for curve, g in zip(map(thin_curve, curves), groups if groups is not None else [""] * len(curves)):
        for k in range(MIN_POINTS, len(curve.n)):
            rows.append(surrogate.raw_quantiles(curve.n[:k], curve.dice[:k], curve.n[k:]))
            truth.append(curve.dice[k:])
            ratio.append(np.log(curve.n[k:] / curve.n[k - 1]))
            weight.append(np.ones(len(curve.n) - k))
            group.extend([g] * (len(curve.n) - k))
    if not rows:
        raise InputError(f"calibration needs curves with more than {MIN_POINTS} sizes")
    weight, group = np.concatenate(weight), np.array(group)
    for g in set(group):  # each group's weights sum to 1
        weight[group == g] /= weight[group == g].sum()
    return SpreadCalibration.fit(surrogate.levels, np.concatenate(rows), np.concatenate(truth),
                                 np.concatenate(ratio), sample_weight=weight)
