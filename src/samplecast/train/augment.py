"""Batched on-device augmentation: each sample gets its own random flips, rotation by 90 degrees and intensity change.

Written as whole-batch tensor ops (``torch.where`` over per-sample draws, no Python loop over samples and no host
synchronisation), so on a GPU it runs where the data already lives and the data feed never waits on the CPU. The
random numbers come in as an argument, one row per sample (see :func:`draw_width`), drawn by each run's own
generator (:class:`~samplecast.train.batches.RunStream`): a run sees the same augmentations whether it trains alone
or stacked with other runs in one batch.
"""

from __future__ import annotations

import torch
from torch import nn


def draw_width(spatial_dims: int) -> int:
    """Uniform draws one sample's augmentation takes: a flip per spatial axis, the axis swap, contrast, brightness."""
    return spatial_dims + 3


class BatchAugment(nn.Module):
    """Random dihedral transforms (flips and 90-degree rotations) and brightness/contrast, drawn per sample.

    Every spatial axis is flipped with probability ``flip_prob``; when the last two spatial axes have the same size
    they are also swapped with probability 1/2, which together with the flips gives every one of the 8 rotations and
    reflections of the square equal probability (at ``flip_prob=0.5``). The intensity change is
    ``(x - mean) * c + mean + b`` per sample, with ``c ~ U(1 - contrast, 1 + contrast)`` and
    ``b ~ U(-brightness, brightness)`` in units of the normalised image. Masks follow the geometric part only.

    Args:
        flip_prob: probability of flipping each spatial axis, in [0, 1].
        brightness: half-width of the additive shift, >= 0 (0 disables it).
        contrast: half-width of the multiplicative factor around 1, in [0, 1) (0 disables it).

    Example:
        >>> augment = BatchAugment()
        >>> images, masks = augment(torch.randn(8, 3, 32, 32), torch.zeros(8, 1, 32, 32), torch.rand(8, 5))
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

    def forward(self, images: torch.Tensor, masks: torch.Tensor,
                draws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch: ``images`` ``(N, C, *spatial)`` float, ``masks`` ``(N, 1, *spatial)``, ``draws``
        ``(N, draw_width(spatial_dims))`` uniform in [0, 1); shapes and dtypes are kept."""
        spatial_dims = images.ndim - 2
        if draws.shape != (images.shape[0], draw_width(spatial_dims)):
            raise ValueError(f"draws must have shape ({images.shape[0]}, {draw_width(spatial_dims)}), "
                             f"got {tuple(draws.shape)}")
        per_sample = (images.shape[0],) + (1,) * (images.ndim - 1)
        for axis in range(spatial_dims):
            chosen = (draws[:, axis] < self.flip_prob).view(per_sample)
            images = torch.where(chosen, images.flip(axis + 2), images)
            masks = torch.where(chosen, masks.flip(axis + 2), masks)
        if images.shape[-1] == images.shape[-2]:
            chosen = (draws[:, spatial_dims] < 0.5).view(per_sample)
            images = torch.where(chosen, images.transpose(-1, -2), images)
            masks = torch.where(chosen, masks.transpose(-1, -2), masks)
        if self.brightness > 0 or self.contrast > 0:
            mean = images.mean(dim=tuple(range(1, images.ndim)), keepdim=True)
            factor = 1 + self.contrast * (2 * draws[:, spatial_dims + 1] - 1).view(per_sample).to(images.dtype)
            shift = self.brightness * (2 * draws[:, spatial_dims + 2] - 1).view(per_sample).to(images.dtype)
            images = (images - mean) * factor + mean + shift
        return images, masks
