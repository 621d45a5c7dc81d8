"""A correction of where a forecast sits (:class:`MedianShift`), learned on real curves, that keeps a forecast's
shapes: it paces a forecast whose first doubling would gain more than the curve measured, and lifts the rest by a
rise that grows with the extrapolation distance, the headroom and the curve's own recent gain.

Example:
    >>> import numpy as np
    >>> shift = MedianShift(rise=0.1, scale=2.0, full_gain=0.005)  # a curve gaining 0.06 per doubling lately
    >>> n, dice = np.array([25.0, 50, 100, 200]), np.array([0.50, 0.58, 0.64, 0.68])
    >>> shift.offset(n, dice, np.log([1.0, 2.0, 4.0])).round(4)
    array([0.    , 0.0126, 0.0202])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from samplecast.errors import InputError
from samplecast.schema import POSITIVE, SIZE

#: Dice gained per doubling below which more data no longer pays: a forecast's first doubling may always gain this.
PLATEAU_GAIN = 0.01
#: Doublings back from the last size over which the recent gain per doubling is measured.
RECENT_DOUBLINGS = 2.0


def recent_gain(n: Sequence[float], dice: Sequence[float]) -> float:
    """Dice gained per doubling at the end of an observed curve, ``>= 0``: the least-squares slope of Dice on
    ``log2 n`` over the points of the last :data:`RECENT_DOUBLINGS` doublings (at least the last three), so one jagged
    point does not decide it."""
    x, y = np.log2(np.asarray(n, dtype=float)), np.asarray(dice, dtype=float)
    keep = x >= x[-1] - RECENT_DOUBLINGS
    keep[-min(3, x.size):] = True
    if keep.sum() < 2:
        return 0.0
    return max(0.0, float(np.polyfit(x[keep], y[keep], 1)[0]))


@dataclass(frozen=True)
class MedianShift:
    """Moves a forecast's quantiles together, keeping its shapes: medians non-decreasing in ``n``, gains per doubling
    that never grow beyond the data, continuous quantiles, upper quantiles that never fall.

    Two parts, for an observed curve ending at ``(n_last, dice_last)`` with recent gain ``s`` per doubling
    (:func:`recent_gain`) and ``t = log2(n_query / n_last)`` doublings beyond it:

    - *pace*: when the forecast's median gains more over the first doubling than ``max(s, plateau)``, the forecast is
      read at ``r·t`` instead of ``t``, with ``r < 1`` so that it gains exactly that much: a curve that measured a
      plateau is not forecast to jump. Reading a rising, concave forecast at a fixed fraction of the distance keeps it
      rising and concave.
    - *offset*: ``rise · (1 - dice_last) · clip((s - plateau) / full_gain, 0, 1) · (1 - exp(-t / scale))`` is
      added to every quantile: zero at the last size, non-decreasing and concave in ``log n``, none for a curve whose
      recent gain is below the plateau gain, and never more than a share ``rise`` of the headroom.

    So a curve that gained less than ``plateau`` per doubling lately is forecast to gain at most ``plateau`` over its
    first doubling.

    Args:
        rise: share of the headroom ``1 - dice_last`` the offset reaches far beyond the data, ``>= 0``.
        scale: doublings over which the offset approaches that share, ``> 0``.
        full_gain: recent gain per doubling beyond ``plateau`` from which a curve gets the whole offset, ``> 0``.
        plateau: gain per doubling a forecast's first doubling may always reach, and below which a curve gets no
            offset, ``>= 0``.
        counts: the held-out forecasts it was learned from.
    """

    rise: float = field(default=0.0, metadata=SIZE)
    scale: float = field(default=1.0, metadata=POSITIVE)
    full_gain: float = field(default=0.005, metadata=POSITIVE)
    plateau: float = field(default=PLATEAU_GAIN, metadata=SIZE)
    counts: int = field(default=0, metadata=SIZE)

    #: Values tried by :meth:`fit`.
    RISES = tuple(np.round(np.arange(0.0, 0.301, 0.02), 2))
    SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
    FULL_GAINS = (0.001, 0.0025, 0.005, 0.01, 0.02)

    def __post_init__(self) -> None:
        if not (self.rise >= 0 and self.scale > 0 and self.full_gain > 0 and self.plateau >= 0):
            raise InputError(f"median shift needs rise >= 0, scale > 0, full_gain > 0 and plateau >= 0; got "
                             f"{self.rise:g}, {self.scale:g}, {self.full_gain:g} and {self.plateau:g}")

    def pace(self, n: Sequence[float], dice: Sequence[float], doublings: np.ndarray, median: np.ndarray) -> float:
        """The fraction ``r`` of the distance a forecast is read at, in ``(0, 1]``, from its ``median`` at
        ``doublings`` (increasing, from 0 to at least 1) beyond the last observed size."""
        gain = np.maximum.accumulate(np.asarray(median, dtype=float) - float(median[0]))
        allowed = max(recent_gain(n, dice), self.plateau)
        first = float(np.interp(1.0, doublings, gain))
        if first <= allowed:
            return 1.0
        return max(float(np.interp(allowed, gain, doublings)), 1e-3)

    def offset(self, n: Sequence[float], dice: Sequence[float], log_ratio: np.ndarray) -> np.ndarray:
        """What is added to every quantile at distances ``log_ratio = log(n_query / n_last)`` (0 below the data)."""
        return self.rise * self.reach(n, dice) * self.growth(log_ratio)

    def reach(self, n: Sequence[float], dice: Sequence[float]) -> float:
        """The offset far beyond the data per unit of ``rise``: the headroom times the curve's :meth:`share`."""
        return (1.0 - float(np.asarray(dice)[-1])) * self.share(recent_gain(n, dice))

    def share(self, gain: np.ndarray | float) -> np.ndarray | float:
        """The share of the offset a curve gets from its recent ``gain`` per doubling: none up to the plateau gain,
        all from ``plateau + full_gain`` on."""
        return np.clip((np.asarray(gain, dtype=float) - self.plateau) / self.full_gain, 0.0, 1.0)

    def growth(self, log_ratio: np.ndarray) -> np.ndarray:
        """How far the offset has grown, from 0 at the last size towards 1, concave in ``log n``."""
        doublings = np.clip(np.asarray(log_ratio, dtype=float), 0.0, None) / np.log(2.0)
        return 1.0 - np.exp(-doublings / self.scale)

    @classmethod
    def fit(cls, medians: np.ndarray, truth: np.ndarray, log_ratio: np.ndarray, headroom: np.ndarray,
            gain: np.ndarray, *, sample_weight: np.ndarray | None = None) -> MedianShift:
        """Learn ``rise``, ``scale`` and ``full_gain`` from held-out forecasts (paced ``medians``, one per row, at
        ``log_ratio`` beyond prefixes with ``headroom`` ``1 - dice_last`` and recent ``gain``) against the observed
        ``truth``: the triple on a grid with the least weighted mean absolute error of the median."""
        medians, truth = np.asarray(medians, dtype=float), np.asarray(truth, dtype=float)
        sizes = {medians.size, truth.size, np.size(log_ratio), np.size(headroom), np.size(gain)}
        if len(sizes) != 1 or not truth.size:
            raise ValueError("a median shift needs one median, truth, log ratio, headroom and gain per forecast")
        weight = np.ones(truth.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        best, lowest = cls(counts=int(truth.size)), np.inf
        for scale in cls.SCALES:
            for full_gain in cls.FULL_GAINS:
                shape = cls(1.0, scale, full_gain)
                base = np.asarray(headroom) * shape.share(gain) * shape.growth(log_ratio)
                rises = np.array(cls.RISES)[:, None]
                loss = np.abs(medians + rises * base - truth) @ weight
                if loss.min() < lowest - 1e-12:
                    lowest = float(loss.min())
                    best = cls(float(cls.RISES[int(np.argmin(loss))]), scale, full_gain, counts=int(truth.size))
        return best

    def to_dict(self) -> dict:
        """Plain-JSON form, as stored in a surrogate's ``.json``."""
        return {"rise": self.rise, "scale": self.scale, "full_gain": self.full_gain, "plateau": self.plateau,
                "counts": self.counts}

