"""Model averaging: a weighted mixture of several forecasters, weighted by how well each predicted the curve's tail.

The mixture of predictive distributions (not the average of their medians) keeps the disagreement between families
in the intervals: when families that fit the observed points equally well part ways beyond them, the forecast says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.parametric import FAMILIES, NOISE_FLOOR, ParametricForecaster, point_sigmas

#: Families averaged by default: the bounded, saturating ones (log2 and pow2 grow without limit or assume Dice -> 1).
AVERAGE_MEMBERS: tuple[str, ...] = ("pow3", "pow4", "mmf4", "wbl4", "exp3")
#: Levels at which a member's quantile function is sampled to form the mixture.
_MIXTURE_LEVELS = (np.arange(64) + 0.5) / 64


def mixture_quantiles(members: Sequence[CurveForecaster], weights: Sequence[float], n: Sequence[float],
                      quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
    """Quantiles of the weighted mixture of fitted forecasters' predictive distributions at sizes ``n``.

    Each member's distribution is represented by its quantile function on a fine grid of levels; the pooled values,
    weighted, give the mixture's quantiles. Shape ``(len(n), len(quantiles))``.
    """
    weights = np.asarray(weights, dtype=float)
    if len(members) != len(weights) or len(members) == 0 or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("mixture needs one non-negative weight per member, not all zero")
    n = as_sizes(n)
    values = np.concatenate([m.predict_quantiles(n, _MIXTURE_LEVELS).T for m in members], axis=0)  # (M*K, len(n))
    w = np.repeat(weights / weights.sum() / len(_MIXTURE_LEVELS), len(_MIXTURE_LEVELS))
    order = np.argsort(values, axis=0)
    sorted_values = np.take_along_axis(values, order, axis=0)
    cum = np.cumsum(w[order], axis=0) - 0.5 * w[order]  # mid-point plotting positions
    out = np.empty((len(n), len(quantiles)))
    for j in range(len(n)):
        out[j] = np.interp(quantiles, cum[:, j], sorted_values[:, j])
    return tidy_quantiles(out)


class ModelAverage(CurveForecaster):
    """The ``average`` method: parametric families mixed with weights from a leave-last-out check.

    With four or more points, each family is refitted without the last point and scored on how well its median
    predicts it; weights fall off as ``exp(-(error/s)^2 / 2)`` with ``s`` the typical error (or the noise, if larger).
    A family takes part only if it could be scored that way (no more parameters than the remaining points); with too
    few points to score any, the families with no more parameters than points share equal weights.

    Args:
        members: family names to average.
        noise_floor: smallest noise standard deviation assumed for a Dice measurement.
        random_state: seed of the members' bootstraps.

    Attributes after ``fit``: ``members_`` (fitted forecasters), ``weights_`` (dict name -> weight, summing to 1),
    ``holdout_errors_`` (dict name -> signed error on the held-out last point, when computed).
    """

    name = "average"

    def __init__(self, members: Sequence[str] = AVERAGE_MEMBERS, noise_floor: float = NOISE_FLOOR,
                 random_state: int = 0):
        unknown = [m for m in members if m not in FAMILIES]
        if unknown or not members:
            raise ValueError(f"average members must be among {', '.join(FAMILIES)}; got {', '.join(members) or 'none'}")
        self.members = tuple(members)
        self.noise_floor = noise_floor
        self.random_state = random_state

    def fit(self, n, dice, sd=None) -> ModelAverage:
        n, dice = check_points(n, dice, name=self.name)
        eligible = [m for m in self.members if FAMILIES[m].n_params <= len(n)]
        if not eligible:
            raise InputError(f"{self.name}: {len(n)} points are too few for any of {', '.join(self.members)}")
        scores = self._holdout_errors(eligible, n, dice, sd)
        self.holdout_errors_ = scores
        if scores:
            sigma_last = point_sigmas(sd, len(n), self.noise_floor)[-1]
            scale = max(float(np.median(np.abs(list(scores.values())))), sigma_last)
            raw = {m: float(np.exp(-0.5 * (scores[m] / scale) ** 2)) if m in scores else 0.0 for m in eligible}
        else:
            raw = dict.fromkeys(eligible, 1.0)
        total = sum(raw.values())
        self.weights_ = {m: w / total for m, w in raw.items() if w > 0}
        self.members_ = [self._family(m).fit(n, dice, sd) for m in self.weights_]
        self.is_fitted_ = True
        return self

    def _family(self, member: str, n_boot: int = 64) -> ParametricForecaster:
        return ParametricForecaster(member, n_boot=n_boot, noise_floor=self.noise_floor, random_state=self.random_state)

    def _holdout_errors(self, eligible: list[str], n, dice, sd) -> dict[str, float]:
        """Signed error of each family's median at the last point when fitted without it (empty if too few points)."""
        if len(n) < 4:
            return {}
        head_sd = None if sd is None else np.asarray(sd, dtype=float)[:-1]
        errors = {}
        for m in eligible:
            if FAMILIES[m].n_params > len(n) - 1:
                continue
            fitted = self._family(m, n_boot=0).fit(n[:-1], dice[:-1], head_sd)
            errors[m] = float(fitted.predict_mean([n[-1]])[0] - dice[-1])
        return errors

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        return mixture_quantiles(self.members_, list(self.weights_.values()), n, quantiles)
