"""The surrogate network: an LSTM over the observed points and a head whose quantile curves rise, flatten and stay
ordered by construction."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from samplecast.forecast.surrogate.features import N_FEATURES

#: Quantile levels the network is trained on; other levels are interpolated
#: (:func:`~samplecast.forecast.calibration.interpolate_levels`).
TRAIN_LEVELS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98)
_EPS = 1e-3
#: Decay rates, per unit of ``log(n_query / n_last)``, of the saturating terms every forecast is a mixture of: 0 holds
#: a plateau, 0.05 rises almost linearly in log n over a 100x extrapolation, 4 saturates within a doubling.
RATES: tuple[float, ...] = (0.0, 0.05, 0.12, 0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class SurrogateConfig:
    """Architecture of the surrogate network (stored in its JSON so weights load into the right shape).

    Args:
        hidden: LSTM state size.
        layers: stacked LSTM layers.
        head_width: width of the head's hidden layers.
        levels: the trained quantile levels, increasing.
    """

    hidden: int = 128
    layers: int = 2
    head_width: int = 128
    levels: tuple[float, ...] = TRAIN_LEVELS

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 1 or self.head_width < 1:
            raise ValueError("hidden, layers and head_width must be positive, "
                             f"got {self.hidden}, {self.layers}, {self.head_width}")
        if list(self.levels) != sorted(set(self.levels)) or not 0 < self.levels[0] or not self.levels[-1] < 1:
            raise ValueError(f"levels must be increasing and inside (0, 1), got {self.levels}")
        if 0.5 not in self.levels:
            raise ValueError("levels must include the median, 0.5")


class SurrogateNet(nn.Module):
    """LSTM over observed points plus a head that returns, for each quantile level, a whole forecast curve.

    The shapes a planner relies on hold by construction, for any weights. Beyond the last observed size (``q =
    log(n_query / n_last) >= 0``) level ``k`` is ``1 - (1 - a_k) * S_k(q)``: ``a_k`` its value at the last size
    (increasing in ``k``, anchored at the last observed Dice) and ``S_k`` the product over levels ``j <= k`` of mixtures
    of decays ``exp(-r * q)`` (:data:`RATES`, ``r = 0`` a plateau). Each mixture is log-convex, so every level rises,
    gains less with every doubling (concave in log n), stays below 1, and a higher level stays above a lower one at
    every size. Below the last observed size every level holds its value at the last size: the network forecasts, it
    is not trained to fit the observed points (:class:`~samplecast.forecast.surrogate.estimator.LSTMForecaster` draws
    the observed curve there).

    Args:
        config: the architecture.

    Shapes: ``features (B, L, N_FEATURES)`` padded after each curve's ``lengths (B,)`` points; ``last (B, 2)`` the
    last observed (log n, Dice); ``query (B, Q)`` values of ``log(n_query / n_last)``. Returns Dice quantiles
    ``(B, Q, len(levels))``, non-decreasing along the last axis, at most 1.
    """

    def __init__(self, config: SurrogateConfig):
        super().__init__()
        self.config = config
        levels = len(config.levels)
        self.lstm = nn.LSTM(N_FEATURES, config.hidden, num_layers=config.layers, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(config.hidden + 2, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, levels * (1 + len(RATES))),
        )
        self.register_buffer("rates", torch.tensor(RATES), persistent=False)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor,
                query: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(features)
        final = states[torch.arange(states.shape[0]), lengths - 1]  # (B, H): state after each curve's last point
        raw = self.head(torch.cat([final, last[:, 0:1] / 8.0, last[:, 1:2]], -1))  # (B, K * (1 + R))
        levels = len(self.config.levels)
        offsets = raw[:, :levels]
        anchor = torch.logit(last[:, 1:2].clamp(_EPS, 1 - _EPS))  # (B, 1)
        start = torch.sigmoid(anchor + offsets[:, :1] + torch.cat(
            [torch.zeros_like(offsets[:, :1]), torch.cumsum(nn.functional.softplus(offsets[:, 1:]), -1)], -1))
        mix = torch.softmax(raw[:, levels:].reshape(-1, levels, len(RATES)), -1)  # (B, K, R)
        ahead = query.clamp_min(0.0)[..., None, None]  # (B, Q, 1, 1)
        remaining = torch.cumprod((mix[:, None] * torch.exp(-self.rates * ahead)).sum(-1), -1)  # (B, Q, K): S_k(q)
        return 1.0 - (1.0 - start)[:, None, :] * remaining
