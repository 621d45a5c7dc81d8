"""The ``fused`` engine: the runs of one depth trained together as one batched model in this process."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from samplecast.train.config import CPU_GROUP_SIZE, Cell, SweepConfig
from samplecast.train.engines import CellStepCallback
from samplecast.train.execute import SweepData, run_group, settings_for
from samplecast.train.fused import group_capacity
from samplecast.train.runner import release_memory, resolve_device


class FusedEngine:
    """Trains the cells depth by depth, the runs of each depth and step budget (:func:`fusable`) in fused groups
    (:func:`~samplecast.train.execute.run_group`) of at most ``config.group_size`` runs; by default as many as the GPU's free memory holds (measured on one
    training step), or :data:`~samplecast.train.config.CPU_GROUP_SIZE` on a CPU. Groups of one depth are balanced
    (e.g. 24 runs that fit 16 at a time train as two groups of 12)."""

    def run(self, config: SweepConfig, data: SweepData, cells: list[Cell],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        device = resolve_device(config.device)
        on_device = data.for_training_on(device)
        capacity: dict[int, int] = {}
        try:
            for todo in fusable(config, on_device, cells):
                depth = todo[0].depth
                if depth not in capacity:
                    capacity[depth] = config.group_size or (
                        group_capacity(on_device.images, depth, config.train, device) if device == "cuda"
                        else CPU_GROUP_SIZE)
                for group in balanced_groups(todo, capacity[depth]):
                    report = (lambda step, total, lead=group[0]: on_step(lead, step, total)) if on_step else None
                    yield from run_group(config, on_device, group, device=device, on_step=report)
                    release_memory(device)
        finally:
            del on_device
            release_memory(device)


def fusable(config: SweepConfig, data: SweepData, cells: list[Cell]) -> list[list[Cell]]:
    """``cells`` split into the sets that may train together: one depth and one step budget each (a budget that
    grows with the training set, ``min_epochs``, gives the largest subsets budgets of their own), in order."""
    sets: dict[tuple[int, int], list[Cell]] = {}
    for cell in cells:
        sets.setdefault((cell.depth, settings_for(config, data, cell).steps), []).append(cell)
    return [sets[key] for key in sorted(sets)]


def balanced_groups(cells: list[Cell], most: int) -> list[list[Cell]]:
    """``cells`` in order, cut into the fewest groups of at most ``most``, their sizes differing by at most one."""
    count = math.ceil(len(cells) / most)
    bounds = [round(i * len(cells) / count) for i in range(count + 1)]
    return [cells[start:end] for start, end in zip(bounds, bounds[1:])]
