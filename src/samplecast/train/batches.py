"""Feeding the training loop from tensors that already live on the training device (no worker processes, no copies).

On a GPU the whole preprocessed dataset sits in GPU memory; a batch is one ``index_select`` there. The random
choices of a run (batch order and augmentation draws) come from generators on that same device, so no step waits for
the host. The same code runs on the CPU, where it also saves the per-sample Python work of a classic ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from samplecast.train.augment import draw_width

#: Added to a run's seed to seed its augmentation generator, so batch order and augmentation are separate streams.
AUGMENT_SEED_OFFSET = 7919


class RunStream:
    """The random choices of one run, drawn on ``device``: which cases each batch holds, and each sample's
    augmentation draws. Every case comes once per pass, passes back to back; a subset smaller than the batch is
    repeated within the batch, so every step sees ``batch_size`` samples and every fraction of a sweep gets the same
    compute. The stream depends only on ``seed`` (and the device's generator), so a run draws the same batches
    whether it trains alone or in a fused group.

    Args:
        n_cases: training cases of the run, >= 1.
        batch_size: samples per batch.
        seed: the run's seed.
        spatial_dims: 2 or 3 (the number of augmentation draws per sample depends on it).
        device: where the generators and the drawn tensors live.
    """

    def __init__(self, n_cases: int, batch_size: int, seed: int, spatial_dims: int, device: str | torch.device):
        if n_cases < 1:
            raise ValueError(f"a run needs at least one training case, got {n_cases}")
        self.n_cases, self.batch_size, self.width = n_cases, batch_size, draw_width(spatial_dims)
        self.device = torch.device(device)
        self._order = torch.Generator(self.device).manual_seed(seed)
        self._augment = torch.Generator(self.device).manual_seed(seed + AUGMENT_SEED_OFFSET)
        self._pending = torch.empty(0, dtype=torch.long, device=self.device)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch's case positions ``(batch_size,)`` (into the run's training cases) and augmentation draws
        ``(batch_size, width)``, both on the device. The pass bookkeeping uses lengths only: no host sync."""
        while len(self._pending) < self.batch_size:
            fresh = torch.randperm(self.n_cases, generator=self._order, device=self.device)
            self._pending = torch.cat([self._pending, fresh])
        chosen, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size:]
        draws = torch.rand(self.batch_size, self.width, generator=self._augment, device=self.device)
        return chosen, draws


class RandomBatches:
    """An endless stream of ``(images, masks, draws)`` training batches of one run, drawn by its :class:`RunStream`.

    Args:
        images: ``(N, C, *spatial)`` float tensor on the training device.
        masks: ``(N, 1, *spatial)`` tensor on the same device.
        batch_size: samples per batch.
        seed: the run's seed.
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, batch_size: int, seed: int):
        if len(images) == 0 or len(images) != len(masks):
            raise ValueError(f"need as many masks as images, at least one; got {len(images)} and {len(masks)}")
        self.images, self.masks = images, masks
        self.batch_size, self.seed = batch_size, seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        stream = RunStream(len(self.images), self.batch_size, self.seed, self.images.ndim - 2, self.images.device)
        while True:
            chosen, draws = stream.next()
            yield self.images.index_select(0, chosen), self.masks.index_select(0, chosen), draws


class InOrder:
    """Consecutive ``(images, masks)`` batches covering every case once, in order (views, no copies): for evaluation.

    A single iterable rather than a list, so Lightning reads it as one data loader.
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, batch_size: int):
        self.images, self.masks, self.batch_size = images, masks, batch_size

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.images), self.batch_size):
            yield self.images[start:start + self.batch_size], self.masks[start:start + self.batch_size]
