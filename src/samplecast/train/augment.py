"""Batched on-device augmentation: each sample gets its own random flips, rotation by 90 degrees and intensity change.

Written as whole-batch tensor ops (``torch.where`` over per-sample draws, no Python loop over samples and no host
synchronisation), so on a GPU it runs where the data already lives and the data feed never waits on the CPU.
"""

from __future__ import annotations

import torch
from torch import nn


class BatchAugment(nn.Module):
    """Random dihedral transforms (flips and 90-degree rotations) and brightness/contrast, drawn per sample.

    Every spatial axis is flipped with probability ``flip_prob``; when the last two spatial axes have the same size
    they are also swapped with probability 1/2, which together with the flips gives every one of the 8 rotations and
    reflections of the square equal probability (at ``flip_prob=0.5``). The intensity change is
    ``(x - mean) * c + mean + b`` per sample, with ``c ~ U(1 - contrast, 1 + contrast)`` and
    ``b ~ U(-brightness, brightness)`` in units of the normalised image. Masks follow the geometric part only.
    Randomness comes from torch's global generator on the batch's device, so ``seed_everything`` makes it repeatable.

    Args:
        flip_prob: probability of flipping each spatial axis, in [0, 1].
        brightness: half-width of the additive shift, >= 0 (0 disables it).
        contrast: half-width of the multiplicative factor around 1, in [0, 1) (0 disables it).

    Example:
        >>> augment = BatchAugment()
        >>> images, masks = augment(torch.randn(8, 3, 32, 32), torch.zeros(8, 1, 32, 32))
    """

    def __init__(self, *, flip_prob: float = 0.5, brightness: float = 0.2, contrast: float = 0.2):
        super().__init__()
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must lie in [0, 1], got {flip_prob}")
        if brightness < 0:
            raise ValueError(f"brightness must be >= 0, got {brightness}")
        if not 0.0 <= contrast < 1.0:
            raise ValueError(f"contrast must lie in [0, 1), got {contrast}")
        self.flip_prob = flip_prob
        self.brightness = brightness
        self.contrast = contrast

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch: ``images`` ``(N, C, *spatial)`` float, ``masks`` ``(N, 1, *spatial)``; shapes are kept."""
        n, device = images.shape[0], images.device
        per_sample = (n,) + (1,) * (images.ndim - 1)
        for dim in range(2, images.ndim):
            chosen = (torch.rand(n, device=device) < self.flip_prob).view(per_sample)
            images = torch.where(chosen, images.flip(dim), images)
            masks = torch.where(chosen, masks.flip(dim), masks)
        if images.shape[-1] == images.shape[-2]:
            chosen = (torch.rand(n, device=device) < 0.5).view(per_sample)
            images = torch.where(chosen, images.transpose(-1, -2), images)
            masks = torch.where(chosen, masks.transpose(-1, -2), masks)
        if self.brightness > 0 or self.contrast > 0:
            mean = images.mean(dim=tuple(range(1, images.ndim)), keepdim=True)
            factor = 1 + self.contrast * (2 * torch.rand(per_sample, device=device, dtype=images.dtype) - 1)
            shift = self.brightness * (2 * torch.rand(per_sample, device=device, dtype=images.dtype) - 1)
            images = (images - mean) * factor + mean + shift
        return images, masks
