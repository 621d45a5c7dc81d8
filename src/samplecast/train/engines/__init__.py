"""Where the runs of a sweep execute: one class per engine.

- :class:`LocalEngine` (``local``): one run at a time in this process, or in several worker processes sharing the
  device.
- :class:`FusedEngine` (``fused``): the runs of one depth trained together as one batched model in this process.
- :class:`SubmititEngine` (``submitit``): a SLURM job array, one fused group (or one run) per task.

An engine only schedules: it takes the runs still to train, resolved (:class:`~samplecast.train.runs.ResolvedRun`),
and yields each finished run's record as it arrives; every run stores its
own record (``runs/<run_id>.json``) the moment its result is final, so stopping the sweep at any time loses at most
the runs in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from samplecast.errors import SweepIncomplete as SweepIncomplete  # raised by the engines; its home is errors
from samplecast.train.config import Cell, SweepConfig
from samplecast.train.inputs import SweepData
from samplecast.train.runs import ResolvedRun

#: Called as ``on_step(cell, step, total_steps)`` while a cell (or the fused group it leads) trains, a few times per
#: second (in-process engines only).
CellStepCallback = Callable[[Cell, int, int], None]


class Engine(Protocol):
    """Trains runs and yields their records as they finish."""

    def run(self, config: SweepConfig, data: SweepData, runs: list[ResolvedRun],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]: ...


def make_engine(config: SweepConfig) -> Engine:
    """The engine named by ``config.engine``."""
    from samplecast.train.engines.submitit import SubmititEngine
    from samplecast.train.engines.fused import FusedEngine
    from samplecast.train.engines.local import LocalEngine

    if config.engine == "submitit":
        return SubmititEngine(config.submitit)
    return FusedEngine() if config.engine == "fused" else LocalEngine()

