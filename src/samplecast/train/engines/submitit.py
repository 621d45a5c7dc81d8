"""The ``submitit`` engine: a SLURM job array (or local processes), one fused group of runs per task."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import submitit

from samplecast.train.config import SubmititOptions, SweepConfig
from samplecast.train.engines import CellStepCallback, SweepIncomplete
from samplecast.train.inputs import SweepData, load_sweep_data
from samplecast.train.runs import ResolvedRun, train_one_job


class SubmititEngine:
    """Sends runs as one job array through submitit and yields records as tasks finish.

    Each task trains the runs of one depth as a fused group (:class:`~samplecast.train.engines.fused.FusedEngine`,
    sized by the node's GPU memory unless ``config.group_size`` caps it), or one run when
    ``options.one_run_per_task``. A task reloads the dataset from the sweep's cache and writes each record itself,
    so results survive even if this process is stopped while the array runs. Task logs go to ``out/submitit/``.

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

    def tasks(self, config: SweepConfig, runs: list[ResolvedRun]) -> list[list[ResolvedRun]]:
        """The runs of each task: one each, or the runs of one depth and step budget (at most
        ``config.group_size``)."""
        if self.options.one_run_per_task:
            return [[run] for run in runs]
        from samplecast.train.engines.fused import balanced_groups, fusable

        return [group for todo in fusable(runs) for group in balanced_groups(todo, config.group_size or len(todo))]

    def run(self, config: SweepConfig, data: SweepData, runs: list[ResolvedRun],
            on_step: CellStepCallback | None = None) -> Iterator[dict[str, Any]]:
        if not runs:
            return
        executor = self.executor(Path(config.out) / "submitit")
        tasks = self.tasks(config, runs)
        pending = executor.map_array(run_task, [config.to_dict()] * len(tasks), tasks)
        failures = []
        while pending:
            finished = [job for job in pending if job.done()]
            pending = [job for job in pending if job not in finished]
            for job in finished:
                try:
                    yield from job.result()
                except Exception as exc:  # noqa: BLE001 - a task's error is reported, the others go on
                    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    failures.append(f"job {job.job_id}: {reason} (log: {job.paths.stderr})")
            if pending:
                time.sleep(self.poll_s)
        if failures:
            raise SweepIncomplete(failures)


def run_task(config: dict[str, Any], runs: list[ResolvedRun]) -> list[dict[str, Any]]:
    """One array task in a fresh process: train ``runs`` (one run alone, or a fused group) and return the records."""
    if len(runs) == 1 and config["submitit"].get("one_run_per_task"):
        return [train_one_job(config, runs[0])]
    from samplecast.train.engines.fused import FusedEngine

    sweep = SweepConfig.from_dict(config)
    return list(FusedEngine().run(sweep, load_sweep_data(sweep), runs))
