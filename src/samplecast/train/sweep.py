"""A learning-curve sweep: train the grid of (fraction, depth, seed) cells and keep the curves table up to date.

Idempotent and resumable: each finished run is a file (``out/runs/<run_id>.json``), a run whose file exists is never
trained again, and ``out/curves.csv`` is rebuilt from those files after every run. Rerunning a finished sweep
returns at once; widening the grid trains only the new cells; a changed protocol (``--steps``, image size, ...)
gives new run ids, and the curves table then holds the runs of the new protocol only (the others stay in
``runs/``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from samplecast.data.splits import write_case_lists
from samplecast.versions import package_versions
from samplecast.train.config import Cell, SweepConfig, run_id
from samplecast.train.engines import make_engine
from samplecast.train.execute import SweepData, load_sweep_data
from samplecast.train.runner import precision_for, resolve_device
from samplecast.train.store import CONFIG_FILE, RunStore, write_atomic

CASES_DIR = "cases"


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands; passed to the progress callback as it starts, after training steps and after each run.

    Args:
        total: runs this call trains (the grid minus the runs finished earlier).
        done: runs of those finished so far.
        finished_before: runs of the grid found finished when the sweep started.
        failed: runs recorded as failed in this call.
        current: the cell training now (``None`` between runs, or when runs train elsewhere).
        step, steps: the current run's finished steps and step budget.
    """

    total: int
    done: int
    finished_before: int
    failed: int = 0
    current: Cell | None = None
    step: int = 0
    steps: int = 0


ProgressCallback = Callable[[SweepProgress], None]


def run_sweep(config: SweepConfig, *, progress: ProgressCallback | None = None,
              load_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run every unfinished cell of ``config``'s grid and return the curves table (also in ``out/curves.csv``).

    Everything is checked first (configuration, dataset, fractions against the training pool), then the resolved
    configuration, package versions and device go to ``out/config.json`` and the case lists of the splits and of
    every training subset to ``out/cases/seed<k>/``.

    Args:
        config: the sweep.
        progress: called with a :class:`SweepProgress` as runs advance.
        load_progress: called as ``load_progress(done, total)`` while the dataset is read (first time only; then
            it comes from the cache).

    Raises:
        InputError: all problems with the configuration or the dataset, before any training.
        SweepIncomplete: when runs on a cluster stopped with an error (the others are recorded).
    """
    data = load_sweep_data(config, progress=load_progress)
    store = RunStore(config.out)
    _write_config(config, data)
    cells = config.cells()
    for seed in config.seeds:
        write_case_lists(config.out / CASES_DIR / f"seed{seed}", data.splits,
                         {cell.fraction: data.subset(cell) for cell in cells if cell.seed == seed})
    todo = [cell for cell in cells if not store.has(run_id(data.protocol, cell))]
    state = {"done": 0, "failed": 0}

    def report(current: Cell | None = None, step: int = 0, steps: int = 0) -> None:
        if progress:
            progress(SweepProgress(len(todo), state["done"], len(cells) - len(todo), state["failed"],
                                   current, step, steps))

    report()
    for record in make_engine(config).run(config, data, todo, on_step=report):
        state["done"] += 1
        state["failed"] += record["status"] != "ok"
        store.write_curves(data.protocol)
        report()
    return store.write_curves(data.protocol)


def environment(device: str) -> dict[str, Any]:
    """Package versions and the machine a sweep ran on, for the record beside its results.

    ``device`` is where runs train: ``cpu`` or ``cuda`` in this process, or e.g. ``cluster:auto`` when each run
    picks its device on a cluster node (each run's record names its own device and precision).
    """
    packages = package_versions(("samplecast", "torch", "monai", "lightning", "numpy", "pandas", "submitit"))
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "device": device}
    if device in ("cpu", "cuda"):
        machine["precision"] = precision_for(device)
    if device == "cuda" and torch.cuda.is_available():
        machine["gpu"] = torch.cuda.get_device_name()
    return {"packages": packages, "machine": machine}


def _write_config(config: SweepConfig, data: SweepData) -> None:
    dataset = data.dataset
    device = resolve_device(config.device) if config.engine != "submitit" else f"cluster:{config.device}"
    record = {
        "config": config.to_dict(),
        "protocol_id": data.protocol,
        "dataset": {"name": dataset.name, "source": str(dataset.source), "cases": len(dataset.case_ids),
                    "shape": list(dataset.images.shape[1:]), "pool": len(data.splits.pool),
                    "val": len(data.splits.val), "test": len(data.splits.test)},
        **environment(device),
    }
    write_atomic(config.out / CONFIG_FILE, json.dumps(record, indent=1) + "\n")
