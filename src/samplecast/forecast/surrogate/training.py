"""Training the surrogate under Lightning: a :class:`SurrogateModule` (network, pinball loss, AdamW with a one-cycle
schedule) fitted by a quiet ``Trainer`` on batches of curves cut at random prefixes
(:class:`~samplecast.forecast.surrogate.sampler.PrefixBatches`), and fine-tuning on a user's curves mixed with the
prior.

This module imports Lightning (seconds), so ``samplecast.forecast.surrogate`` loads it only when training is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict

import lightning as L
import torch

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.prior import CurveBank
from samplecast.forecast.surrogate.calibrate import calibrate_surrogate
from samplecast.forecast.surrogate.config import TrainingConfig
from samplecast.forecast.surrogate.corpus import mixed_corpus
from samplecast.forecast.surrogate.loss import batch_loss, weighted_losses
from samplecast.forecast.surrogate.model import Surrogate, new_surrogate
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.forecast.surrogate.network import SurrogateNet
from samplecast.forecast.surrogate.sampler import EvaluationBatches, PrefixBatches
from samplecast.train.loops.lightning import build_trainer, quiet_lightning
from samplecast.train.processes import interrupts_reach_caller

#: Fewest steps of the learning-rate schedule (see :meth:`SurrogateModule.configure_optimizers`).
MIN_SCHEDULE = 20
#: Called as ``progress(epoch, epochs, train_loss, validation_loss)`` after each epoch.
Progress = Callable[[int, int, float, float | None], None]


class SurrogateModule(L.LightningModule):
    """The surrogate network with its loss and optimiser, for a Lightning ``Trainer``.

    Args:
        net: the network to train (in place).
        lr: peak learning rate of AdamW.
        weight_decay: AdamW decoupled weight decay.
        total_steps: length of the one-cycle schedule (epochs x batches per epoch).

    During ``Trainer.fit``: :attr:`epoch_loss` (mean loss of the epoch's batches so far) and, after each validation,
    ``validation_loss_`` (mean loss over every validation target).
    """

    def __init__(self, net: SurrogateNet, *, lr: float, weight_decay: float, total_steps: int):
        super().__init__()
        self.net = net
        self.lr, self.weight_decay, self.total_steps = lr, weight_decay, total_steps
        self.validation_loss_: float | None = None
        self._epoch_losses: list[torch.Tensor] = []
        self._validation_sums = [0.0, 0.0]

    def on_train_epoch_start(self) -> None:
        self._epoch_losses = []

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = batch_loss(self.net, batch)
        self._epoch_losses.append(loss.detach())
        return loss

    @property
    def epoch_loss(self) -> float:
        """Mean training loss of the batches of the current epoch so far."""
        return sum(float(loss) for loss in self._epoch_losses) / max(1, len(self._epoch_losses))

    def on_validation_epoch_start(self) -> None:
        self._validation_sums = [0.0, 0.0]

    def validation_step(self, batch, batch_idx: int) -> None:
        total, weight = weighted_losses(self.net, [batch])
        self._validation_sums[0] += total
        self._validation_sums[1] += weight

    def on_validation_epoch_end(self) -> None:
        self.validation_loss_ = self._validation_sums[0] / self._validation_sums[1]

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        # At least MIN_SCHEDULE steps long: OneCycleLR divides by zero when its warm-up ends at its first step (a run
        # of 10 steps); a shorter run stops before the learning rate has fully decayed.
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=self.lr, pct_start=0.1,
                                                       total_steps=max(self.total_steps, MIN_SCHEDULE))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class _EpochHistory(L.Callback):
    """Records each epoch's losses (and reports them to ``progress``) as the epoch ends, after its validation; stops
    training when the loss is no longer finite."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.history: list[dict] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: SurrogateModule) -> None:
        record = {"epoch": trainer.current_epoch + 1, "train_loss": module.epoch_loss,
                  "validation_loss": module.validation_loss_}
        self.history.append(record)
        trainer.should_stop = trainer.should_stop or not math.isfinite(record["train_loss"])
        if self.progress is not None:
            self.progress(record["epoch"], trainer.max_epochs, record["train_loss"], record["validation_loss"])


def train_surrogate(
    corpus: CurveBank,
    *,
    settings: TrainingConfig | None = None,
    start: Surrogate | None = None,
    config: SurrogateConfig | None = None,
    validation: CurveBank | None = None,
    describe_corpus: str = "",
    progress: Progress | None = None,
) -> tuple[Surrogate, list[dict]]:
    """Train (or fine-tune ``start``) on ``corpus`` with the pinball loss; return the model and per-epoch history.

    ``progress(epoch, epochs, train_loss, validation_loss)`` is called after each epoch. ``start`` is not changed.
    The result carries no calibration: fit one on held-out curves (:func:`calibrate_surrogate`) and attach it with
    :meth:`Surrogate.with_calibration`.

    Raises:
        InputError: when the loss becomes NaN or infinite (a learning rate far too high); nothing is returned.
    """
    settings = settings or TrainingConfig()
    if len(corpus) == 0:
        raise ValueError("the training corpus is empty")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)  # for this training only: the caller's setting comes back after
    try:
        net = (start if start is not None else new_surrogate(config, settings.seed)).network().train()
        L.seed_everything(settings.seed, verbose=False)
        batches = PrefixBatches(corpus, settings.batch_size, settings.seed)
        module = SurrogateModule(net, lr=settings.lr, weight_decay=settings.weight_decay,
                                 total_steps=settings.epochs * len(batches))
        history = _EpochHistory(progress)
        with quiet_lightning(), interrupts_reach_caller():  # Ctrl-C: exit 130 with one line, not Lightning's exit 1
            trainer = build_trainer(callbacks=[history], max_epochs=settings.epochs, gradient_clip_val=1.0,
                                    limit_val_batches=None if validation is not None else 0)
            trainer.fit(module, train_dataloaders=batches,
                        val_dataloaders=EvaluationBatches(validation) if validation is not None else None)
    finally:
        torch.set_num_threads(previous_threads)
    final = history.history[-1]
    if not math.isfinite(final["train_loss"]):
        raise InputError(f"training diverged: the loss became NaN or infinite in epoch {final['epoch']}; "
                         f"lower the training setting lr (was {settings.lr:g})")
    record = {**asdict(settings), "corpus": describe_corpus, "curves": len(corpus),
              "final_train_loss": final["train_loss"], "final_validation_loss": final["validation_loss"],
              "fine_tuned_from": (start.training.get("corpus", "") if start is not None else None)}
    return Surrogate.from_network(net, record), history.history


def train_on_curves(
    curves: Sequence[Curve],
    *,
    start: Surrogate | None,
    settings: TrainingConfig | None = None,
    prior_curves: int = 20_000,
    calibration_curves: Sequence[Curve] = (),
    progress: Progress | None = None,
) -> Surrogate:
    """Fine-tune ``start`` (or train a new surrogate when ``None``) on a user's complete learning curves.

    The corpus mixes the user's curves with ``prior_curves`` synthetic ones (:func:`mixed_corpus`). When
    ``calibration_curves`` (held out from ``curves``) are given, the intervals are calibrated on them; otherwise the
    result has raw intervals.

    Raises:
        InputError: when no curve has more than ``MIN_POINTS`` sizes (nothing to learn a forecast from).
    """
    settings = settings or TrainingConfig(epochs=5, lr=1e-3)
    bank, described = mixed_corpus(curves, prior_curves, settings.seed)
    surrogate, _ = train_surrogate(bank, settings=settings, start=start, describe_corpus=described, progress=progress)
    if calibration_curves:
        surrogate = surrogate.with_calibration(calibrate_surrogate(surrogate, calibration_curves))
    return surrogate
