"""Feeding the training loop from tensors that already live on the training device (no worker processes, no copies).

On a GPU the whole preprocessed dataset sits in GPU memory; a batch is one ``index_select`` there. The same code
runs on the CPU, where it also saves the per-sample Python work of a classic ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


class RandomBatches:
    """An endless stream of shuffled ``(images, masks)`` batches: every case once per pass, passes back to back.

    A training subset smaller than the batch is repeated within the batch, so every step sees ``batch_size`` samples
    and every fraction of a sweep gets the same compute. The order depends only on ``seed``.

    Args:
        images: ``(N, C, *spatial)`` float tensor on the training device.
        masks: ``(N, 1, *spatial)`` tensor on the same device.
        batch_size: samples per batch.
        seed: seed of the shuffling generator.
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, batch_size: int, seed: int):
        if len(images) == 0 or len(images) != len(masks):
            raise ValueError(f"need as many masks as images, at least one; got {len(images)} and {len(masks)}")
        self.images, self.masks = images, masks
        self.batch_size, self.seed = batch_size, seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        pending = torch.empty(0, dtype=torch.long)
        while True:
            while len(pending) < self.batch_size:
                pending = torch.cat([pending, torch.randperm(len(self.images), generator=generator)])
            chosen, pending = pending[: self.batch_size].to(self.images.device), pending[self.batch_size:]
            yield self.images.index_select(0, chosen), self.masks.index_select(0, chosen)


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
