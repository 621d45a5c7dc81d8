"""The surrogate network: an LSTM over the observed points and a head whose quantile curves rise, flatten and stay
ordered by construction."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from samplecast.forecast.surrogate.architecture import EPS, RATES, SurrogateConfig
from samplecast.forecast.surrogate.features import N_FEATURES


class SurrogateNet(nn.Module):
    """LSTM over observed points plus a head that returns, for each quantile level, a whole forecast curve.

    The shapes a planner relies on hold by construction, for any weights. Beyond the last observed size (``q =
    log(n_query / n_last) >= 0``) level ``k`` is ``1 - (1 - a_k) * S_k(q)``: ``a_k`` its value at the last size
    (increasing in ``k``, anchored at the last observed Dice) and ``S_k`` the product over levels ``j <= k`` of mixtures
    of decays ``exp(-r * q)`` (:data:`RATES`, ``r = 0`` a plateau). Each mixture is log-convex, so every level rises,
    gains less with every doubling (concave in log n), stays below 1, and a higher level stays above a lower one at
    every size. Below the last observed size every level holds its value at the last size: the network forecasts, it
    is not trained to fit the observed points (:class:`~samplecast.forecast.surrogate.estimator.LSTMForecaster` draws
    the observed curve there). Training runs this module; forecasts run the same computation in numpy
    (:func:`~samplecast.forecast.surrogate.forward.forward`).

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
        anchor = torch.logit(last[:, 1:2].clamp(EPS, 1 - EPS))  # (B, 1)
        start = torch.sigmoid(anchor + offsets[:, :1] + torch.cat(
            [torch.zeros_like(offsets[:, :1]), torch.cumsum(nn.functional.softplus(offsets[:, 1:]), -1)], -1))
        mix = torch.softmax(raw[:, levels:].reshape(-1, levels, len(RATES)), -1)  # (B, K, R)
        ahead = query.clamp_min(0.0)[..., None, None]  # (B, Q, 1, 1)
        remaining = torch.cumprod((mix[:, None] * torch.exp(-self.rates * ahead)).sum(-1), -1)  # (B, Q, K): S_k(q)
        return 1.0 - (1.0 - start)[:, None, :] * remaining

    @classmethod
    def from_weights(cls, config: SurrogateConfig, weights: Mapping[str, np.ndarray]) -> SurrogateNet:
        """The network of ``config`` holding ``weights`` (arrays named as :meth:`SurrogateConfig.weight_shapes`)."""
        net = cls(config)
        net.load_state_dict({name: torch.tensor(array) for name, array in weights.items()})
        return net

    def weights(self) -> dict[str, np.ndarray]:
        """The weights as float32 numpy arrays, named as :meth:`SurrogateConfig.weight_shapes`."""
        return {name: tensor.detach().cpu().numpy().astype(np.float32) for name, tensor in self.state_dict().items()}
