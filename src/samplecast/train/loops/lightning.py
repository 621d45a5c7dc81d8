"""One run trained under Lightning: the module (residual U-Net, DiceCE loss, AdamW with warm-up and cosine decay,
per-case Dice), the loop (:func:`fit_and_test`: seed, build, fit, test, release memory) and the one builder of quiet
Lightning ``Trainer`` objects (:func:`build_trainer`, also used to train the forecaster's surrogate).

The module keeps the weights of its best validation check in memory (no checkpoint files) and restores them when
training ends, so testing always uses the best model seen. Test Dice is computed per case with MONAI's
:class:`~monai.metrics.DiceMetric` with ``ignore_empty=False``: a case whose ground truth is empty scores 1 when the
prediction is empty too and 0 otherwise, so every case contributes a number and no case is silently dropped.

Nothing here changes process-wide torch settings (threads, cuDNN autotuning, deterministic algorithms): the caller
chooses them.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from torch import nn

from samplecast.train.augment import BatchAugment
from samplecast.train.batches import InOrder, RandomBatches
from samplecast.train.config import TrainSettings
from samplecast.train.device import precision_for, release_memory
from samplecast.train.loops.outcome import Pair, RunOutcome, StepCallback, TrainingDiverged, throttled
from samplecast.train.loops.schedule import seed_all, warmup_cosine
from samplecast.train.start import parameter_groups
from samplecast.train.unet import build_unet

_EVAL_BATCH = 32


class SegmentationModule(L.LightningModule):
    """Binary segmentation with one logit channel: trains ``net``, tracks the best validation Dice, tests per case.

    Args:
        net: a network mapping ``(N, C, *spatial)`` images to ``(N, 1, *spatial)`` logits.
        total_steps: length of the learning-rate schedule (the run's step budget).
        lr: peak learning rate of AdamW.
        weight_decay: AdamW decoupled weight decay.
        warmup: fraction of ``total_steps`` spent raising the learning rate to ``lr``.
        augment: applied on the device to every training batch, with the draws the batch carries
            (:class:`~samplecast.train.batches.RandomBatches`); ``None`` trains on the images as they are.
        encoder_lr: the encoder's learning rate as a multiple of ``lr`` (0 freezes it;
            :func:`~samplecast.train.start.parameter_groups`).

    After ``Trainer.fit``: ``best_val_dice_`` and ``best_step_`` (``nan`` and ``None`` without validation data),
    ``val_history_`` as ``(step, dice)`` pairs, ``train_losses_`` (each step's loss, a tensor on the device).
    After ``Trainer.test``: ``test_dice_``, one Dice per test case.
    """

    def __init__(self, net: nn.Module, *, total_steps: int, lr: float = 2e-3, weight_decay: float = 1e-4,
                 warmup: float = 0.1, augment: BatchAugment | None = None, encoder_lr: float = 1.0):
        super().__init__()
        self.net = net
        self.augment = augment
        self.total_steps, self.lr, self.weight_decay, self.warmup = total_steps, lr, weight_decay, warmup
        self.encoder_lr = encoder_lr
        self.loss = DiceCELoss(sigmoid=True)
        self.dice = DiceMetric(include_background=True, reduction="none", ignore_empty=False)
        self.best_val_dice_ = float("nan")
        self.best_step_: int | None = None
        self.val_history_: list[tuple[int, float]] = []
        self.train_losses_: list[torch.Tensor] = []
        self.test_dice_ = np.empty(0)
        self._best_weights: dict[str, torch.Tensor] | None = None
        self._nonfinite_loss: torch.Tensor | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Foreground logits, same spatial shape as ``images``."""
        return self.net(images)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Masks to float; augmentation on the device with the batch's own draws, for training batches only."""
        images, masks, *draws = batch
        masks = masks.float()
        if draws and self.augment is not None:
            images, masks = self.augment(images, masks, draws[0])
        return images, masks

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, masks = batch
        loss = self.loss(self(images), masks)
        self.train_losses_.append(loss.detach())
        # Remember a non-finite loss without a host sync per step; checked at each validation and at the end.
        bad = ~torch.isfinite(loss.detach())
        self._nonfinite_loss = bad if self._nonfinite_loss is None else self._nonfinite_loss | bad
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        images, masks = batch
        self.dice(y_pred=(self(images) > 0).float(), y=masks)

    def on_validation_epoch_end(self) -> None:
        self._check_finite()
        score = float(self.dice.aggregate().mean())
        self.dice.reset()
        self.val_history_.append((self.global_step, score))
        if not score <= self.best_val_dice_:  # also true while best is nan
            self.best_val_dice_, self.best_step_ = score, self.global_step
            self._best_weights = {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def on_train_end(self) -> None:
        self._check_finite()
        if self._best_weights is not None:
            self.net.load_state_dict(self._best_weights)
            self._best_weights = None

    def test_step(self, batch, batch_idx: int) -> None:
        images, masks = batch
        self.dice(y_pred=(self(images) > 0).float(), y=masks)

    def on_test_epoch_end(self) -> None:
        self.test_dice_ = self.dice.aggregate()[:, 0].float().cpu().numpy()
        self.dice.reset()

    def configure_optimizers(self):
        groups = (self.net.parameters() if self.encoder_lr == 1
                  else parameter_groups(list(self.net.named_parameters()), self.lr, self.encoder_lr))
        optimizer = torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)
        schedule = warmup_cosine(optimizer, self.total_steps, self.warmup, self.lr)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def _check_finite(self) -> None:
        if self._nonfinite_loss is not None and bool(self._nonfinite_loss):
            raise TrainingDiverged(f"training loss became NaN or infinite by step {self.global_step}")


def fit_and_test(train: Pair, val: Pair, test: Pair, *, depth: int, seed: int, settings: TrainSettings,
                 device: str, on_step: StepCallback | None = None, start: dict[str, torch.Tensor] | None = None,
                 encoder_lr: float = 1.0) -> RunOutcome:
    """Train a residual U-Net of ``depth`` levels on ``train`` for ``settings.steps`` steps, keep the weights with the
    best validation Dice, and return the per-case Dice on ``test`` and those weights: the loop of one run.

    ``start`` is a state dict the network starts from instead of its random initialisation, and ``encoder_lr`` the
    encoder's learning rate as a multiple of the run's (:mod:`samplecast.train.start`).

    ``train``, ``val`` and ``test`` are ``(images, masks)`` tensors, ideally already on ``device`` (``cpu`` or
    ``cuda``); ``val`` may hold no cases, in which case the final weights are tested. On the CPU the run is
    deterministic: the same inputs and ``seed`` give the same Dice.

    Raises:
        TrainingDiverged: when the training loss became NaN or infinite.
    """
    started = time.perf_counter()
    train, val, test = ([t.to(device) for t in pair] for pair in (train, val, test))
    seed_all(seed)
    module = build_module(train[0], depth, settings, encoder_lr=encoder_lr)
    if start is not None:
        module.net.load_state_dict(start)
    with quiet_lightning():
        trainer = build_trainer(device=device, callbacks=[_StepReporter(on_step)] if on_step else [],
                                **run_limits(settings))
        try:
            trainer.fit(
                module,
                train_dataloaders=RandomBatches(*train, batch_size=settings.batch_size, seed=seed),
                val_dataloaders=InOrder(*val, _EVAL_BATCH) if len(val[0]) else None,
            )
            trainer.test(module, dataloaders=InOrder(*test, _EVAL_BATCH), verbose=False)
            return RunOutcome(module.test_dice_, module.best_val_dice_, module.best_step_,
                              time.perf_counter() - started, trainer.precision,
                              torch.stack(module.train_losses_).float().cpu().numpy(),
                              {k: v.detach().cpu().clone() for k, v in module.net.state_dict().items()})
        finally:
            del trainer, module
            release_memory(device)


def build_module(images: torch.Tensor, depth: int, settings: TrainSettings, *,
                 encoder_lr: float = 1.0) -> SegmentationModule:
    """A freshly initialised module for ``images`` shaped like ``(N, C, *spatial)`` (seed the RNG first)."""
    return SegmentationModule(
        build_unet(images.ndim - 2, images.shape[1], depth), total_steps=settings.steps, lr=settings.lr,
        weight_decay=settings.weight_decay, warmup=settings.warmup,
        augment=BatchAugment(flip_prob=settings.flip_prob, brightness=settings.brightness,
                             contrast=settings.contrast),
        encoder_lr=encoder_lr,
    )


def run_limits(settings: TrainSettings) -> dict[str, Any]:
    """The length and checks of one run's loop, for :func:`build_trainer`: ``settings.steps`` steps, validation
    every ``settings.val_interval`` steps (when validation data is given)."""
    return {"max_steps": settings.steps, "val_check_interval": min(settings.val_interval, settings.steps),
            "check_val_every_n_epoch": None}


def build_trainer(*, device: str = "cpu", callbacks: Sequence[L.Callback] = (), **loop: Any) -> L.Trainer:
    """A quiet Trainer on one ``device`` (``cpu`` or ``cuda``; bf16 mixed precision on GPUs that support it): no
    logger files, checkpoints, progress bar or sanity check, and process-wide torch settings left as the caller set
    them. ``loop`` gives its length and checks (``max_steps``, ``max_epochs``, ``val_check_interval``, ...). Build it
    inside :func:`quiet_lightning` to skip its start-up messages."""
    return L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu", devices=1, precision=precision_for(device),
        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=list(callbacks), **loop,
    )


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
