"""Where the runs of a sweep execute: on this machine (in this process, or in several worker processes sharing the
device), or as a SLURM job array through submitit.

An engine takes the cells still to run and yields each finished run's record as it arrives; every run stores its
own record (``runs/<run_id>.json``) the moment it ends, so stopping the sweep at any time loses at most the runs
in flight.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import submitit
import torch

from samplecast.train.config import Cell, SubmititOptions, SweepConfig
from samplecast.train.execute import GPU_SHARE, SweepData, load_sweep_data, run_cell, run_cell_job
from samplecast.train.processes import become_worker, spawning_workers, stop_workers
from samplecast.train.runner import resolve_device

#: Called as ``on_step(cell, step, total_steps)`` while a cell trains (in-process engines only).
CellStepCallback = Callable[[Cell, int, int], None]


class SweepIncomplete(RuntimeError):
    """Some runs stopped with an error and were not recorded; they run again when the sweep is repeated."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__(f"{len(failures)} run{'s' if len(failures) != 1 else ''} stopped with an error:\n"
                         + "\n".join(failures))


class Engine(Protocol):
    """Runs cells and yields their records as they finish."""

    def run(self, config: SweepConfig, data: SweepData, cells: list[Cell],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]: ...


class LocalEngine:
    """Runs cells one after another in this process, with the dataset moved once to the training device."""

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
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()


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


class SubmititEngine:
    """Sends cells as one job array (one task per run) through submitit and yields records as tasks finish.

    Each task reloads the dataset from the sweep's cache, trains, and writes its record itself, so results survive
    even if this process is stopped while the array runs. Task logs go to ``out/submitit/``.

    Args:
        options: cluster, partition and resources per task.
        poll_s: seconds between checks for finished tasks.
    """

    def __init__(self, options: SubmititOptions, *, poll_s: float = 2.0):
        self.options = options
        self.poll_s = poll_s

    def executor(self, folder: Path) -> submitit.AutoExecutor:
        """The configured submitit executor writing its logs under ``folder``."""
        options = self.options
        executor = submitit.AutoExecutor(folder=folder, cluster=options.cluster)
        parameters: dict[str, Any] = {
            "name": "samplecast", "timeout_min": options.timeout_min, "gpus_per_node": options.gpus_per_job,
            "cpus_per_task": options.cpus_per_task, "mem_gb": options.mem_gb,
            "slurm_array_parallelism": options.array_parallelism,
        }
        if options.partition:
            parameters["slurm_partition"] = options.partition
        executor.update_parameters(**parameters)
        return executor

    def run(self, config: SweepConfig, data: SweepData, cells: list[Cell],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        if not cells:
            return
        executor = self.executor(Path(config.out) / "submitit")
        pending = executor.map_array(run_cell_job, [config.to_dict()] * len(cells), cells)
        failures = []
        while pending:
            finished = [job for job in pending if job.done()]
            pending = [job for job in pending if job not in finished]
            for job in finished:
                try:
                    yield job.result()
                except Exception as exc:  # noqa: BLE001 - a task's error is reported, the others go on
                    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    failures.append(f"job {job.job_id}: {reason} (log: {job.paths.stderr})")
            if pending:
                time.sleep(self.poll_s)
        if failures:
            raise SweepIncomplete(failures)


def make_engine(config: SweepConfig) -> Engine:
    """The engine named by ``config.engine``."""
    return SubmititEngine(config.submitit) if config.engine == "submitit" else LocalEngine()
