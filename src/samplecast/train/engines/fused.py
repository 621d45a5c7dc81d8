"""The ``fused`` engine: the runs of one depth trained together as one batched model in this process."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, TypeVar

from samplecast.train.config import CPU_GROUP_SIZE, SweepConfig
from samplecast.train.device import release_memory, resolve_device
from samplecast.train.engines import CellStepCallback
from samplecast.train.inputs import SweepData
from samplecast.train.loops.vmap import group_capacity
from samplecast.train.runs import ResolvedRun, train_fused

T = TypeVar("T")


class FusedEngine:
    """Trains the runs depth by depth, the runs of each depth and step budget (:func:`fusable`) in fused groups
    (:func:`~samplecast.train.runs.train_fused`) of at most ``config.group_size`` runs; by default as many as the
    GPU's free memory holds (measured on one training step), or :data:`~samplecast.train.config.CPU_GROUP_SIZE` on a
    CPU. Groups of one depth are balanced (e.g. 24 runs that fit 16 at a time train as two groups of 12)."""

    def run(self, config: SweepConfig, data: SweepData, runs: list[ResolvedRun],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        device = resolve_device(config.device)
        on_device = data.for_training_on(device)
        capacity: dict[int, int] = {}
        try:
            for todo in fusable(runs):
                depth = todo[0].cell.depth
                if depth not in capacity:
                    capacity[depth] = config.group_size or (
                        group_capacity(on_device.images, depth, config.train, device) if device == "cuda"
                        else CPU_GROUP_SIZE)
                for group in balanced_groups(todo, capacity[depth]):
                    lead = group[0].cell
                    report = (lambda step, total, lead=lead: on_step(lead, step, total)) if on_step else None
                    yield from train_fused(config, on_device, group, device=device, on_step=report)
                    release_memory(device)
        finally:
            del on_device
            release_memory(device)


def fusable(runs: list[ResolvedRun]) -> list[list[ResolvedRun]]:
    """``runs`` split into the sets that may train together: one depth and one step budget each (a budget that
    grows with the training set, ``min_epochs``, gives the largest subsets budgets of their own), in order."""
    sets: dict[tuple[int, int], list[ResolvedRun]] = {}
    for run in runs:
        sets.setdefault((run.cell.depth, run.steps), []).append(run)
    return [sets[key] for key in sorted(sets)]


def balanced_groups(items: list[T], most: int) -> list[list[T]]:
    """``items`` in order, cut into the fewest groups of at most ``most``, their sizes differing by at most one."""
    count = math.ceil(len(items) / most)
    bounds = [round(i * len(items) / count) for i in range(count + 1)]
    return [items[start:end] for start, end in zip(bounds, bounds[1:])]
