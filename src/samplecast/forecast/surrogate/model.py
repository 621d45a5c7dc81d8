"""A trained surrogate: the network's weights with its training record and interval calibration, forecasting one
curve (in numpy: no torch is loaded to forecast)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from samplecast.forecast.base import QUANTILES, tidy_quantiles
from samplecast.forecast.calibration import SpreadCalibration, interpolate_levels
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.forecast.surrogate.features import N_FEATURES, encode_points, thin_indices
from samplecast.forecast.surrogate.forward import forward

if TYPE_CHECKING:
    from samplecast.forecast.surrogate.network import SurrogateNet

#: The ``format`` written to, and expected in, a surrogate's JSON.
FORMAT = "samplecast-surrogate/3"


@dataclass
class Surrogate:
    """A trained surrogate: the network's architecture and weights, its settings and (optionally) the widening of its
    intervals.

    Args:
        config: the architecture.
        weights: the weight arrays, named as :meth:`SurrogateConfig.weight_shapes` (float32; treat as read-only).
        training: how it was trained (``TrainingConfig`` fields plus corpus description), for the record.
        calibration: the widening of its intervals learned on real curves (:func:`calibrate_surrogate`), or ``None``.
    """

    config: SurrogateConfig
    weights: Mapping[str, np.ndarray]
    training: dict = field(default_factory=dict)
    calibration: SpreadCalibration | None = None

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

    def quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray,
                  levels: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``query`` given the observed curve, calibrated where a calibration is stored."""
        values = self.raw_quantiles(n, dice, query)
        if self.calibration is not None:
            values = self.calibration.apply(self.levels, values, np.log(query / n[-1]))
        return tidy_quantiles(interpolate_levels(self.levels, values, levels))

    def with_calibration(self, calibration: SpreadCalibration | None) -> Surrogate:
        """The same network with another calibration (``None`` for the raw intervals)."""
        return Surrogate(self.config, self.weights, self.training, calibration)

    def describe(self) -> dict:
        """Everything but the weights, as written to the JSON beside them."""
        return {
            "format": FORMAT,
            "architecture": {**asdict(self.config), "levels": list(self.levels), "features": N_FEATURES},
            "training": self.training,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


def new_surrogate(config: SurrogateConfig | None = None, seed: int = 0) -> Surrogate:
    """An untrained surrogate with reproducibly initialised weights (torch's initialisation, seeded)."""
    import torch

    from samplecast.forecast.surrogate.network import SurrogateNet

    torch.manual_seed(seed)
    return Surrogate.from_network(SurrogateNet(config or SurrogateConfig()))
