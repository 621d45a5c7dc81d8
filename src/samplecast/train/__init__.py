"""Training: a sweep's settings, each run resolved once, the U-Net, the loops (Lightning, vmap), engines and records.
May import samplecast.data, .curves, .files, .errors and .versions; never forecast, plan or report.

Use from a notebook::

    from samplecast.train import SweepConfig, TrainSettings, run_sweep

    table = run_sweep(SweepConfig("data/kvasir-seg", "runs/kvasir", fractions=(0.1, 0.2, 0.5, 1.0), depths=(4,),
                                  image_size=128, train=TrainSettings(steps=1000)))

Names are imported on first use, so reading a configuration does not load torch, MONAI or Lightning. Library code
here changes no process-wide torch setting (threads, cuDNN autotuning): the caller chooses them
(:func:`~samplecast.train.threads.free_core_share` computes a share of the free cores).
"""

from __future__ import annotations

from samplecast import lazy_names

_HOMES = {
    "SweepConfig": "config", "TrainSettings": "config", "SubmititOptions": "config", "Cell": "config",
    "run_sweep": "sweep", "SweepProgress": "sweep", "SweepIncomplete": "engines",
    "ResolvedRun": "runs", "resolve_runs": "runs", "free_core_share": "threads",
    "fit_and_test": "loops.lightning", "RunOutcome": "loops.outcome",
    "fit_and_test_group": "loops.vmap", "GroupRun": "loops.vmap", "FusedSteps": "loops.vmap",
    "StackedNets": "loops.vmap", "SegmentationModule": "loops.lightning", "TrainingDiverged": "loops.outcome",
    "BatchAugment": "augment", "build_unet": "unet", "read_convergence": "record",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_names(__name__, _HOMES)
