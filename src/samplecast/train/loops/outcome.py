"""What a training loop returns and how it reports progress, the same for the one-run and the fused loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Pair = tuple[torch.Tensor, torch.Tensor]
#: Called as ``on_step(step, total_steps)`` as optimiser steps finish (a few times per second).
StepCallback = Callable[[int, int], None]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; the run cannot give a meaningful Dice."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run measured.

    Args:
        test_dice: Dice of each test case, in the order given, shape ``(n_test,)``.
        best_val_dice: mean validation Dice of the weights used for testing (``nan`` without validation data).
        best_step: the step those weights come from (``None`` without validation data: the last weights are used).
        wall_s: seconds from building the model to the end of testing.
        precision: the Lightning precision the run used, e.g. ``32-true`` or ``bf16-mixed``.
        train_loss: the training loss of every step, shape ``(steps,)``.
        weights: the tested network's state dict, on the CPU (kept by a sweep with ``keep_weights``).
    """

    test_dice: np.ndarray
    best_val_dice: float
    best_step: int | None
    wall_s: float
    precision: str
    train_loss: np.ndarray
    weights: dict[str, torch.Tensor] | None = None


def throttled(on_step: StepCallback, interval_s: float = 0.25) -> StepCallback:
    """``on_step`` called at most every ``interval_s`` seconds, and always for the last step: a progress display
    then costs the training loop nothing, however short its steps."""
    last = [float("-inf")]

    def report(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= interval_s or step >= total:
            last[0] = now
            on_step(step, total)

    return report
