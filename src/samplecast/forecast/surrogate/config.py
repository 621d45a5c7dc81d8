"""The settings of one surrogate training run, checked when made so a bad value fails before any work."""

from __future__ import annotations

import math
from dataclasses import dataclass

from samplecast.errors import raise_if_any


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run (stored in the model's JSON, so a run can be repeated).

    Args:
        epochs: passes over the corpus; each pass shows every curve once, cut at a random prefix.
        batch_size: curves per optimisation step.
        lr: peak learning rate of AdamW (one-cycle schedule).
        weight_decay: AdamW weight decay.
        seed: seed of the initialisation and of the prefixes drawn.
        threads: CPU threads torch may use; one is fastest for a model this small (more threads mostly wait on
            each other, and on a shared machine slow down by orders of magnitude).

    Raises:
        InputError: naming each setting that is out of range (``lr`` NaN, infinite or not positive, ...).
    """

    epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        problems = [f"training setting {name} must be a whole number >= {low}, got {getattr(self, name)!r}"
                    for name, low in (("epochs", 1), ("batch_size", 1), ("threads", 1), ("seed", 0))
                    if not _whole(getattr(self, name), low)]
        if not _finite(self.lr) or self.lr <= 0:
            problems.append(f"training setting lr must be a finite number > 0, got {self.lr!r}")
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            problems.append(f"training setting weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        raise_if_any(problems)


def _whole(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
