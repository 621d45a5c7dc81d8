"""Training: residual U-Nets on nested fractions of a dataset, one curves-table row per run.

Use from a notebook::

    from samplecast.train import SweepConfig, TrainSettings, run_sweep

    table = run_sweep(SweepConfig("data/kvasir-seg", "runs/kvasir", fractions=(0.1, 0.2, 0.5, 1.0), depths=(4,),
                                  image_size=128, train=TrainSettings(steps=1000)))

Names are imported on first use, so reading a configuration does not load torch, MONAI or Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "SweepConfig": "config", "TrainSettings": "config", "SubmititOptions": "config", "Cell": "config",
    "run_sweep": "sweep", "SweepProgress": "sweep", "SweepIncomplete": "engines",
    "fit_and_test": "runner", "RunOutcome": "runner",
    "fit_and_test_group": "fused", "GroupRun": "fused", "FusedSteps": "fused", "StackedNets": "fused",
    "SegmentationModule": "module", "TrainingDiverged": "module", "BatchAugment": "augment", "build_unet": "model",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
