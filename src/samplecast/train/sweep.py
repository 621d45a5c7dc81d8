"""A learning-curve sweep: train the grid of (fraction, depth, seed) cells and keep the curves table up to date.

Idempotent and resumable: each finished run is a file (``out/runs/<run_id>.json``), a run whose file exists is never
trained again, and ``out/curves.csv`` is rebuilt from those files after every run. Rerunning a finished sweep
returns at once; widening the grid trains only the new cells, and narrowing it trains nothing and forgets nothing
(``config.json`` and ``cases/`` describe every run recorded); a changed protocol (``--steps``, image size, ...)
gives new run ids, and the curves table then holds the runs of the new protocol only (the others stay in
``runs/``). One sweep at a time writes into a folder (:class:`~samplecast.train.store.SweepLock`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import torch

from samplecast.data.splits import subset_size, write_case_lists
from samplecast.errors import InputError
from samplecast.files import OUTPUT_ERRNOS, output_error, output_problems, put_text
from samplecast.train.config import CONVERGENCE_TOLERANCE, Cell, SweepConfig
from samplecast.train.device import precision_for, resolve_device
from samplecast.train.engines import make_engine
from samplecast.train.inputs import SweepData, load_sweep_data, sweep_protocol
from samplecast.train.processes import interrupts_reach_caller
from samplecast.train.runs import ResolvedRun, resolve_runs, reuse_identical_runs
from samplecast.train.store import CASES_DIR, CONFIG_FILE, RunStore, SweepLock
from samplecast.versions import package_versions


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands; passed to the progress callback as it starts, after training steps and after each run.

    Args:
        total: runs this call trains (the grid minus the runs finished earlier, plus ``checks``).
        done: runs of those finished so far.
        finished_before: runs of the grid found finished when the sweep started.
        failed: runs recorded as failed in this call.
        current: the cell training now (``None`` between runs, or when runs train elsewhere).
        step, steps: the current run's finished steps and step budget.
        checks: runs of ``total`` that check convergence (they train after the grid).
    """

    total: int
    done: int
    finished_before: int
    failed: int = 0
    current: Cell | None = None
    step: int = 0
    steps: int = 0
    checks: int = 0


ProgressCallback = Callable[[SweepProgress], None]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a sweep. Every run finished before it is recorded; running the sweep again resumes.

    Args:
        finished: runs of the grid recorded as finished (earlier calls included).
        total: runs in the grid.
    """

    def __init__(self, finished: int, total: int):
        super().__init__(f"interrupted; {finished} of {total} runs finished, rerun the same command to resume")
        self.finished = finished
        self.total = total


def run_sweep(config: SweepConfig, *, progress: ProgressCallback | None = None,
              load_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run every unfinished cell of ``config``'s grid and return the curves table (also in ``out/curves.csv``).

    Everything is checked first (configuration, that ``out`` can be written, dataset, fractions against the
    training pool); then the folder is locked, the configuration, package versions and device go to
    ``out/config.json`` and the case lists of the splits and of every training subset to ``out/cases/seed<k>/``.
    With ``config.check_convergence`` the largest training set of each depth, and the largest whose budget the step
    floor sets, are trained again with twice their steps after the grid, and the result goes to ``config.json`` under
    ``convergence`` (see :func:`~samplecast.train.record.read_convergence`); it stays there when later sweeps add
    runs of the same protocol (more seeds, say) without checking again.

    Args:
        config: the sweep.
        progress: called with a :class:`SweepProgress` as runs advance.
        load_progress: called as ``load_progress(done, total)`` while the dataset is read (first time only; then
            it comes from the cache).

    Raises:
        InputError: all problems with the configuration or the dataset, before any training; a results folder
            that cannot be written (checked first, and again if the disk fills during the sweep); another sweep
            holding the folder.
        SweepInterrupted: on Ctrl-C (SIGINT); the runs finished so far are recorded.
        SweepIncomplete: when runs on a cluster stopped with an error (the others are recorded).
    """
    unwritable = output_problems(config.out)
    if unwritable:
        raise InputError(config.problems() + unwritable)
    counts = {"finished": 0, "total": len(config.cells())}
    try:
        with interrupts_reach_caller():
            data = load_sweep_data(config, progress=load_progress)
            with SweepLock(config.out):
                return _run(config, data, counts, progress)
    except KeyboardInterrupt:
        raise SweepInterrupted(counts["finished"], counts["total"]) from None
    except OSError as exc:
        if exc.errno in OUTPUT_ERRNOS:
            raise output_error(config.out, exc) from None
        raise


def _run(config: SweepConfig, data: SweepData, counts: dict[str, int],
         progress: ProgressCallback | None) -> pd.DataFrame:
    store = RunStore(config.out)
    cells = config.cells()
    todo = reuse_identical_runs(config, data, store,
                                [run for run in resolve_runs(config, data, cells) if not store.has(run.run_id)])
    checks = _convergence_checks(config, data)
    check_todo = [(check, [run for run in check.runs if not store.has(run.run_id)]) for check in checks]
    checked = {run.run_id: grid.run_id for check in checks
               for run, grid in zip(check.runs, _grid_runs(config, data, check.runs))}
    checking = sum(len(runs) for _, runs in check_todo)
    described = _recorded_grid(config, data, store)
    _write_config(described, data, _convergence(config, data, store))
    for seed in described.seeds:
        first = [cell for cell in described.cells() if (cell.depth, cell.seed) == (described.depths[0], seed)]
        subsets = [data.subset(cell) for cell in first]
        write_case_lists(config.out / CASES_DIR / f"seed{seed}", data.splits, {len(ids): ids for ids in subsets})
    state = {"done": 0, "failed": 0}
    counts["finished"] = len(cells) - len(todo)

    def report(current: Cell | None = None, step: int = 0, steps: int = 0) -> None:
        if progress:
            progress(SweepProgress(len(todo) + checking, state["done"], len(cells) - len(todo),
                                   state["failed"], current, step, steps, checking))

    report()
    for run_config, run_data, runs in ((config, data, todo), *((c.config, c.data, runs) for c, runs in check_todo)):
        for record in make_engine(run_config).run(run_config, run_data, runs, on_step=report):
            state["done"] += 1
            state["failed"] += record["status"] != "ok"
            if run_data is data:
                counts["finished"] += 1
            else:  # name the grid run it checks, so runs/ explains itself
                store.write({**record, "convergence_check_of": checked[record["run_id"]]})
            store.write_curves(data.protocol, data.scenario)
            report()
    if checking:
        _write_config(described, data, _convergence(config, data, store))
    return store.write_curves(data.protocol, data.scenario)


def _recorded_grid(config: SweepConfig, data: SweepData, store: RunStore) -> SweepConfig:
    """``config`` with its fractions, sizes, depths and seeds widened to every run of its protocol recorded in
    ``out``, so a narrower rerun does not describe fewer runs than the curves table holds. A recorded run is
    described by its fraction while that fraction of the pool still gives its size, else by its size (the pool
    grew)."""
    recorded = store.records(data.protocol)
    n_pool = len(data.splits.pool)
    asked = {subset_size(n_pool, f) for f in config.fractions} | set(config.sizes)
    more = {r["n_train"]: r["fraction"] for r in recorded if r["n_train"] not in asked}
    same = {n: f for n, f in more.items() if f is not None and subset_size(n_pool, f) == n}
    return replace(config, fractions=[*config.fractions, *same.values()],
                   sizes=[*config.sizes, *(n for n in more if n not in same)],
                   depths=[*config.depths, *(r["depth"] for r in recorded)],
                   seeds=[*config.seeds, *(r["seed"] for r in recorded)])


@dataclass(frozen=True)
class _Check:
    """One convergence check: ``runs``, cells of the grid trained again under ``config`` (twice their steps), whose
    protocol is ``data.protocol``; ``kind`` is ``"largest"`` or ``"floor"``."""

    kind: str
    config: SweepConfig
    data: SweepData
    runs: list[ResolvedRun]


def _convergence_checks(config: SweepConfig, data: SweepData) -> list[_Check]:
    """The convergence checks, for the first seed and each depth: the largest training set, and the largest whose
    budget the step floor sets (``train.steps``, where it exceeds ``train.min_epochs`` passes) when that is another
    set, each under a protocol with twice the steps that set's runs get (its own run ids, so its runs never enter the
    curves table). Twice the steps at the largest size says nothing about the sizes the floor trains; a floor too
    low bends the curve's middle as a budget too low bends its end."""
    first = sorted((cell for cell in config.cells() if (cell.depth, cell.seed) == (config.depths[0], config.seeds[0])),
                   key=lambda cell: len(data.subset(cell)))
    at_floor = [cell for cell in first if config.train.steps_for(len(data.subset(cell))) == config.train.steps]
    wanted = {"largest": first[-1]}
    if at_floor and at_floor[-1] != first[-1]:
        wanted["floor"] = at_floor[-1]
    checks = []
    for kind, cell in wanted.items():
        (grid,) = resolve_runs(config, data, [cell])
        check = replace(config, train=replace(config.train, steps=2 * grid.steps, min_epochs=0.0))
        check_data = replace(data, protocol=sweep_protocol(data.dataset, data.history, check, data.start))
        cells = [replace(cell, depth=depth) for depth in config.depths] if config.check_convergence else []
        checks.append(_Check(kind, check, check_data, resolve_runs(check, check_data, cells)))
    return checks


def _grid_runs(config: SweepConfig, data: SweepData, checks: list[ResolvedRun]) -> list[ResolvedRun]:
    """The grid runs that convergence checks check: the same cells under the sweep's own protocol."""
    return resolve_runs(config, data, [check.cell for check in checks])


def _convergence(config: SweepConfig, data: SweepData, store: RunStore) -> dict[str, Any]:
    """The convergence checks' outcome for ``config.json``: per depth the Dice of the largest training set at its
    steps and at twice as many (``depths``), the same at the largest set the step floor trains (``floor``, when
    checked), and ``converged`` over both (``None`` until every check has a Dice).

    Without ``config.check_convergence``, the checks an earlier sweep of the same grid recorded in ``out`` (say, of
    seed 0 before more seeds were added) are reported, so the verdict is not lost with the flag."""
    found = {check.kind: outcome for check in _convergence_checks(config, data)
             if (outcome := _check_outcome(config, data, store, check)) is not None}
    if "largest" not in found:
        return {"checked": False, "converged": None}
    changes = [entry["change"] for outcome in found.values() for entry in outcome["depths"]]
    converged = None if None in changes else all(abs(c) < CONVERGENCE_TOLERANCE for c in changes)
    floor = {"floor": found["floor"]} if "floor" in found else {}
    return {"checked": True, "converged": converged, "tolerance": CONVERGENCE_TOLERANCE, **found["largest"], **floor}


def _check_outcome(config: SweepConfig, data: SweepData, store: RunStore, check: _Check) -> dict[str, Any] | None:
    """One check's cell, steps and per-depth Dice at those steps and at twice as many (``None`` when it has no runs:
    not asked for now, nor recorded by an earlier sweep of the same grid)."""
    runs = check.runs or resolve_runs(check.config, check.data, sorted(
        {Cell(r["fraction"], r["depth"], r["seed"], r["n_train"]) for r in store.records(check.data.protocol)},
        key=lambda cell: (cell.depth, cell.seed)))
    if not runs:
        return None
    by_protocol = {protocol: {r["run_id"]: r for r in store.records(protocol)}
                   for protocol in (data.protocol, check.data.protocol)}
    depths = []
    for again, grid in zip(runs, _grid_runs(config, data, runs)):
        run = by_protocol[data.protocol].get(grid.run_id, {})
        rerun = by_protocol[check.data.protocol].get(again.run_id, {})
        dice, check_dice = run.get("dice"), rerun.get("dice")
        change = None if dice is None or check_dice is None else round(check_dice - dice, 6)
        depths.append({"depth": again.cell.depth, "dice": dice, "dice_at_double_steps": check_dice, "change": change,
                       "run_id": run.get("run_id"), "check_run_id": rerun.get("run_id")})
    return {"fraction": runs[0].cell.fraction, "seed": runs[0].cell.seed, "n_train": len(runs[0].train_ids),
            "steps": check.config.train.steps // 2, "double_steps": check.config.train.steps, "depths": depths}


def environment(device: str, threads: int) -> dict[str, Any]:
    """Package versions and the machine a sweep ran on, for the record beside its results.

    ``device`` is where runs train: ``cpu`` or ``cuda`` in this process, or e.g. ``cluster:auto`` when each run
    picks its device on a cluster node (each run's record names its own device and precision); ``threads`` is the
    CPU threads each run (fused group, worker process) trains with.
    """
    packages = package_versions(("samplecast", "torch", "monai", "lightning", "numpy", "pandas", "submitit"))
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
               "torch_threads": threads, "device": device}
    if device in ("cpu", "cuda"):
        machine["precision"] = precision_for(device)
    if device == "cuda" and torch.cuda.is_available():
        machine["gpu"] = torch.cuda.get_device_name()
    return {"packages": packages, "machine": machine}


def _write_config(config: SweepConfig, data: SweepData, convergence: dict[str, Any]) -> None:
    dataset = data.dataset
    device = resolve_device(config.device) if config.engine != "submitit" else f"cluster:{config.device}"
    record = {
        "config": config.to_dict(),
        "protocol_id": data.protocol,
        "dataset": {"name": dataset.name, "source": str(dataset.source), "cases": len(dataset.case_ids),
                    "shape": list(dataset.images.shape[1:]), "pool": len(data.splits.pool),
                    "val": len(data.splits.val), "test": len(data.splits.test), "rounds": data.history.rounds,
                    "checksums": data.history.checksums},
        "convergence": convergence,
        **environment(device, config.threads or torch.get_num_threads()),
    }
    put_text(config.out / CONFIG_FILE, json.dumps(record, indent=1) + "\n")
