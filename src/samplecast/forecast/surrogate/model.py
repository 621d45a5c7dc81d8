"""A trained surrogate: the network's weights with its training record, the shift of its median and the widening of
its intervals, forecasting one curve (in numpy: no torch is loaded to forecast)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from samplecast.forecast.base import QUANTILES, tidy_quantiles
from samplecast.forecast.calibration import SpreadCalibration, interpolate_levels
from samplecast.forecast.shift import MedianShift
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.forecast.surrogate.features import encode_points, thin_indices
from samplecast.forecast.surrogate.forward import forward

if TYPE_CHECKING:
    from samplecast.forecast.surrogate.network import SurrogateNet

#: The ``format`` written to, and expected in, a surrogate's JSON.
FORMAT = "samplecast-surrogate/4"
#: Earlier formats still read: ``/3`` is ``/4`` without a median shift.
READABLE_FORMATS = ("samplecast-surrogate/3", FORMAT)
#: Doublings beyond the last size at which the median is read to pace a forecast (:meth:`MedianShift.pace`).
PACE_DOUBLINGS = np.linspace(0.0, 1.0, 33)


@dataclass
class Surrogate:
    """A trained surrogate: the network's architecture and weights, its settings and (optionally) the shift of its
    median and the correction of its intervals, both learned on real curves.

    Args:
        config: the architecture.
        weights: the weight arrays, named as :meth:`SurrogateConfig.weight_shapes` (float32; treat as read-only).
        training: how it was trained (``TrainingConfig`` fields plus corpus description), for the record.
        calibration: the correction of its intervals learned on real curves (:func:`calibrate_surrogate`), or ``None``.
        shift: the pace and offset of its forecasts learned on real curves (:func:`learn_shift`), or ``None``.
    """

    config: SurrogateConfig
    weights: Mapping[str, np.ndarray]
    training: dict = field(default_factory=dict)
    calibration: SpreadCalibration | None = None
    shift: MedianShift | None = None

    @classmethod
    def from_network(cls, net: SurrogateNet, training: dict | None = None) -> Surrogate:
        """The surrogate holding a copy of a torch network's weights."""
        return cls(net.config, net.weights(), dict(training or {}))

    def network(self) -> SurrogateNet:
        """A torch network holding these weights, to train or score in batches (loads torch)."""
        from samplecast.forecast.surrogate.network import SurrogateNet

        return SurrogateNet.from_weights(self.config, self.weights).eval()

    @property
    def levels(self) -> tuple[float, ...]:
        return self.config.levels

    def raw_quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Uncalibrated quantiles at the trained levels for one observed curve: ``(len(query), len(levels))``.

        A curve of very many sizes is read at a few dozen of them (:func:`thin_indices`)."""
        keep = thin_indices(n)
        n, dice = n[keep], dice[keep]
        features, last = encode_points(n[None, :], dice[None, :], np.array([len(n)]))
        log_ratio = np.log(query) - last[0, 0]
        return forward(self.weights, self.config, features, np.array([len(n)]), last, log_ratio[None, :])[0]

    def paced_quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The network's quantiles at sizes ``query`` (``>= n[-1]``) read at the pace of the stored shift
        (:meth:`MedianShift.pace`), so a forecast gains no more over its first doubling than the curve allows."""
        if self.shift is None:
            return self.raw_quantiles(n, dice, query)
        ahead = self.raw_quantiles(n, dice, n[-1] * 2.0 ** PACE_DOUBLINGS)
        median = interpolate_levels(self.levels, ahead, [0.5])[:, 0]
        pace = self.shift.pace(n, dice, PACE_DOUBLINGS, median)
        return self.raw_quantiles(n, dice, n[-1] * (np.asarray(query, dtype=float) / n[-1]) ** pace)

    def shifted_quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The network's quantiles at sizes ``query`` (``>= n[-1]``), paced and offset by the stored shift (if any),
        at the trained levels and not widened."""
        values = self.paced_quantiles(n, dice, query)
        if self.shift is None:
            return values
        return values + self.shift.offset(n, dice, np.log(np.asarray(query, dtype=float) / n[-1]))[:, None]

    def quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray,
                  levels: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``query`` given the observed curve, shifted and widened where a shift and a
        calibration are stored."""
        values = self.shifted_quantiles(n, dice, query)
        if self.calibration is not None:
            values = self.calibration.apply(self.levels, values, np.log(query / n[-1]))
        return tidy_quantiles(interpolate_levels(self.levels, values, levels))

    def with_calibration(self, calibration: SpreadCalibration | None) -> Surrogate:
        """The same network and shift with another calibration (``None`` for the raw intervals)."""
        return Surrogate(self.config, self.weights, self.training, calibration, self.shift)

    def with_shift(self, shift: MedianShift | None) -> Surrogate:
        """The same network and calibration with another median shift (``None`` for the network's own median)."""
        return Surrogate(self.config, self.weights, self.training, self.calibration, shift)

    def describe(self) -> dict:
        """Everything but the weights, as written to the JSON beside them."""
        return {
            "format": FORMAT,
            "architecture": {**asdict(self.config), "levels": list(self.levels)},
            "training": self.training,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "median_shift": None if self.shift is None else self.shift.to_dict(),
        }


def new_surrogate(config: SurrogateConfig | None = None, seed: int = 0) -> Surrogate:
    """An untrained surrogate with reproducibly initialised weights (torch's initialisation, seeded)."""
    import torch

    from samplecast.forecast.surrogate.network import SurrogateNet

    torch.manual_seed(seed)
    return Surrogate.from_network(SurrogateNet(config or SurrogateConfig()))
