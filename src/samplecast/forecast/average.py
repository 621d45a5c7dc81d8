"""Model averaging: several forecasters' quantiles averaged level by level, weighted by how well each predicted the
curve's last point.

Averaging quantile functions (Vincentization), rather than mixing the predictive distributions, keeps the shapes
every member has by construction: a weighted average of non-decreasing medians, concave in ``log n`` beyond the data,
is again both, and so are averaged upper quantiles that never fall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, clone, tidy_quantiles
from samplecast.forecast.parametric import NOISE_FLOOR, ParametricForecaster, point_sigmas

#: Families averaged by default: the bounded, saturating ones (log2 and pow2 grow without limit or assume Dice -> 1).
AVERAGE_FAMILIES: tuple[str, ...] = ("pow3", "pow4", "mmf4", "wbl4", "exp3")


def average_quantiles(members: Sequence[CurveForecaster], weights: Sequence[float], n: Sequence[float],
                      quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
    """The weighted average, level by level, of fitted forecasters' quantiles at sizes ``n``:
    ``(len(n), len(quantiles))``."""
    weights = np.asarray(weights, dtype=float)
    if len(members) != len(weights) or len(members) == 0 or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("an average needs one non-negative weight per member, not all zero")
    sizes = as_sizes(n)
    stacked = np.stack([m.predict_quantiles(sizes, quantiles) for m in members])  # (M, len(n), K)
    return tidy_quantiles(np.einsum("m,mik->ik", weights / weights.sum(), stacked))


class ModelAverage(CurveForecaster):
    """The ``average`` method: forecasters averaged with weights from a leave-last-out check.

    With four or more points, each member is refitted without the last point and scored on how well its median
    predicts it; weights fall off as ``exp(-(error/s)^2 / 2)`` with ``s`` the typical error (or the noise, if larger).
    A member takes part only if it could be scored that way (no more parameters than the remaining points); with too
    few points to score any, the members with no more parameters than points share equal weights. The weights are one
    set per curve, the same at every size, so the average keeps its members' shapes.

    Args:
        members: unfitted forecasters to average (cloned before fitting); ``None`` for the saturating families
            :data:`AVERAGE_FAMILIES`.
        noise_floor: smallest noise standard deviation assumed when scaling the held-out errors.

    Attributes after ``fit``: ``members_`` (fitted forecasters), ``weights_`` (dict name -> weight, summing to 1),
    ``holdout_errors_`` (dict name -> signed error on the held-out last point, when computed).

    Example:
        >>> from samplecast.forecast.parametric import ParametricForecaster
        >>> avg = ModelAverage([ParametricForecaster("pow3"), ParametricForecaster("exp3")])
        >>> avg.fit([16, 80, 160, 400, 800], [0.45, 0.61, 0.68, 0.72, 0.74]).predict_quantiles([1600]).shape
        (1, 7)
    """

    name = "average"

    def __init__(self, members: Sequence[CurveForecaster] | None = None, noise_floor: float = NOISE_FLOOR):
        self.members = members
        self.noise_floor = noise_floor

    def fit(self, n, dice, sd=None) -> ModelAverage:
        n, dice = check_points(n, dice, name=self.name)
        members = list(self.members) if self.members is not None else [ParametricForecaster(f)
                                                                         for f in AVERAGE_FAMILIES]
        if not members:
            raise ValueError("average: members must name at least one forecaster")
        eligible = [m for m in members if getattr(m, "n_params", 0) <= len(n)]
        if not eligible:
            raise InputError(f"{self.name}: {len(n)} points are too few for any of "
                             f"{', '.join(m.name for m in members)}")
        scores = self._holdout_errors(eligible, n, dice, sd)
        self.holdout_errors_ = scores
        if scores:
            sigma_last = point_sigmas(sd, len(n), self.noise_floor)[-1]
            scale = max(float(np.median(np.abs(list(scores.values())))), sigma_last)
            raw = [float(np.exp(-0.5 * (scores[m.name] / scale) ** 2)) if m.name in scores else 0.0
                   for m in eligible]
        else:
            raw = [1.0] * len(eligible)
        total = sum(raw)
        kept = [(m, w / total) for m, w in zip(eligible, raw) if w > 0]
        self.members_ = [clone(m).fit(n, dice, sd) for m, _ in kept]
        self.weights_ = {m.name: w for m, w in kept}
        self.is_fitted_ = True
        return self

    def _holdout_errors(self, eligible: list[CurveForecaster], n, dice, sd) -> dict[str, float]:
        """Signed error of each member's median at the last point when fitted without it (empty if too few points)."""
        if len(n) < 4:
            return {}
        head_sd = None if sd is None else np.asarray(sd, dtype=float)[:-1]
        errors = {}
        for m in eligible:
            if getattr(m, "n_params", 0) > len(n) - 1:
                continue
            held = clone(m)
            if "n_boot" in held.get_params():  # the check reads only the median: a bootstrap would be wasted
                held.set_params(n_boot=0)
            fitted = held.fit(n[:-1], dice[:-1], head_sd)
            errors[m.name] = float(fitted.predict([n[-1]])[0] - dice[-1])
        return errors

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        return average_quantiles(self.members_, list(self.weights_.values()), n, quantiles)
