"""The surrogate network: an LSTM over the observed points and a monotone quantile head queried at any size."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from samplecast.forecast.surrogate.features import N_FEATURES

#: Quantile levels the network is trained on; other levels are interpolated
#: (:func:`~samplecast.forecast.calibration.interpolate_levels`).
TRAIN_LEVELS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98)
_EPS = 1e-3


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
    """LSTM over observed points plus a quantile head queried at any size.

    Quantiles are monotone by construction (softplus increments on the logit scale, anchored at the last observed
    Dice) and stay in [0, 1].

    Args:
        config: the architecture.

    Shapes: ``features (B, L, N_FEATURES)`` padded after each curve's ``lengths (B,)`` points; ``last (B, 2)`` the
    last observed (log n, Dice); ``query (B, Q)`` values of ``log(n_query / n_last)``. Returns Dice quantiles
    ``(B, Q, len(levels))``, non-decreasing along the last axis.
    """

    def __init__(self, config: SurrogateConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(N_FEATURES, config.hidden, num_layers=config.layers, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(config.hidden + 4, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, config.head_width), nn.GELU(),
            nn.Linear(config.head_width, len(config.levels)),
        )

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor,
                query: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(features)
        final = states[torch.arange(states.shape[0]), lengths - 1]  # (B, H): state after each curve's last point
        anchor = torch.logit(last[:, 1].clamp(_EPS, 1 - _EPS))  # (B,)
        q = query.unsqueeze(-1)  # (B, Q, 1)
        context = torch.stack([last[:, 0] / 8.0, last[:, 1]], dim=-1).unsqueeze(1).expand(-1, q.shape[1], -1)
        inputs = torch.cat([final.unsqueeze(1).expand(-1, q.shape[1], -1), q / 3.0, (q / 3.0) ** 2, context], -1)
        raw = self.head(inputs)  # (B, Q, K)
        steps = torch.nn.functional.softplus(raw[..., 1:])
        logits = anchor[:, None, None] + raw[..., :1] + torch.cat([torch.zeros_like(raw[..., :1]),
                                                                   torch.cumsum(steps, -1)], -1)
        return torch.sigmoid(logits)
