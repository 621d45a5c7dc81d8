"""From a sweep config to finished runs: load and check the data once, then train and record one cell at a time.

:func:`load_sweep_data` does every check before any training (configuration, dataset, fractions against the pool)
and raises one :class:`~samplecast.errors.InputError` with all problems. :func:`run_cell` trains one cell and writes
its record, :func:`run_group` trains cells of one depth as one fused group and writes each record as it is final;
:func:`run_cell_job` is :func:`run_cell` for a fresh process (a cluster job), reading the cached dataset.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from samplecast import __version__
from samplecast.data import FORMATS, SegmentationDataset, load_dataset
from samplecast.data.splits import Splits, check_fractions, nested_subset, split_cases, subset_size
from samplecast.errors import InputError, raise_if_any
from samplecast.train.config import Cell, SweepConfig, TrainSettings, dataset_key, protocol_id, run_id, size_problems
from samplecast.train.model import MODEL_NAME
from samplecast.train.fused import GroupRun, fit_and_test_group
from samplecast.train.runner import RunOutcome, StepCallback, fit_and_test, release_memory, resolve_device
from samplecast.train.store import RunStore


#: Most of a GPU's memory one process's copy of the dataset may take; the rest is for the model's activations.
GPU_SHARE = 0.5


@dataclass(frozen=True)
class SweepData:
    """A checked dataset with its fixed splits, as tensors (on the CPU, or moved once to the training device).

    Args:
        dataset: the loaded dataset.
        splits: its fixed pool / validation / test split.
        protocol: the protocol id shared by every run of the sweep on this dataset.
        images, masks: all cases, in ``dataset.case_ids`` order.
    """

    dataset: SegmentationDataset
    splits: Splits
    protocol: str
    images: torch.Tensor
    masks: torch.Tensor

    def to(self, device: str) -> SweepData:
        """The same data with its tensors on ``device``."""
        return replace(self, images=self.images.to(device), masks=self.masks.to(device))

    @property
    def nbytes(self) -> int:
        """Memory the images and masks take."""
        return self.images.nbytes + self.masks.nbytes

    def for_training_on(self, device: str, *, share: float = GPU_SHARE,
                        gpu_memory: int | None = None) -> SweepData:
        """The data where training on ``device`` reads it fastest: on the GPU when it takes at most ``share`` of the
        GPU's memory (``gpu_memory`` bytes; default: the current GPU's), otherwise left in CPU memory, from where
        each batch is copied to the GPU, so a large 3D dataset still trains instead of running out of memory."""
        if device != "cuda":
            return self.to(device)
        total = gpu_memory if gpu_memory is not None else torch.cuda.get_device_properties(0).total_memory
        if self.nbytes <= share * total:
            return self.to(device)
        warnings.warn(f"{self.dataset.name}: the dataset takes {self.nbytes / 2**30:.1f} GiB, more than "
                      f"{share:.0%} of the GPU's {total / 2**30:.0f} GiB; it stays in CPU memory and each batch is "
                      "copied to the GPU (slower)", RuntimeWarning, stacklevel=2)
        return self

    def positions(self, case_ids: list[str]) -> torch.Tensor:
        """Where ``case_ids`` lie in :attr:`images`, as a long tensor on the tensors' device."""
        position = {case_id: i for i, case_id in enumerate(self.dataset.case_ids)}
        return torch.tensor([position[c] for c in case_ids], dtype=torch.long, device=self.images.device)

    def pick(self, case_ids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and masks of ``case_ids``, gathered on the tensors' device."""
        index = self.positions(case_ids)
        return self.images.index_select(0, index), self.masks.index_select(0, index)

    def subset(self, cell: Cell) -> list[str]:
        """The training cases of ``cell``: a prefix of the pool permuted by the cell's seed."""
        return nested_subset(self.splits.pool, cell.fraction, cell.seed)


def load_sweep_data(config: SweepConfig, progress: Callable[[int, int], None] | None = None) -> SweepData:
    """Check the configuration, load the dataset (through the loader's cache), split it and check the fractions.

    ``progress(done, total)`` is passed to :func:`samplecast.data.load_dataset`.

    Raises:
        InputError: every problem found, configuration and dataset together, before anything is trained.
    """
    problems = config.problems()
    if config.engine in ("local", "fused") and config.device == "cuda" and not torch.cuda.is_available():
        problems.append("device 'cuda' was requested but no CUDA GPU is available here; use --device auto or cpu")
    if config.format not in FORMATS:  # the loader cannot run on an unknown layout
        raise InputError(problems)
    try:
        dataset = load_dataset(config.data, format=config.format, label=config.label,
                               image_size=config.image_size, progress=progress)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    if config.image_size is None:
        problems += size_problems(dataset.images.shape[2:], config.depths)
    raise_if_any(problems)  # fractions are checked against the pool once the options are valid
    try:
        splits = split_cases(dataset.case_ids, test_fraction=config.test_fraction,
                             val_fraction=config.val_fraction, seed=config.split_seed)
        check_fractions(len(splits.pool), config.fractions)
    except InputError as exc:
        raise InputError([f"{config.data}: {line}" for line in exc.problems]) from None
    key = dataset_key(dataset.name, dataset.case_ids, dataset.images.shape[1:])
    return SweepData(dataset, splits, protocol_id(key, config.protocol()),
                     torch.from_numpy(np.ascontiguousarray(dataset.images)),
                     torch.from_numpy(np.ascontiguousarray(dataset.masks)))


def run_cell(config: SweepConfig, data: SweepData, cell: Cell, *, device: str,
             on_step: StepCallback | None = None) -> dict[str, Any]:
    """Train and test one cell on ``device`` and store its record in ``out/runs/<run_id>.json``; return the record.

    The run's step budget grows with its training set as ``config.train`` says (:meth:`TrainSettings.for_size`).
    A run that fails (its loss diverges, it runs out of memory, any other error) is recorded with status ``failed``
    and its reason, so the sweep goes on and the run is not retried; delete its record to run it again.
    """
    record = new_record(config, data, cell, device=device, group_size=1)
    started = time.perf_counter()
    try:
        outcome = fit_and_test(data.pick(data.subset(cell)), data.pick(data.splits.val), data.pick(data.splits.test),
                               depth=cell.depth, seed=cell.seed, settings=settings_for(config, data, cell),
                               device=device, on_step=on_step)
    except Exception as exc:  # noqa: BLE001 - any run's failure is recorded and the sweep goes on
        return finish_record(config, data, record, exc, time.perf_counter() - started)
    return finish_record(config, data, record, outcome, outcome.wall_s)


def settings_for(config: SweepConfig, data: SweepData, cell: Cell) -> TrainSettings:
    """How ``cell`` trains: the sweep's settings with the step budget resolved for its training-set size."""
    return config.train.for_size(subset_size(len(data.splits.pool), cell.fraction))


def run_group(config: SweepConfig, data: SweepData, cells: list[Cell], *, device: str,
              on_step: StepCallback | None = None) -> Iterator[dict[str, Any]]:
    """Train ``cells`` (of one depth and one step budget) as one fused group
    (:func:`~samplecast.train.fused.fit_and_test_group`) and yield each run's record as soon as it is final and
    stored.

    A run that diverges is recorded ``failed`` and the others go on. When the group runs out of memory, its
    unfinished runs are split in two halves that train one after the other (down to single runs, which are then
    recorded ``failed``); runs already recorded are never trained again. Any other error fails the group's
    unfinished runs, recorded with their reason, and the sweep goes on.
    """
    settings = {settings_for(config, data, cell) for cell in cells}
    if len({cell.depth for cell in cells}) != 1 or len(settings) != 1:
        raise ValueError("a fused group trains runs of one depth and one step budget, got "
                         f"depths {sorted({c.depth for c in cells})}, steps {sorted(s.steps for s in settings)}")
    records = [new_record(config, data, cell, device=device, group_size=len(cells)) for cell in cells]
    runs = [GroupRun(data.positions(data.subset(cell)), cell.seed) for cell in cells]
    started, finished = time.perf_counter(), set()
    try:
        for k, result in fit_and_test_group(data.images, data.masks, runs, data.pick(data.splits.val),
                                            data.pick(data.splits.test), depth=cells[0].depth,
                                            settings=settings.pop(), device=device, on_step=on_step):
            finished.add(k)
            yield finish_record(config, data, records[k], result, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - the group's failure is recorded (or split, when out of memory)
        rest = [k for k in range(len(cells)) if k not in finished]
        release_memory(device)
        if not isinstance(exc, torch.OutOfMemoryError) or len(rest) == 1:
            for k in rest:
                yield finish_record(config, data, records[k], exc, time.perf_counter() - started)
            return
        half = len(rest) // 2
        for part in (rest[:half], rest[half:]):
            yield from run_group(config, data, [cells[k] for k in part], device=device, on_step=on_step)


def new_record(config: SweepConfig, data: SweepData, cell: Cell, *, device: str, group_size: int) -> dict[str, Any]:
    """The record of a run about to start: what it trains, on what, under which protocol and engine."""
    train_ids, splits, settings = data.subset(cell), data.splits, settings_for(config, data, cell)
    return {
        "dataset": data.dataset.name, "model": MODEL_NAME, "depth": cell.depth, "seed": cell.seed,
        "fraction": cell.fraction, "n_train": len(train_ids), "dice": None, "dice_sd": None,
        "n_test": len(splits.test), "steps": settings.steps,
        "epochs": round(settings.steps * settings.batch_size / len(train_ids), 3), "wall_s": None,
        "status": "ok", "run_id": run_id(data.protocol, cell),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "protocol_id": data.protocol, "protocol": config.protocol(), "n_val": len(splits.val),
        "device": device, "engine": config.engine, "group_size": group_size, "samplecast_version": __version__,
    }


def finish_record(config: SweepConfig, data: SweepData, record: dict[str, Any],
                  result: RunOutcome | BaseException, wall_s: float) -> dict[str, Any]:
    """Complete ``record`` with a run's outcome, or with the error that failed it, store it and return it.

    ``wall_s`` is the seconds the run (or its fused group) took; a fused group's time is shared equally by its
    runs, so the ``wall_s`` of a sweep's records add up to the sweep's training time.
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
    RunStore(config.out).write(record)
    return record


def run_cell_job(config: dict[str, Any], cell: Cell) -> dict[str, Any]:
    """:func:`run_cell` in a fresh process: rebuild the config, reload the cached dataset, pick the device."""
    sweep = SweepConfig.from_dict(config)
    device = resolve_device(sweep.device)
    return run_cell(sweep, load_sweep_data(sweep).for_training_on(device), cell, device=device)
