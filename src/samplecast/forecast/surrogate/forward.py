"""The surrogate network's forward pass in numpy: what a forecast runs, without loading torch.

It computes exactly what :class:`~samplecast.forecast.surrogate.network.SurrogateNet` computes (``tests`` check both
on the same weights); torch is only needed to train. A forecast reads one curve of a dozen points, for which this is
also faster than torch's dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import erf, expit, log_softmax, logit

from samplecast.forecast.surrogate.architecture import EPS, RATES, SurrogateConfig

#: The decay rates as the network holds them (float32 values), widened for the computation.
_RATES = np.asarray(RATES, np.float32).astype(np.float64)


def forward(weights: Mapping[str, np.ndarray], config: SurrogateConfig, features: np.ndarray, lengths: np.ndarray,
            last: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Dice quantiles ``(B, Q, len(levels))`` of the network with ``weights`` (named as
    :meth:`SurrogateConfig.weight_shapes`), for the shapes documented on ``SurrogateNet``."""
    states = features.astype(np.float64)
    for layer in range(config.layers):
        states = _lstm_layer(states, *(weights[f"lstm.{name}_l{layer}"]
                                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    final = states[np.arange(len(states)), np.asarray(lengths) - 1]
    hidden = np.concatenate([final, last[:, 0:1] / 8.0, last[:, 1:2]], -1)
    hidden = _gelu(_linear(hidden, weights, 0))
    hidden = _gelu(_linear(hidden, weights, 2))
    raw = _linear(hidden, weights, 4)
    levels = len(config.levels)
    offsets = raw[:, :levels]
    anchor = logit(np.clip(last[:, 1:2].astype(np.float64), EPS, 1 - EPS))
    steps = np.concatenate([np.zeros_like(offsets[:, :1]), np.cumsum(_softplus(offsets[:, 1:]), -1)], -1)
    start = expit(anchor + offsets[:, :1] + steps)
    mix = np.exp(log_softmax(raw[:, levels:].reshape(-1, levels, len(RATES)), -1))
    ahead = np.clip(query, 0.0, None)[..., None, None]
    remaining = np.cumprod((mix[:, None] * np.exp(-_RATES * ahead)).sum(-1), -1)
    return 1.0 - (1.0 - start)[:, None, :] * remaining


def _lstm_layer(inputs: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
                b_hh: np.ndarray) -> np.ndarray:
    """One ``torch.nn.LSTM`` layer (gates in torch's order: input, forget, cell, output) over ``(B, L, F)``."""
    batch, length = inputs.shape[:2]
    hidden = w_hh.shape[1]
    h, c = np.zeros((batch, hidden)), np.zeros((batch, hidden))
    projected = inputs @ w_ih.T + b_ih + b_hh  # (B, L, 4H): the input's part of every step at once
    out = np.empty((batch, length, hidden))
    for t in range(length):
        i, f, g, o = np.split(projected[:, t] + h @ w_hh.T, 4, axis=-1)
        c = expit(f) * c + expit(i) * np.tanh(g)
        h = expit(o) * np.tanh(c)
        out[:, t] = h
    return out


def _linear(x: np.ndarray, weights: Mapping[str, np.ndarray], index: int) -> np.ndarray:
    return x @ weights[f"head.{index}.weight"].T + weights[f"head.{index}.bias"]


def _softplus(x: np.ndarray) -> np.ndarray:
    """Softplus as ``torch.nn.functional.softplus`` computes it (``x`` itself above 20)."""
    return np.where(x > 20.0, x, np.logaddexp(0.0, np.minimum(x, 20.0)))


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU as ``torch.nn.GELU()`` computes it (the exact form, with the error function)."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
