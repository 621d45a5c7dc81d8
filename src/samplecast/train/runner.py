"""One training run, start to finish: seed, build, fit under a quiet Lightning ``Trainer``, test, release memory."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch

from samplecast.train.augment import BatchAugment
from samplecast.train.batches import InOrder, RandomBatches
from samplecast.train.config import TrainSettings
from samplecast.train.model import build_unet
from samplecast.train.module import SegmentationModule

Pair = tuple[torch.Tensor, torch.Tensor]
#: Called as ``on_step(step, total_steps)`` as optimiser steps finish (a few times per second).
StepCallback = Callable[[int, int], None]
_EVAL_BATCH = 32


@dataclass(frozen=True)
class RunOutcome:
    """What one run measured.

    Args:
        test_dice: Dice of each test case, in the order given, shape ``(n_test,)``.
        best_val_dice: mean validation Dice of the weights used for testing (``nan`` without validation data).
        best_step: the step those weights come from (``None`` without validation data: the last weights are used).
        wall_s: seconds from building the model to the end of testing.
        precision: the Lightning precision the run used, e.g. ``32-true`` or ``bf16-mixed``.
        train_loss: the training loss of every step, shape ``(steps,)``.
    """

    test_dice: np.ndarray
    best_val_dice: float
    best_step: int | None
    wall_s: float
    precision: str
    train_loss: np.ndarray


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a CUDA GPU is usable, else ``cpu``; ``cpu``/``cuda`` are returned as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu or auto")
    return device


def precision_for(device: str) -> str:
    """``bf16-mixed`` on GPUs that support it (Ampere and later), full float32 elsewhere."""
    return "bf16-mixed" if device == "cuda" and torch.cuda.is_bf16_supported() else "32-true"


def fit_and_test(train: Pair, val: Pair, test: Pair, *, depth: int, seed: int, settings: TrainSettings,
                 device: str, on_step: StepCallback | None = None) -> RunOutcome:
    """Train a residual U-Net of ``depth`` levels on ``train`` for ``settings.steps`` steps, keep the weights with the
    best validation Dice, and return the per-case Dice on ``test``.

    ``train``, ``val`` and ``test`` are ``(images, masks)`` tensors, ideally already on ``device`` (``cpu`` or
    ``cuda``); ``val`` may hold no cases, in which case the final weights are tested. On the CPU the run is
    deterministic: the same inputs and ``seed`` give the same Dice.

    Raises:
        TrainingDiverged: when the training loss became NaN or infinite.
    """
    started = time.perf_counter()
    train, val, test = ([t.to(device) for t in pair] for pair in (train, val, test))
    L.seed_everything(seed, verbose=False)
    module = build_module(train[0], depth, settings)
    with quiet_lightning():
        trainer = build_trainer(settings, device, callbacks=[_StepReporter(on_step)] if on_step else [])
        try:
            trainer.fit(
                module,
                train_dataloaders=RandomBatches(*train, batch_size=settings.batch_size, seed=seed),
                val_dataloaders=InOrder(*val, _EVAL_BATCH) if len(val[0]) else None,
            )
            trainer.test(module, dataloaders=InOrder(*test, _EVAL_BATCH), verbose=False)
            return RunOutcome(module.test_dice_, module.best_val_dice_, module.best_step_,
                              time.perf_counter() - started, trainer.precision,
                              torch.stack(module.train_losses_).float().cpu().numpy())
        finally:
            del trainer, module
            release_memory(device)


def release_memory(device: str) -> None:
    """Give the memory of finished runs back (to the GPU's other users, too)."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def build_module(images: torch.Tensor, depth: int, settings: TrainSettings) -> SegmentationModule:
    """A freshly initialised module for ``images`` shaped like ``(N, C, *spatial)`` (seed the RNG first)."""
    return SegmentationModule(
        build_unet(images.ndim - 2, images.shape[1], depth), total_steps=settings.steps, lr=settings.lr,
        weight_decay=settings.weight_decay, warmup=settings.warmup,
        augment=BatchAugment(flip_prob=settings.flip_prob, brightness=settings.brightness,
                             contrast=settings.contrast),
    )


def build_trainer(settings: TrainSettings, device: str, callbacks: list[L.Callback]) -> L.Trainer:
    """A quiet Trainer for one run: the step budget, validation every ``settings.val_interval`` steps (when
    validation data is given), no logger files, checkpoints or progress bar; deterministic on the CPU, bf16 mixed
    precision on GPUs that support it. Build it inside :func:`quiet_lightning` to skip its start-up messages."""
    return L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        precision=precision_for(device),
        max_steps=settings.steps,
        val_check_interval=min(settings.val_interval, settings.steps),
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        deterministic=device == "cpu",
        benchmark=device == "cuda",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )


def throttled(on_step: StepCallback, interval_s: float = 0.25) -> StepCallback:
    """``on_step`` called at most every ``interval_s`` seconds, and always for the last step: a progress display
    then costs the training loop nothing, however short its steps."""
    last = [float("-inf")]

    def report(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= interval_s or step >= total:
            last[0] = now
            on_step(step, total)

    return report


class _StepReporter(L.Callback):
    """Reports finished optimiser steps, a few times per second, to a plain callable (the sweep's progress display)."""

    def __init__(self, on_step: StepCallback):
        self.on_step = throttled(on_step)

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        self.on_step(trainer.global_step, trainer.max_steps)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's start-up chatter (devices available, tips) for the duration; warnings stay visible."""
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated")  # Lightning on newer torch
            warnings.filterwarnings("ignore", message=".*but have no `val_dataloader`.*")  # no validation cases
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
