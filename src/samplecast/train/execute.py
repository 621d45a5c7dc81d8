"""From a sweep config to finished runs: load and check the data once, then train and record one cell at a time.

:func:`load_sweep_data` does every check before any training (configuration, dataset, fractions against the pool)
and raises one :class:`~samplecast.errors.InputError` with all problems. :func:`run_cell` trains one cell and writes
its record; :func:`run_cell_job` is the same for a fresh process (a cluster job), reading the cached dataset.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from samplecast import __version__
from samplecast.data import FORMATS, SegmentationDataset, load_dataset
from samplecast.data.splits import Splits, check_fractions, nested_subset, split_cases
from samplecast.errors import InputError, raise_if_any
from samplecast.train.config import Cell, SweepConfig, dataset_key, protocol_id, run_id, size_problems
from samplecast.train.model import MODEL_NAME
from samplecast.train.runner import StepCallback, fit_and_test, resolve_device
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

    def pick(self, case_ids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and masks of ``case_ids``, gathered on the tensors' device."""
        position = {case_id: i for i, case_id in enumerate(self.dataset.case_ids)}
        index = torch.tensor([position[c] for c in case_ids], dtype=torch.long, device=self.images.device)
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
    if config.engine == "local" and config.device == "cuda" and not torch.cuda.is_available():
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
    started_at, started = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    train_ids, splits = data.subset(cell), data.splits
    settings = config.train.for_size(len(train_ids))
    record: dict[str, Any] = {
        "dataset": data.dataset.name, "model": MODEL_NAME, "depth": cell.depth, "seed": cell.seed,
        "fraction": cell.fraction, "n_train": len(train_ids), "dice": None, "dice_sd": None,
        "n_test": len(splits.test), "steps": settings.steps,
        "epochs": round(settings.steps * settings.batch_size / len(train_ids), 3), "wall_s": None,
        "status": "ok", "run_id": run_id(data.protocol, cell), "started_at": started_at,
        "protocol_id": data.protocol, "protocol": config.protocol(), "n_val": len(splits.val),
        "device": device, "samplecast_version": __version__,
    }
    try:
        outcome = fit_and_test(data.pick(train_ids), data.pick(splits.val), data.pick(splits.test),
                               depth=cell.depth, seed=cell.seed, settings=settings, device=device, on_step=on_step)
    except Exception as exc:  # noqa: BLE001 - any run's failure is recorded and the sweep goes on
        reason = (str(exc).strip().splitlines() or [""])[0]
        record.update(status="failed", error=f"{type(exc).__name__}: {reason}",
                      wall_s=round(time.perf_counter() - started, 2))
    else:
        dice = outcome.test_dice.astype(float)
        record.update(
            dice=float(dice.mean()), dice_sd=float(dice.std(ddof=1)) if dice.size > 1 else None,
            wall_s=round(outcome.wall_s, 2), val_dice=outcome.best_val_dice, best_step=outcome.best_step,
            precision=outcome.precision, test_dice=dict(zip(splits.test, dice.round(6).tolist())),
        )
    RunStore(config.out).write(record)
    return record


def run_cell_job(config: dict[str, Any], cell: Cell) -> dict[str, Any]:
    """:func:`run_cell` in a fresh process: rebuild the config, reload the cached dataset, pick the device."""
    sweep = SweepConfig.from_dict(config)
    device = resolve_device(sweep.device)
    return run_cell(sweep, load_sweep_data(sweep).for_training_on(device), cell, device=device)
