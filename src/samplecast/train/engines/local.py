"""The ``local`` engine: one run at a time in this process, or several at once in worker processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import torch

from samplecast.train.config import Cell, SweepConfig
from samplecast.train.engines import CellStepCallback, SweepIncomplete
from samplecast.train.execute import GPU_SHARE, SweepData, load_sweep_data, run_cell
from samplecast.train.processes import become_worker, spawning_workers, stop_workers
from samplecast.train.runner import release_memory, resolve_device


class LocalEngine:
    """Runs cells one after another in this process, with the dataset moved once to the training device
    (``config.workers > 1``: in that many worker processes sharing the device)."""

    def run(self, config: SweepConfig, data: SweepData, cells: list[Cell],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        if config.workers > 1 and len(cells) > 1:
            yield from _run_in_workers(config, cells)
            return
        device = resolve_device(config.device)
        on_device = data.for_training_on(device)
        try:
            for cell in cells:
                report = (lambda step, total, cell=cell: on_step(cell, step, total)) if on_step else None
                yield run_cell(config, on_device, cell, device=device, on_step=report)
        finally:
            del on_device
            release_memory(device)


#: The dataset of the sweep a worker process serves, loaded once per process by :func:`_start_worker`.
_WORKER: dict[str, Any] = {}


def _start_worker(config: dict[str, Any], threads: int) -> None:
    become_worker()
    torch.set_num_threads(threads)
    sweep = SweepConfig.from_dict(config)
    device = resolve_device(sweep.device)
    data = load_sweep_data(sweep).for_training_on(device, share=GPU_SHARE / sweep.workers)
    _WORKER.update(config=sweep, device=device, data=data)


def _train_in_worker(cell: Cell) -> dict[str, Any]:
    return run_cell(_WORKER["config"], _WORKER["data"], cell, device=_WORKER["device"])


def _run_in_workers(config: SweepConfig, cells: list[Cell]) -> Iterator[dict[str, Any]]:
    """Train ``cells`` in ``config.workers`` fresh processes sharing the device; each loads the cached dataset once.

    CPU threads are split between the workers so they do not oversubscribe the cores. A run that raises is reported
    at the end (:class:`SweepIncomplete`) and the others go on; stopping the sweep cancels the runs not yet started.
    """
    workers = min(config.workers, len(cells))
    threads = max(1, (os.cpu_count() or 1) // workers)
    failures = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(config.to_dict(), threads)) as pool:
        with spawning_workers():
            pending: dict[Future, Cell] = {pool.submit(_train_in_worker, cell): cell for cell in cells}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    cell = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as exc:  # noqa: BLE001 - one run's error is reported, the others go on
                        failures.append(f"{cell.label}: {type(exc).__name__}: {exc}".strip())
        except BaseException:  # interrupted, or the sweep stopped reading: do not wait for the runs in flight
            stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        raise SweepIncomplete(failures)
