"""Quantile arrays: reading them at other levels, widening them by split-conformal calibration (the surrogate's
:class:`IntervalCalibration`), and the shape-keeping correction of the ensemble (:class:`SpreadCalibration`).

A forecaster's quantiles can be too narrow (or too wide) on real curves. :class:`IntervalCalibration` stretches each
quantile's distance from the median by a factor learned on held-out forecasts (split conformal prediction, as in
conformalized quantile regression), separately for short and long extrapolations, so the central 80% interval holds
the truth about 80% of the time at each distance. The factors are learned on forecasts beyond the observed sizes;
they fade to 1 at the largest observed size (and below it), where a forecaster's own intervals come from the very
points it was fitted to.

Example:
    >>> import numpy as np
    >>> levels = (0.1, 0.5, 0.9)
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=400)
    >>> narrow = np.tile([-0.5, 0.0, 0.5], (400, 1))           # claims 80% but covers ~38%
    >>> cal = IntervalCalibration.fit(levels, narrow, truth, np.ones(400), coverages=(0.8,))
    >>> 2.3 < cal.factors[0][0] < 2.9                             # widened to about +-1.28
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from samplecast.forecast.base import tidy_quantiles

#: Bin edges in ``log(n_query / n_last)``: up to 2.5x the last size, 2.5x-7x, beyond (about the 50%, 20-30%
#: and 10% cutoffs of a sweep).
DEFAULT_EDGES: tuple[float, ...] = (float(np.log(2.5)), float(np.log(7.0)))
#: Central coverages whose widening factors are learned; other levels interpolate between them.
DEFAULT_COVERAGES: tuple[float, ...] = (0.5, 0.8, 0.9)


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


def across_bins(log_ratio: np.ndarray, edges: Sequence[float], table: np.ndarray) -> np.ndarray:
    """Per-bin rows of ``table`` (``(len(edges) + 1, C)``) read at distances ``log_ratio``, shape ``(m, C)``.

    Values are interpolated linearly between bin centres (constant beyond the outer ones), so a forecast does not
    jump where one bin of extrapolation distance meets the next. Without edges there is one bin, used everywhere.
    """
    table = np.asarray(table, dtype=float)
    log_ratio = np.atleast_1d(np.asarray(log_ratio, dtype=float))
    if len(edges) == 0:
        return np.repeat(table[:1], log_ratio.size, axis=0)
    e = np.asarray(edges, dtype=float)
    step = e[-1] - e[-2] if len(e) > 1 else e[0]
    centres = np.concatenate([[e[0] / 2], (e[:-1] + e[1:]) / 2, [e[-1] + step / 2]])
    return np.stack([np.interp(log_ratio, centres, table[:, c]) for c in range(table.shape[1])], axis=1)


@dataclass(frozen=True)
class IntervalCalibration:
    """Widening factors for quantile intervals, per extrapolation distance and central coverage.

    Quantile ``q_p`` becomes ``median + f * (q_p - median)``, with ``f`` interpolated in the coverage ``|1 - 2p|``
    between :attr:`coverages` (constant beyond them) and across the bins of ``log(n_query / n_last)``
    (:func:`across_bins`).

    Args:
        coverages: central coverages, increasing, e.g. ``(0.5, 0.8, 0.9)``.
        edges: inner bin edges of ``log(n_query / n_last)``, increasing.
        factors: ``factors[b][c]``: the factor for bin ``b`` and coverage ``c``.
        counts: calibration forecasts per bin (bins with too few use the pooled factors).
    """

    coverages: tuple[float, ...]
    edges: tuple[float, ...]
    factors: tuple[tuple[float, ...], ...]
    counts: tuple[int, ...]

    @classmethod
    def fit(cls, levels: Sequence[float], values: np.ndarray, truth: np.ndarray, log_ratio: np.ndarray, *,
            coverages: Sequence[float] = DEFAULT_COVERAGES, edges: Sequence[float] = DEFAULT_EDGES,
            min_count: int = 8, sample_weight: np.ndarray | None = None) -> IntervalCalibration:
        """Learn factors from held-out forecasts: ``values`` (``(m, len(levels))``) against the observed ``truth``.

        Each factor is the split-conformal quantile of the scores ``max((m - y) / (m - lo), (y - m) / (hi - m))``,
        the smallest stretch that would have covered ``y``; bins with fewer than ``min_count`` forecasts take the
        factor pooled over all bins. ``sample_weight`` weighs forecasts (e.g. so each source of curves counts
        equally); the quantile is then the weighted one.
        """
        values, truth = np.asarray(values, dtype=float), np.asarray(truth, dtype=float)
        log_ratio = np.asarray(log_ratio, dtype=float)
        if not (values.shape[0] == truth.size == log_ratio.size) or truth.size == 0:
            raise ValueError("calibration needs one row of quantiles, one truth and one log ratio per forecast")
        weight = np.ones(truth.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        bins = np.digitize(log_ratio, edges)
        pooled = [_conformal_factor(levels, values, truth, c, weight) for c in coverages]
        factors, counts = [], []
        for b in range(len(edges) + 1):
            sel = bins == b
            counts.append(int(sel.sum()))
            if sel.sum() >= min_count:
                factors.append(tuple(_conformal_factor(levels, values[sel], truth[sel], c, weight[sel])
                                     for c in coverages))
            else:
                factors.append(tuple(pooled))
        return cls(tuple(float(c) for c in coverages), tuple(float(e) for e in edges), tuple(factors), tuple(counts))

    def apply(self, levels: Sequence[float], values: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
        """Widen quantiles ``values`` (``(m, len(levels))``, levels including 0.5) at distances ``log_ratio``."""
        levels = np.asarray(levels, dtype=float)
        centre = int(np.flatnonzero(np.isclose(levels, 0.5))[0]) if np.any(np.isclose(levels, 0.5)) else None
        if centre is None:
            raise ValueError("calibration needs the 0.5 level among the quantiles")
        values = np.asarray(values, dtype=float)
        log_ratio = np.atleast_1d(np.asarray(log_ratio, dtype=float))
        factors = across_bins(log_ratio, self.edges, np.asarray(self.factors))  # (m, C)
        fade = np.clip(log_ratio / self.full_from, 0.0, 1.0)[:, None]  # 0 at the last observed size
        factors = 1.0 + fade * (factors - 1.0)
        coverage = np.abs(1.0 - 2.0 * levels)
        per_level = np.stack([np.array([np.interp(c, self.coverages, row) for c in coverage]) for row in factors])
        median = values[:, [centre]]
        return tidy_quantiles(median + per_level * (values - median))

    @property
    def full_from(self) -> float:
        """The ``log(n_query / n_last)`` from which the factors apply in full: the centre of the nearest bin (half
        its upper edge), or ``log 2`` without bins; nearer queries get factors faded linearly towards 1."""
        return self.edges[0] / 2 if self.edges else float(np.log(2.0))

    def to_dict(self) -> dict:
        """Plain-JSON form, as stored beside the surrogate's weights."""
        return {"coverages": list(self.coverages), "edges": list(self.edges),
                "factors": [list(f) for f in self.factors], "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict) -> IntervalCalibration:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["coverages"]), tuple(data["edges"]), tuple(tuple(f) for f in data["factors"]),
                   tuple(data["counts"]))


def _conformal_factor(levels: Sequence[float], values: np.ndarray, truth: np.ndarray, coverage: float,
                      weight: np.ndarray) -> float:
    """The split-conformal stretch of the central ``coverage`` interval around the median: the weighted
    ``coverage`` quantile of the scores.

    Without split conformal's finite-sample correction (the ``coverage * (m + 1) / m`` quantile), which guarantees
    *at least* the coverage: with the few dozen held-out forecasts real curves give, it added 5-10 points of coverage
    on held-out datasets, and planners are better served by intervals that hold the truth about as often as they say.
    """
    bounds = interpolate_levels(levels, values, [(1 - coverage) / 2, 0.5, (1 + coverage) / 2])
    lo, mid, hi = bounds[:, 0], bounds[:, 1], bounds[:, 2]
    score = np.maximum((mid - truth) / np.maximum(mid - lo, 1e-6), (truth - mid) / np.maximum(hi - mid, 1e-6))
    order = np.argsort(score)
    cumulative = np.cumsum(weight[order]) / weight.sum()
    rank = min(int(np.searchsorted(cumulative, coverage - 1e-12)), truth.size - 1)
    return float(max(score[order][rank], 0.0))


@dataclass(frozen=True)
class SpreadCalibration:
    """A widening of quantile intervals that keeps a forecast's shapes: it never lets an upper quantile fall as the
    size grows, and it changes continuously with the extrapolation distance.

    Quantile ``q_p`` at ``d = log(n_query / n_last)`` becomes ``q_p + z_p·(floor + widen·max(d, 0))``, ``z_p`` the
    standard normal score of level ``p``: a spread every forecast lacks (``floor``, such as the difference between two
    runs of one configuration) and one that grows with the log distance beyond the data (``widen``). Both are added,
    never subtracted, so the members' own intervals, which already hold one run's noise at the observed sizes, are
    never narrowed: a correction that could shrink them (learned where forecasts reach 2x or more) narrowed the
    intervals near the observed sizes below the difference between seeds. The median is unchanged.

    Args:
        widen: added spread per unit of ``log(n_query / n_last)``, in Dice per standard normal score, ``>= 0``.
        floor: added spread at every size, in Dice per standard normal score, ``>= 0``.
        counts: the held-out forecasts it was learned from.
    """

    widen: float = 0.0
    floor: float = 0.0
    counts: int = 0

    #: Values tried by :meth:`fit`.
    WIDENS = tuple(np.linspace(0.0, 0.04, 41))
    FLOORS = tuple(np.linspace(0.0, 0.03, 31))

    @classmethod
    def fit(cls, levels: Sequence[float], values: np.ndarray, truth: np.ndarray, log_ratio: np.ndarray, *,
            sample_weight: np.ndarray | None = None) -> SpreadCalibration:
        """Learn ``widen`` and ``floor`` from held-out forecasts (``values``: ``(m, len(levels))`` quantiles at
        ``levels``, which include 0.5) against the observed ``truth``: the pair on a grid with the least weighted mean
        pinball loss over all levels, a proper score, so neither over- nor under-wide intervals are favoured."""
        levels = np.asarray(levels, dtype=float)
        values, truth = np.asarray(values, dtype=float), np.asarray(truth, dtype=float)
        distance = np.clip(np.asarray(log_ratio, dtype=float), 0.0, None)
        if not (values.shape[0] == truth.size == distance.size) or truth.size == 0:
            raise ValueError("calibration needs one row of quantiles, one truth and one log ratio per forecast")
        weight = np.ones(truth.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        z = normal_scores(levels)
        widen = np.array(cls.WIDENS)[:, None, None, None]
        floor = np.array(cls.FLOORS)[None, :, None, None]
        candidate = values + z * (floor + widen * distance[:, None])  # (W, F, m, K)
        diff = truth[:, None] - candidate
        loss = np.einsum("wfm,m->wf", np.maximum(levels * diff, (levels - 1) * diff).mean(-1), weight)
        w, f = np.unravel_index(int(np.argmin(loss)), loss.shape)
        return cls(float(cls.WIDENS[w]), float(cls.FLOORS[f]), int(truth.size))

    def apply(self, levels: Sequence[float], values: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
        """Widen quantiles ``values`` (``(m, len(levels))``) at distances ``log_ratio``."""
        values = np.asarray(values, dtype=float)
        distance = np.clip(np.atleast_1d(np.asarray(log_ratio, dtype=float)), 0.0, None)[:, None]
        return tidy_quantiles(values + normal_scores(levels)[None, :] * (self.floor + self.widen * distance))

    def to_dict(self) -> dict:
        """Plain-JSON form, as stored in ``assets/ensemble.json``."""
        return {"widen": self.widen, "floor": self.floor, "counts": self.counts}

    @classmethod
    def from_dict(cls, data: dict) -> SpreadCalibration:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` for values outside their ranges."""
        widen, floor = float(data["widen"]), float(data["floor"])
        if not (widen >= 0.0 and floor >= 0.0):
            raise ValueError(f"widen and floor must be >= 0; got {widen:g} and {floor:g}")
        return cls(widen, floor, int(data.get("counts", 0)))
