"""The surrogate's architecture: its settings, its quantile levels and decay rates, and the arrays its weights are.

Torch-free, so that a forecast reads and runs a trained surrogate without loading torch
(:mod:`~samplecast.forecast.surrogate.forward`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from samplecast.errors import InputError
from samplecast.forecast.surrogate.features import N_FEATURES
from samplecast.schema import FRACTION, POSITIVE

#: Settings a surrogate's file must give, though code may leave them to their defaults.
REQUIRED = {"required": True}

#: Quantile levels the network is trained on; other levels are interpolated
#: (:func:`~samplecast.forecast.calibration.interpolate_levels`).
TRAIN_LEVELS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98)
#: Decay rates, per unit of ``log(n_query / n_last)``, of the saturating terms every forecast is a mixture of: 0 holds
#: a plateau, 0.05 rises almost linearly in log n over a 100x extrapolation, 4 saturates within a doubling.
RATES: tuple[float, ...] = (0.0, 0.05, 0.12, 0.25, 0.5, 1.0, 2.0, 4.0)
#: How far from 0 and 1 the last observed Dice is held before its logit anchors the forecast.
EPS = 1e-3


@dataclass(frozen=True)
class SurrogateConfig:
    """Architecture of the surrogate network (stored in its JSON so weights load into the right shape).

    Args:
        hidden: LSTM state size.
        layers: stacked LSTM layers.
        head_width: width of the head's hidden layers.
        levels: the trained quantile levels, increasing.
        features: inputs per observed point (:data:`N_FEATURES`; recorded so that weights of other inputs are
            refused).

    Raises:
        InputError: for a setting out of its range (a ``ValueError``).
    """

    hidden: int = field(default=128, metadata={**POSITIVE, **REQUIRED})
    layers: int = field(default=2, metadata={**POSITIVE, **REQUIRED})
    head_width: int = field(default=128, metadata={**POSITIVE, **REQUIRED})
    levels: tuple[float, ...] = field(default=TRAIN_LEVELS, metadata={**FRACTION, **REQUIRED})
    features: int = N_FEATURES

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 1 or self.head_width < 1:
            raise InputError("hidden, layers and head_width must be positive, "
                             f"got {self.hidden}, {self.layers}, {self.head_width}")
        if list(self.levels) != sorted(set(self.levels)) or not 0 < self.levels[0] or not self.levels[-1] < 1:
            raise InputError(f"levels must be increasing and inside (0, 1), got {self.levels}")
        if 0.5 not in self.levels:
            raise InputError("levels must include the median, 0.5")
        if self.features != N_FEATURES:
            raise InputError(f"features: {self.features} inputs per point; this version of samplecast has "
                             f"{N_FEATURES}")

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name and shape of every weight array, as the torch network names them in its state dict (``lstm.*``
        for ``torch.nn.LSTM``, ``head.{0,2,4}.*`` for the head's three linear layers)."""
        gates = 4 * self.hidden
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.layers):
            inputs = self.features if layer == 0 else self.hidden
            shapes |= {f"lstm.weight_ih_l{layer}": (gates, inputs), f"lstm.weight_hh_l{layer}": (gates, self.hidden),
                       f"lstm.bias_ih_l{layer}": (gates,), f"lstm.bias_hh_l{layer}": (gates,)}
        width, out = self.head_width, len(self.levels) * (1 + len(RATES))
        for index, (rows, cols) in zip((0, 2, 4), ((width, self.hidden + 2), (width, width), (out, width))):
            shapes |= {f"head.{index}.weight": (rows, cols), f"head.{index}.bias": (rows,)}
        return shapes
