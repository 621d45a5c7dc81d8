"""From cells to recorded runs: each run resolved once (:class:`ResolvedRun`: its training cases, step budget, epochs
and ids), trained by a loop, and its record stored.

:func:`resolve_runs` is the one place a run's budget and id are computed; engines receive resolved runs and only
schedule them. :func:`train_one` trains one run in this process (:mod:`~samplecast.train.loops.lightning`),
:func:`train_fused` trains runs of one depth and budget as one fused group (:mod:`~samplecast.train.loops.vmap`) and
writes each record as it is final; :func:`train_one_job` is :func:`train_one` for a fresh process (a cluster job),
reading the cached dataset.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import torch

from samplecast import __version__
from samplecast.train.config import Cell, SweepConfig, TrainSettings, run_id
from samplecast.train.device import release_memory, resolve_device
from samplecast.train.inputs import SweepData, load_sweep_data, sweep_protocol
from samplecast.train.loops.outcome import RunOutcome, StepCallback
from samplecast.train.loops.vmap import GroupRun, fit_and_test_group
from samplecast.train.start import WEIGHTS_DIR, save_weights
from samplecast.train.store import RunStore
from samplecast.train.unet import MODEL_NAME


@dataclass(frozen=True)
class ResolvedRun:
    """One run of a sweep, everything about it resolved once: what it trains on, for how long, and its identity.

    Args:
        cell: the grid point (fraction or size, depth, seed) as asked.
        run_id: the run's identity (:func:`~samplecast.train.config.run_id`), the name of its record.
        protocol_id: the identity of the dataset and protocol the run shares with its sweep.
        train_ids: the training cases, a prefix of the pool permuted by the cell's seed.
        settings: the sweep's training settings with the step budget resolved for ``len(train_ids)`` cases
            (:meth:`TrainSettings.for_size`).
    """

    cell: Cell
    run_id: str
    protocol_id: str
    train_ids: tuple[str, ...]
    settings: TrainSettings

    @property
    def steps(self) -> int:
        """Optimiser steps of the run."""
        return self.settings.steps

    @property
    def epochs(self) -> float:
        """Passes over the training cases those steps make."""
        return round(self.settings.steps * self.settings.batch_size / len(self.train_ids), 3)


def resolve_runs(config: SweepConfig, data: SweepData, cells: Sequence[Cell]) -> list[ResolvedRun]:
    """The runs of ``cells`` under ``config`` on ``data``, in order.

    A run is its depth, seed and training-set size: a cell giving the size of a run recorded in ``config.out``
    under the same protocol is that run (its id and record are reused). Otherwise a fraction of the first version's
    pool keeps the id it always had, and any other cell is named by its size (a fraction of a grown pool is not).
    """
    recorded = {(r["depth"], r["seed"], r["n_train"]): r["run_id"] for r in RunStore(config.out).records(data.protocol)}
    grown = len(data.history.rounds) > 1
    runs = []
    for cell in cells:
        train_ids = tuple(data.subset(cell))
        named = replace(cell, size=len(train_ids)) if grown else cell
        identity = recorded.get((cell.depth, cell.seed, len(train_ids))) or run_id(data.protocol, named)
        runs.append(ResolvedRun(cell, identity, data.protocol, train_ids, config.train.for_size(len(train_ids))))
    return runs


def reuse_identical_runs(config: SweepConfig, data: SweepData, store: RunStore,
                         runs: Sequence[ResolvedRun]) -> list[ResolvedRun]:
    """Record, under their own ids, the ``runs`` that a sweep of another minimum of epochs already trained with the
    same resolved settings, and return the others (those still to train).

    Raising ``min_epochs`` changes the protocol, so every run gets a new id, but it changes the step budget of the
    large sizes only: a run whose data, depth, seed, size and step budget are those of a finished run of the same
    protocol save its ``min_epochs`` would train the same model. That run's record is copied under the new id, with
    ``reused_from`` naming it, so only the runs whose budget grew train again.
    """
    if not runs:
        return []
    records = store.records()  # read once: every protocol's records are looked through
    by_protocol: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_protocol.setdefault(record.get("protocol_id"), []).append(record)
    twins: dict[tuple[Any, ...], dict[str, Any]] = {}
    for budget in {_min_epochs(record) for record in records} - {None}:
        other = replace(config, train=replace(config.train, min_epochs=budget))
        protocol = sweep_protocol(data.dataset, data.history, other, data.start)
        if protocol == data.protocol:
            continue
        for record in by_protocol.get(protocol, []):
            if record.get("status") == "ok":
                twins[record.get("depth"), record.get("seed"), record.get("n_train"), record.get("steps")] = record
    left = []
    for run in runs:
        twin = twins.get((run.cell.depth, run.cell.seed, len(run.train_ids), run.steps))
        if twin is None:
            left.append(run)
            continue
        store.write({**twin, "run_id": run.run_id, "protocol_id": run.protocol_id, "protocol": config.protocol(),
                     "reused_from": twin["run_id"]})
    return left


def _min_epochs(record: dict[str, Any]) -> float | None:
    """The ``min_epochs`` a record's protocol holds, as written (its protocol id hashes ``2`` and ``2.0`` apart; 0
    where the protocol leaves it out), or ``None`` for a record whose protocol is not one (edited by hand)."""
    protocol = record.get("protocol")
    train = protocol.get("train") if isinstance(protocol, dict) else None
    budget = train.get("min_epochs", 0.0) if isinstance(train, dict) else None
    return budget if isinstance(budget, (int, float)) and not isinstance(budget, bool) else None


def train_one(config: SweepConfig, data: SweepData, run: ResolvedRun, *, device: str,
              on_step: StepCallback | None = None) -> dict[str, Any]:
    """Train and test one run on ``device`` and store its record in ``out/runs/<run_id>.json``; return the record.

    A run that fails (its loss diverges, it runs out of memory, any other error) is recorded with status ``failed``
    and its reason, so the sweep goes on and the run is not retried; delete its record to run it again.
    """
    from samplecast.train.loops.lightning import fit_and_test  # here: the fused engine never loads Lightning

    record = new_record(config, data, run, device=device, group_size=1)
    started = time.perf_counter()
    try:
        outcome = fit_and_test(data.pick(list(run.train_ids)), data.pick(data.splits.val),
                               data.pick(data.splits.test), depth=run.cell.depth, seed=run.cell.seed,
                               settings=run.settings, device=device, on_step=on_step,
                               **_start_of(data, run.cell.depth))
    except Exception as exc:  # noqa: BLE001 - any run's failure is recorded and the sweep goes on
        return finish_record(config, data, record, exc, time.perf_counter() - started)
    return finish_record(config, data, record, outcome, outcome.wall_s)


def train_fused(config: SweepConfig, data: SweepData, runs: list[ResolvedRun], *, device: str,
                on_step: StepCallback | None = None) -> Iterator[dict[str, Any]]:
    """Train ``runs`` (of one depth and one step budget) as one fused group
    (:func:`~samplecast.train.loops.vmap.fit_and_test_group`) and yield each run's record as soon as it is final and
    stored.

    A run that diverges is recorded ``failed`` and the others go on. When the group runs out of memory, its
    unfinished runs are split in two halves that train one after the other (down to single runs, which are then
    recorded ``failed``); runs already recorded are never trained again. Any other error fails the group's
    unfinished runs, recorded with their reason, and the sweep goes on.
    """
    settings = {run.settings for run in runs}
    if len({run.cell.depth for run in runs}) != 1 or len(settings) != 1:
        raise ValueError("a fused group trains runs of one depth and one step budget, got "
                         f"depths {sorted({r.cell.depth for r in runs})}, steps {sorted(s.steps for s in settings)}")
    records = [new_record(config, data, run, device=device, group_size=len(runs)) for run in runs]
    members = [GroupRun(data.positions(list(run.train_ids)), run.cell.seed) for run in runs]
    started, finished = time.perf_counter(), set()
    try:
        for k, result in fit_and_test_group(data.images, data.masks, members, data.pick(data.splits.val),
                                            data.pick(data.splits.test), depth=runs[0].cell.depth,
                                            settings=settings.pop(), device=device, on_step=on_step,
                                            **_start_of(data, runs[0].cell.depth)):
            finished.add(k)
            yield finish_record(config, data, records[k], result, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - the group's failure is recorded (or split, when out of memory)
        rest = [k for k in range(len(runs)) if k not in finished]
        release_memory(device)
        if not isinstance(exc, torch.OutOfMemoryError) or len(rest) == 1:
            for k in rest:
                yield finish_record(config, data, records[k], exc, time.perf_counter() - started)
            return
        half = len(rest) // 2
        for part in (rest[:half], rest[half:]):
            yield from train_fused(config, data, [runs[k] for k in part], device=device, on_step=on_step)


def _start_of(data: SweepData, depth: int) -> dict[str, Any]:
    """The loops' ``start`` and ``encoder_lr`` for runs of ``depth`` (nothing for runs from random weights)."""
    if data.start is None:
        return {}
    return {"start": data.start.by_depth[depth].state, "encoder_lr": data.start.encoder_lr}


def new_record(config: SweepConfig, data: SweepData, run: ResolvedRun, *, device: str,
               group_size: int) -> dict[str, Any]:
    """The record of a run about to start: what it trains, on what, from which weights, under which protocol and
    engine."""
    cell, splits, n_train = run.cell, data.splits, len(run.train_ids)
    fraction = cell.fraction if cell.size is None else round(n_train / len(splits.pool), 6)
    start = {} if data.start is None else {"start": {**data.start.by_depth[cell.depth].record(),
                                                     "encoder_lr": data.start.encoder_lr}}
    return {
        "dataset": data.dataset.name, "model": MODEL_NAME, "scenario": data.scenario, **start,
        "depth": cell.depth, "seed": cell.seed,
        "fraction": fraction, "n_train": n_train, "pool_version": data.history.pool_version(n_train),
        "pool": len(splits.pool), "dice": None, "dice_sd": None,
        "n_test": len(splits.test), "steps": run.steps, "epochs": run.epochs, "wall_s": None,
        "status": "ok", "run_id": run.run_id, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "protocol_id": run.protocol_id, "protocol": config.protocol(), "n_val": len(splits.val),
        "device": device, "engine": config.engine, "group_size": group_size, "samplecast_version": __version__,
    }


def finish_record(config: SweepConfig, data: SweepData, record: dict[str, Any],
                  result: RunOutcome | BaseException, wall_s: float) -> dict[str, Any]:
    """Complete ``record`` with a run's outcome, or with the error that failed it, store it and return it.

    ``wall_s`` is the seconds the run (or its fused group) took; a fused group's time is shared equally by its
    runs, so the ``wall_s`` of a sweep's records add up to the sweep's training time. With ``config.keep_weights``
    the run's tested weights go to ``out/weights/<run_id>.pt`` first, named in the record with their checksum.
    """
    record = {**record, "wall_s": round(wall_s / record["group_size"], 2)}
    if record["group_size"] > 1:
        record["group_wall_s"] = round(wall_s, 2)
    if isinstance(result, BaseException):
        reason = (str(result).strip().splitlines() or [""])[0]
        record.update(status="failed", error=f"{type(result).__name__}: {reason}")
    else:
        dice = result.test_dice.astype(float)
        record.update(
            dice=float(dice.mean()), dice_sd=float(dice.std(ddof=1)) if dice.size > 1 else None,
            val_dice=result.best_val_dice, best_step=result.best_step, precision=result.precision,
            test_dice=dict(zip(data.splits.test, dice.round(6).tolist())),
        )
        if config.keep_weights and result.weights is not None:
            kept = f"{WEIGHTS_DIR}/{record['run_id']}.pt"
            meta = {"depth": record["depth"], "spatial_dims": data.images.ndim - 2,
                    "in_channels": int(data.images.shape[1]), "image_shape": list(data.images.shape[2:]),
                    **{k: record[k] for k in ("dataset", "scenario", "run_id", "seed", "n_train", "dice")}}
            record.update(weights=kept, weights_sha256=save_weights(config.out / kept, result.weights, meta))
    RunStore(config.out).write(record)
    return record


def train_one_job(config: dict[str, Any], run: ResolvedRun) -> dict[str, Any]:
    """:func:`train_one` in a fresh process: rebuild the config, reload the cached dataset, pick the device."""
    sweep = SweepConfig.from_dict(config)
    device = resolve_device(sweep.device)
    return train_one(sweep, load_sweep_data(sweep).for_training_on(device), run, device=device)
