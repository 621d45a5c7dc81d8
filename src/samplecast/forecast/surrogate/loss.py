"""The training objective of the surrogate, the weighted pinball (quantile) loss, and its mean on a corpus."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from samplecast.forecast.prior import CurveBank
from samplecast.forecast.surrogate.model import Surrogate
from samplecast.forecast.surrogate.sampler import EvaluationBatches


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 levels: torch.Tensor) -> torch.Tensor:
    """Weighted mean pinball (quantile) loss: ``pred (B, Q, K)``, ``target, weight (B, Q)``, ``levels (K,)``."""
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(levels * diff, (levels - 1) * diff).mean(-1)
    return (loss * weight).sum() / weight.sum().clamp_min(1e-8)


def batch_loss(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The pinball loss of ``net`` on one batch from :mod:`samplecast.forecast.surrogate.sampler`."""
    pred = net(batch["features"], batch["lengths"], batch["last"], batch["query"])
    levels = torch.tensor(net.config.levels, dtype=pred.dtype, device=pred.device)
    return pinball_loss(pred, batch["target"], batch["weight"], levels)


def evaluate_loss(surrogate: Surrogate, bank: CurveBank, seed: int = 12345) -> float:
    """Mean pinball loss of ``surrogate`` on ``bank``, each curve cut at a random (seeded) prefix."""
    with torch.inference_mode():
        total, weight = weighted_losses(surrogate.network(), EvaluationBatches(bank, seed))
    return total / weight


def weighted_losses(net: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]]) -> tuple[float, float]:
    """Sum of the batches' losses weighted by their total target weight, and that total: their ratio is the mean
    loss over every target, however the curves fall into batches."""
    total, weight = 0.0, 0.0
    for batch in batches:
        w = float(batch["weight"].sum())
        total += float(batch_loss(net, batch)) * w
        weight += w
    return total, weight
