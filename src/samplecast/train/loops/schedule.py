"""What every run shares however it trains (one run under Lightning, or fused): its seeding and its learning-rate
schedule. Free of Lightning, so the fused loop does not pay for importing it."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators, as Lightning's ``seed_everything`` does: a model built
    next is initialised the same way whichever loop trains it."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float,
                  lr: float) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule of every run, stepped once per optimiser step: linear warm-up from ``lr / 25``
    over ``warmup * total_steps`` steps, then cosine decay to ``lr / 1000`` at the last step."""
    warmup_steps = max(1, round(warmup * total_steps))
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [
        torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / 25, total_iters=warmup_steps),
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps),
                                                   eta_min=lr / 1000),
    ], milestones=[warmup_steps])
