"""The ``local`` engine: one run at a time in this process, or several at once in worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import torch

from samplecast.train.config import SweepConfig
from samplecast.train.device import release_memory, resolve_device
from samplecast.train.engines import CellStepCallback, SweepIncomplete
from samplecast.train.inputs import GPU_SHARE, SweepData, load_sweep_data
from samplecast.train.processes import become_worker, spawning_workers, stop_workers
from samplecast.train.runs import ResolvedRun, train_one
from samplecast.train.threads import free_core_share


class LocalEngine:
    """Runs one after another in this process, with the dataset moved once to the training device
    (``config.workers > 1``: in that many worker processes sharing the device)."""

    def run(self, config: SweepConfig, data: SweepData, runs: list[ResolvedRun],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        if config.workers > 1 and len(runs) > 1:
            yield from _run_in_workers(config, runs)
            return
        device = resolve_device(config.device)
        on_device = data.for_training_on(device)
        try:
            for run in runs:
                report = (lambda step, total, cell=run.cell: on_step(cell, step, total)) if on_step else None
                yield train_one(config, on_device, run, device=device, on_step=report)
        finally:
            del on_device
            release_memory(device)


#: The dataset of the sweep a worker process serves, loaded once per process by :func:`_start_worker`.
_WORKER: dict[str, Any] = {}


def _start_worker(config: dict[str, Any], threads: int) -> None:
    become_worker()
    torch.set_num_threads(threads)  # this worker process's own share of the cores
    sweep = SweepConfig.from_dict(config)
    device = resolve_device(sweep.device)
    data = load_sweep_data(sweep).for_training_on(device, share=GPU_SHARE / sweep.workers)
    _WORKER.update(config=sweep, device=device, data=data)


def _train_in_worker(run: ResolvedRun) -> dict[str, Any]:
    return train_one(_WORKER["config"], _WORKER["data"], run, device=_WORKER["device"])


def _run_in_workers(config: SweepConfig, runs: list[ResolvedRun]) -> Iterator[dict[str, Any]]:
    """Train ``runs`` in ``config.workers`` fresh processes sharing the device; each loads the cached dataset once.

    Each worker trains with ``config.threads`` CPU threads (by default its share of the cores free now,
    :func:`~samplecast.train.threads.free_core_share`), so together they do not oversubscribe the cores. A run that
    raises is reported at the end (:class:`SweepIncomplete`) and the others go on; stopping the sweep cancels the
    runs not yet started.
    """
    workers = min(config.workers, len(runs))
    threads = config.threads or free_core_share(workers)
    failures = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(config.to_dict(), threads)) as pool:
        with spawning_workers():
            pending: dict[Future, ResolvedRun] = {pool.submit(_train_in_worker, run): run for run in runs}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    run = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as exc:  # noqa: BLE001 - one run's error is reported, the others go on
                        failures.append(f"{run.cell.label}: {type(exc).__name__}: {exc}".strip())
        except BaseException:  # interrupted, or the sweep stopped reading: do not wait for the runs in flight
            stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        raise SweepIncomplete(failures)
