"""The loop of fused runs: many runs of one U-Net architecture trained as one batched model under ``torch.vmap``.

A small U-Net leaves most of a GPU idle, and separate processes only time-slice it. Here the parameters of K runs
are stacked along a leading axis (``torch.func.stack_module_state``) and the network runs under ``torch.vmap``, where
each convolution becomes one grouped convolution over all K runs. Every run keeps its own initialisation, training
subset, batch order and augmentation stream (:class:`~samplecast.train.batches.RunStream`), optimiser state (AdamW is
elementwise, so one AdamW over the stacked tensors is K independent ones), learning-rate schedule, best validation
weights and test Dice, exactly as if it trained alone (:func:`~samplecast.train.loops.lightning.fit_and_test`); the loss
minimised is the sum of the runs' losses, so each run's gradient is its own. A run whose loss turns NaN or infinite
is reported as diverged at the next validation check and the others go on untouched: nothing mixes runs.

The loop is written out rather than driven by Lightning: one step is a handful of tensor operations for the whole
group, and no step synchronises with the host (batches are drawn on the device, the loss is checked on the device,
progress is reported a few times per second).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from monai.losses import DiceCELoss
from monai.metrics import compute_dice
from torch import nn
from torch.func import functional_call, stack_module_state

from samplecast.train.augment import BatchAugment
from samplecast.train.batches import RunStream
from samplecast.train.config import TrainSettings
from samplecast.train.device import precision_for
from samplecast.train.loops.outcome import Pair, RunOutcome, StepCallback, TrainingDiverged, throttled
from samplecast.train.loops.schedule import seed_all, warmup_cosine
from samplecast.train.start import parameter_groups
from samplecast.train.unet import build_unet, check_stackable

#: Share of the free GPU memory a fused group may plan to fill (the rest absorbs fragmentation and evaluation).
MEMORY_HEADROOM = 0.8


@dataclass(frozen=True)
class GroupRun:
    """One run of a fused group.

    Args:
        train_index: positions of the run's training cases in the group's images, ``(n_train,)`` long.
        seed: the run's seed (initialisation, batch order, augmentation).
    """

    train_index: torch.Tensor
    seed: int


class StackedNets:
    """K networks of one architecture as stacked parameters (leading axis K), evaluated together with ``torch.vmap``.

    Args:
        nets: the networks, each with its own initial weights; they must have no buffers and no active dropout.
        compute_dtype: dtype the forward pass runs in (e.g. ``torch.bfloat16``: parameters and inputs are cast on
            the fly, the float32 parameters stay the optimiser's master copy); ``None`` keeps float32. Explicit casts,
            because autocast does not reach inside ``vmap`` everywhere.
    """

    def __init__(self, nets: Sequence[nn.Module], compute_dtype: torch.dtype | None = None):
        check_stackable(nets[0])
        self.params, _ = stack_module_state(list(nets))
        self.base = copy.deepcopy(nets[0]).to("meta")
        self.compute_dtype = compute_dtype
        self.loss = DiceCELoss(sigmoid=True)
        self._losses = torch.vmap(self._one_loss)
        self._logits_shared = torch.vmap(self._one_logits, in_dims=(0, None))

    def __len__(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def losses(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Each run's DiceCE loss on its own batch: ``images`` ``(K, B, C, *spatial)``, ``masks`` ``(K, B, 1, ...)``
        float; returns ``(K,)``."""
        return self._losses(self.params, images, masks)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Every run's foreground logits for the same images ``(N, C, *spatial)``: ``(K, N, 1, *spatial)`` float."""
        return self._logits_shared(self.params, images)

    def compile(self) -> None:
        """Compile the vmapped training loss with ``torch.compile`` (evaluation stays eager)."""
        self._losses = torch.compile(self._losses)

    def _one_logits(self, params: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        if self.compute_dtype is not None:
            params = {name: value.to(self.compute_dtype) for name, value in params.items()}
            images = images.to(self.compute_dtype)
        return functional_call(self.base, params, (images,)).float()

    def _one_loss(self, params: dict[str, torch.Tensor], images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return self.loss(self._one_logits(params, images), masks)


def build_stacked(seeds: Sequence[int], spatial_dims: int, in_channels: int, depth: int, device: str,
                  start: dict[str, torch.Tensor] | None = None) -> StackedNets:
    """U-Nets initialised exactly as :func:`~.lightning.fit_and_test` initialises each seed's (from ``start``'s
    weights when given), stacked on ``device`` (bf16 compute where the single run would use bf16 mixed precision)."""
    nets = []
    for seed in seeds:
        seed_all(seed)
        net = build_unet(spatial_dims, in_channels, depth)
        if start is not None:
            net.load_state_dict(start)
        nets.append(net.to(device))
    return StackedNets(nets, torch.bfloat16 if precision_for(device) == "bf16-mixed" else None)


class FusedSteps:
    """The training steps of a fused group: K runs' batches drawn on the device, one forward and backward pass for
    all, one AdamW step and one learning-rate step. Nothing in a step waits for the host.

    Args:
        images, masks: every case the runs train on, on ``device`` or in CPU memory (batches are then copied).
        runs: the runs, all of ``depth`` levels.
        depth, settings, device, start, encoder_lr: as for :func:`~samplecast.train.loops.lightning.fit_and_test`.
        compile: run the vmapped loss through ``torch.compile`` (pays on a GPU once its compile time is amortised).
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, runs: Sequence[GroupRun], *, depth: int,
                 settings: TrainSettings, device: str, compile: bool = False,
                 start: dict[str, torch.Tensor] | None = None, encoder_lr: float = 1.0):
        self.images, self.masks, self.settings, self.device = images, masks, settings, device
        self.model = build_stacked([run.seed for run in runs], images.ndim - 2, images.shape[1], depth, device,
                                   start)
        if compile:
            self.model.compile()
        params = self.model.params
        groups = (params.values() if encoder_lr == 1
                  else parameter_groups(list(params.items()), settings.lr, encoder_lr))
        # One AdamW over the stacked tensors: elementwise, so K independent optimisers; fused kernels on a GPU.
        self.optimizer = torch.optim.AdamW(groups, lr=settings.lr,
                                           weight_decay=settings.weight_decay, foreach=device != "cuda",
                                           fused=device == "cuda")
        self.schedule = warmup_cosine(self.optimizer, settings.steps, settings.warmup, settings.lr)
        self.augment = BatchAugment(flip_prob=settings.flip_prob, brightness=settings.brightness,
                                    contrast=settings.contrast)
        self.streams = [RunStream(len(run.train_index), settings.batch_size, run.seed, images.ndim - 2,
                                  images.device) for run in runs]
        self.train_index = [run.train_index.to(images.device) for run in runs]

    def step(self) -> torch.Tensor:
        """One optimiser step of every run; returns the runs' losses ``(K,)`` (detached, still on the device)."""
        shape = (len(self.streams), self.settings.batch_size)
        picks, draws = zip(*(stream.next() for stream in self.streams))
        index = torch.cat([cases[pick] for cases, pick in zip(self.train_index, picks)])
        images = self.images.index_select(0, index).to(self.device, non_blocking=True)
        masks = self.masks.index_select(0, index).to(self.device, non_blocking=True).float()
        images, masks = self.augment(images, masks, torch.cat(draws).to(self.device))
        losses = self.model.losses(images.unflatten(0, shape), masks.unflatten(0, shape))
        losses.sum().backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        return losses.detach()


def fit_and_test_group(images: torch.Tensor, masks: torch.Tensor, runs: Sequence[GroupRun], val: Pair, test: Pair,
                       *, depth: int, settings: TrainSettings, device: str, on_step: StepCallback | None = None,
                       start: dict[str, torch.Tensor] | None = None,
                       encoder_lr: float = 1.0) -> Iterator[tuple[int, RunOutcome | TrainingDiverged]]:
    """Train ``runs`` (all of ``depth`` levels) as one fused group and yield ``(position in runs, result)`` as each
    run's result becomes final: a :class:`TrainingDiverged` at the validation check after its loss turned NaN or
    infinite, a :class:`RunOutcome` for the others when the group has been tested.

    ``images`` and ``masks`` hold every case the runs train on (on ``device``, or in CPU memory, from where each
    batch is copied); ``val`` and ``test`` are shared by all runs; ``start`` and ``encoder_lr`` are as for
    :func:`~samplecast.train.loops.lightning.fit_and_test`. On the CPU in float32, each run's losses, test Dice and
    weights match those of the same run trained alone up to rounding.

    Raises:
        torch.OutOfMemoryError: when the group does not fit; train fewer runs at once.
    """
    started = time.perf_counter()
    steps = FusedSteps(images, masks, runs, depth=depth, settings=settings, device=device, start=start,
                       encoder_lr=encoder_lr)
    report = throttled(on_step) if on_step else None
    val, test = ([part.to(device) for part in pair] for pair in (val, test))
    state = _GroupState(steps.model, device, has_val=len(val[0]) > 0)
    interval = min(settings.val_interval, settings.steps)  # as the single run's Trainer checks
    for step in range(1, settings.steps + 1):
        state.watch(steps.step(), step)
        if state.has_val and step % interval == 0:
            yield from state.diverged()
            state.validate(val, step, settings.batch_size)
        if report:
            report(step, settings.steps)
    yield from state.diverged()
    state.restore_best()
    test_dice = case_dice(steps.model, *test, chunk=settings.batch_size).cpu().numpy()
    wall_s, precision = time.perf_counter() - started, precision_for(device)
    losses = torch.stack(state.losses, dim=1).float().cpu().numpy()
    for k in state.alive():
        weights = {name: value[k].detach().cpu().clone() for name, value in steps.model.params.items()}
        yield k, RunOutcome(test_dice[k], state.best_score[k], state.best_step[k], wall_s, precision, losses[k],
                            weights)


class _GroupState:
    """Per-run bookkeeping of a fused group: which runs diverged (tracked on the device, read at checks only), each
    run's best validation score, step and weights."""

    def __init__(self, model: StackedNets, device: str, *, has_val: bool):
        self.model, self.has_val = model, has_val
        count = len(model)
        self.first_bad = torch.zeros(count, dtype=torch.long, device=device)  # 0: finite so far
        self.reported = [False] * count
        self.losses: list[torch.Tensor] = []
        self.best_score = [float("nan")] * count
        self.best_step: list[int | None] = [None] * count
        self.best = {name: value.detach().clone() for name, value in model.params.items()} if has_val else None

    def alive(self) -> list[int]:
        return [k for k, reported in enumerate(self.reported) if not reported]

    def watch(self, losses: torch.Tensor, step: int) -> None:
        """Remember the first step at which each run's loss was not finite, without a host sync."""
        self.losses.append(losses)
        bad = ~torch.isfinite(losses) & (self.first_bad == 0)
        self.first_bad = torch.where(bad, step, self.first_bad)

    def diverged(self) -> Iterator[tuple[int, TrainingDiverged]]:
        for k, step in enumerate(self.first_bad.tolist()):
            if step and not self.reported[k]:
                self.reported[k] = True
                yield k, TrainingDiverged(f"training loss became NaN or infinite at step {step}")

    def validate(self, val: Pair, step: int, chunk: int) -> None:
        scores = case_dice(self.model, *val, chunk=chunk).mean(dim=1).tolist()
        improved = [not self.reported[k] and not score <= self.best_score[k] for k, score in enumerate(scores)]
        for k in (k for k, better in enumerate(improved) if better):
            self.best_score[k], self.best_step[k] = scores[k], step
        if any(improved):
            _select(self.best, self.model.params, torch.tensor(improved, device=self.first_bad.device))

    def restore_best(self) -> None:
        """Put each run's best validation weights back (the last weights stay where there was no validation)."""
        if self.best is not None:
            chosen = torch.tensor([step is not None for step in self.best_step], device=self.first_bad.device)
            _select(self.model.params, self.best, chosen)


def _select(target: dict[str, torch.Tensor], source: dict[str, torch.Tensor], runs: torch.Tensor) -> None:
    """Copy ``source`` into ``target`` for the runs (leading index) where ``runs`` is true, in place."""
    with torch.no_grad():
        for name, value in target.items():
            value.copy_(torch.where(runs.view(-1, *[1] * (value.ndim - 1)), source[name], value))


@torch.no_grad()
def case_dice(model: StackedNets, images: torch.Tensor, masks: torch.Tensor, *, chunk: int) -> torch.Tensor:
    """Dice of every run on every case, ``(K, N)``, scored as :class:`~.lightning.SegmentationModule`
    scores (thresholded logits, an empty truth scores 1 only for an empty prediction), ``chunk`` cases at a time."""
    scores = []
    device = next(iter(model.params.values())).device
    for start in range(0, len(images), chunk):
        predicted = (model.logits(images[start:start + chunk].to(device)) > 0).float()
        truth = masks[start:start + chunk].to(device).float().expand_as(predicted)
        dice = compute_dice(predicted.flatten(0, 1), truth.flatten(0, 1), include_background=True, ignore_empty=False)
        scores.append(dice.view(len(model), -1))
    return torch.cat(scores, dim=1) if scores else torch.empty(len(model), 0)


def probe_run_bytes(images: torch.Tensor, depth: int, settings: TrainSettings, device: str) -> int:
    """GPU memory one more run adds to a fused group: measured over one training step of a group of two."""
    sample = images[:1].to(device)
    usage = []
    for count in (1, 2):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        model = build_stacked(range(count), images.ndim - 2, images.shape[1], depth, device)
        optimizer = torch.optim.AdamW(model.params.values(), foreach=True)
        batch = sample.expand(count, settings.batch_size, *sample.shape[1:])
        masks = torch.zeros(count, settings.batch_size, 1, *sample.shape[2:], device=device)
        model.losses(batch, masks).sum().backward()
        optimizer.step()
        usage.append(torch.cuda.max_memory_allocated() - before)
        del model, optimizer
    return usage[1] - usage[0] if usage[1] > usage[0] else max(1, usage[0])


def group_capacity(images: torch.Tensor, depth: int, settings: TrainSettings, device: str) -> int:
    """How many runs of ``depth`` fit in one fused group on the current GPU's free memory (at least 1)."""
    free, _ = torch.cuda.mem_get_info()
    try:
        per_run = probe_run_bytes(images, depth, settings, device)
    except torch.OutOfMemoryError:
        return 1
    finally:
        torch.cuda.empty_cache()
    return max(1, int(MEMORY_HEADROOM * free // per_run))
