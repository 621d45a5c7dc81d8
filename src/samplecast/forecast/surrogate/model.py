"""A trained surrogate: the network with its training record and interval calibration, forecasting one curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from samplecast.forecast.base import QUANTILES, tidy_quantiles
from samplecast.forecast.calibration import SpreadCalibration, interpolate_levels
from samplecast.forecast.surrogate.features import N_FEATURES, encode_points, thin_indices
from samplecast.forecast.surrogate.network import SurrogateConfig, SurrogateNet

#: The ``format`` written to, and expected in, a surrogate's JSON.
FORMAT = "samplecast-surrogate/2"


@dataclass
class Surrogate:
    """A trained surrogate: the network, its settings and (optionally) the widening of its intervals.

    Args:
        net: the network, in eval mode.
        training: how it was trained (``TrainingConfig`` fields plus corpus description), for the record.
        calibration: the widening of its intervals learned on real curves (:func:`calibrate_surrogate`), or ``None``.
    """

    net: SurrogateNet
    training: dict = field(default_factory=dict)
    calibration: SpreadCalibration | None = None

    @property
    def levels(self) -> tuple[float, ...]:
        return self.net.config.levels

    def raw_quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Uncalibrated quantiles at the trained levels for one observed curve: ``(len(query), len(levels))``.

        A curve of very many sizes is read at a few dozen of them (:func:`thin_indices`)."""
        keep = thin_indices(n)
        n, dice = n[keep], dice[keep]
        features, last = encode_points(n[None, :], dice[None, :], np.array([len(n)]))
        log_ratio = np.log(query) - last[0, 0]
        with torch.inference_mode():
            out = self.net(torch.from_numpy(features), torch.tensor([len(n)]), torch.from_numpy(last),
                           torch.from_numpy(log_ratio.astype(np.float32))[None, :])
        return out[0].double().numpy()

    def quantiles(self, n: np.ndarray, dice: np.ndarray, query: np.ndarray,
                  levels: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``query`` given the observed curve, calibrated where a calibration is stored."""
        values = self.raw_quantiles(n, dice, query)
        if self.calibration is not None:
            values = self.calibration.apply(self.levels, values, np.log(query / n[-1]))
        return tidy_quantiles(interpolate_levels(self.levels, values, levels))

    def with_calibration(self, calibration: SpreadCalibration | None) -> Surrogate:
        """The same network with another calibration (``None`` for the raw intervals)."""
        return Surrogate(self.net, self.training, calibration)

    def describe(self) -> dict:
        """Everything but the weights, as written to the JSON beside them."""
        return {
            "format": FORMAT,
            "architecture": {**asdict(self.net.config), "levels": list(self.levels), "features": N_FEATURES},
            "training": self.training,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


def new_surrogate(config: SurrogateConfig | None = None, seed: int = 0) -> Surrogate:
    """An untrained surrogate with reproducibly initialised weights."""
    torch.manual_seed(seed)
    return Surrogate(SurrogateNet(config or SurrogateConfig()).eval())
