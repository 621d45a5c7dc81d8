"""Quantile arrays: reading them at other levels, and widening them where they are too narrow on real curves
(:class:`SpreadCalibration`, used by the ensemble and the surrogate) without breaking a forecast's shapes.

Example:
    >>> import numpy as np
    >>> levels = (0.1, 0.5, 0.9)
    >>> cal = SpreadCalibration(widen=0.01, floor=0.0)
    >>> cal.apply(levels, np.array([[0.70, 0.75, 0.80]]), np.array([np.log(4.0)])).round(3)
    array([[0.682, 0.75 , 0.818]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from samplecast.forecast.base import tidy_quantiles
from samplecast.schema import FRACTION, SIZE

def normal_scores(levels: Sequence[float]) -> np.ndarray:
    """Standard normal quantiles of ``levels`` (the standard library's, as scipy.stats is slow to import)."""
    return np.array([NormalDist().inv_cdf(float(q)) for q in np.atleast_1d(levels)])


def interpolate_levels(levels: Sequence[float], values: np.ndarray, new_levels: Sequence[float]) -> np.ndarray:
    """Read quantiles ``values`` (``(m, len(levels))``, increasing ``levels``) at ``new_levels`` in (0, 1).

    Interpolates linearly on the normal-score scale, and extrapolates beyond the outer levels with the slope of the
    outermost pair, so tails stay Gaussian-like rather than flat. Result shape ``(m, len(new_levels))``.
    """
    levels = np.asarray(levels, dtype=float)
    new = np.asarray(new_levels, dtype=float)
    if np.any((new <= 0) | (new >= 1)):
        raise ValueError(f"quantile levels must lie strictly between 0 and 1, got {new.tolist()}")
    z, z_new = normal_scores(levels), normal_scores(new)
    values = np.asarray(values, dtype=float)
    out = np.empty((values.shape[0], new.size))
    for j, zj in enumerate(z_new):
        k = int(np.clip(np.searchsorted(z, zj) - 1, 0, len(z) - 2))
        t = (zj - z[k]) / (z[k + 1] - z[k])
        out[:, j] = values[:, k] + t * (values[:, k + 1] - values[:, k])
    return out


@dataclass(frozen=True)
class SpreadCalibration:
    """A correction of quantile intervals that keeps a forecast's shapes: it never lets an upper quantile fall as the
    size grows, and it changes continuously with the extrapolation distance.

    Quantile ``q_p`` at ``d = log(n_query / n_last)`` becomes ``m + scale·(q_p - m) + z_p·(floor + widen·max(d, 0))``,
    ``m`` the median and ``z_p`` the standard normal score of level ``p``: a spread every forecast lacks (``floor``,
    such as the difference between two runs of one configuration), one that grows with the log distance beyond the data
    (``widen``), and a ``scale`` of the forecast's own spread, at most 1 and never below :data:`SCALES`'s smallest. The
    scale lets intervals that are too wide everywhere (a surrogate's, on the mean of several seeds) narrow as a whole;
    an upper quantile stays a mix of two non-decreasing curves, so it never falls. The two added spreads are never
    subtracted: a correction that could shrink intervals near the data alone (learned where forecasts reach 2x or more)
    narrowed them below the difference between seeds. The median is unchanged.

    Args:
        widen: added spread per unit of ``log(n_query / n_last)``, in Dice per standard normal score, ``>= 0``.
        floor: added spread at every size, in Dice per standard normal score, ``>= 0``.
        counts: the held-out forecasts it was learned from.
        scale: factor on each quantile's distance from the median, in ``(0, 1]``; 1 (files written before it
            existed) keeps the forecast's own spread.
    """

    widen: float = field(metadata=SIZE)
    floor: float = field(metadata=SIZE)
    counts: int = field(default=0, metadata=SIZE)
    scale: float = field(default=1.0, metadata=FRACTION)

    #: Values tried by :meth:`fit`.
    WIDENS = tuple(np.linspace(0.0, 0.04, 41))
    FLOORS = tuple(np.linspace(0.0, 0.03, 31))
    SCALES = tuple(np.linspace(0.6, 1.0, 9))

    @classmethod
    def fit(cls, levels: Sequence[float], values: np.ndarray, truth: np.ndarray, log_ratio: np.ndarray, *,
            sample_weight: np.ndarray | None = None) -> SpreadCalibration:
        """Learn ``scale``, ``widen`` and ``floor`` from held-out forecasts (``values``: ``(m, len(levels))``
        quantiles at ``levels``, which include 0.5) against the observed ``truth``: the triple on a grid with the least
        weighted mean pinball loss over all levels, a proper score, so neither over- nor under-wide intervals are
        favoured."""
        levels = np.asarray(levels, dtype=float)
        values, truth = np.asarray(values, dtype=float), np.asarray(truth, dtype=float)
        distance = np.clip(np.asarray(log_ratio, dtype=float), 0.0, None)
        if not (values.shape[0] == truth.size == distance.size) or truth.size == 0:
            raise ValueError("calibration needs one row of quantiles, one truth and one log ratio per forecast")
        weight = np.ones(truth.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        z = normal_scores(levels)
        widen = np.array(cls.WIDENS)[:, None, None, None]
        floor = np.array(cls.FLOORS)[None, :, None, None]
        median = _median_column(levels, values)
        added = z * (floor + widen * distance[:, None])  # (W, F, m, K), the same for every scale
        best = (np.inf, 1.0, 0, 0)
        for scale in reversed(cls.SCALES):  # one (W, F, m, K) grid at a time; ties keep the larger scale
            candidate = median + scale * (values - median) + added
            diff = truth[:, None] - candidate
            loss = np.einsum("wfm,m->wf", np.maximum(levels * diff, (levels - 1) * diff).mean(-1), weight)
            w, f = np.unravel_index(int(np.argmin(loss)), loss.shape)
            if loss[w, f] < best[0] - 1e-12:
                best = (float(loss[w, f]), float(scale), w, f)
        _, scale, w, f = best
        return cls(float(cls.WIDENS[w]), float(cls.FLOORS[f]), int(truth.size), scale)

    def apply(self, levels: Sequence[float], values: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
        """Correct quantiles ``values`` (``(m, len(levels))``) at distances ``log_ratio``; ``levels`` include 0.5
        whenever ``scale`` is below 1, since the spread is scaled about the median.

        Raises:
            ValueError: for a scale below 1 and levels without the median.
        """
        values = np.asarray(values, dtype=float)
        distance = np.clip(np.atleast_1d(np.asarray(log_ratio, dtype=float)), 0.0, None)[:, None]
        if self.scale != 1.0:
            median = _median_column(levels, values)
            values = median + self.scale * (values - median)
        return tidy_quantiles(values + normal_scores(levels)[None, :] * (self.floor + self.widen * distance))

    def to_dict(self) -> dict:
        """Plain-JSON form, as stored in ``assets/ensemble.json``."""
        return {"widen": self.widen, "floor": self.floor, "counts": self.counts, "scale": self.scale}


def _median_column(levels: Sequence[float], values: np.ndarray) -> np.ndarray:
    """The column of quantiles ``values`` (``(m, len(levels))``) at level 0.5, shape ``(m, 1)``.

    Raises:
        ValueError: when ``levels`` lack the median, about which a spread is scaled.
    """
    at = np.flatnonzero(np.isclose(np.asarray(levels, dtype=float), 0.5))
    if at.size == 0:
        raise ValueError("a calibration that scales the spread needs the median (0.5) among the levels")
    return np.asarray(values, dtype=float)[:, at[:1]]
