"""The residual U-Net every sweep trains: MONAI's ``UNet`` with two residual units per level, 2D or 3D."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monai.networks.nets import UNet
    from torch import nn

#: Name written to the ``model`` column of the curves table.
MODEL_NAME = "resunet"
#: Feature maps at the first resolution level; each deeper level doubles them.
BASE_CHANNELS = 16


def build_unet(spatial_dims: int, in_channels: int, depth: int, *, out_channels: int = 1) -> UNet:
    """A residual U-Net with ``depth`` resolution levels (channels ``16 * 2**i``, stride 2 between levels).

    One output channel by default: the foreground logit of a binary segmentation, trained with a sigmoid.

    Args:
        spatial_dims: 2 for images ``(N, C, H, W)``, 3 for volumes ``(N, C, D, H, W)``.
        in_channels: image channels (3 for RGB, 1 for MRI).
        depth: number of resolution levels, at least 2; inputs must be divisible by ``2 ** (depth - 1)``.
        out_channels: output channels (logits).

    Example:
        >>> net = build_unet(2, 3, depth=4)  # 16, 32, 64, 128 feature maps; 64x64 input -> 8x8 at the bottom
    """
    from monai.networks.nets import UNet  # here, so that reading configurations does not load MONAI

    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    if depth < 2:
        raise ValueError(f"depth must be at least 2 resolution levels, got {depth}")
    return UNet(
        spatial_dims=spatial_dims,
        in_channels=in_channels,
        out_channels=out_channels,
        channels=tuple(BASE_CHANNELS * 2**i for i in range(depth)),
        strides=(2,) * (depth - 1),
        num_res_units=2,
    )


def min_input_multiple(depth: int) -> int:
    """The number every spatial size must be divisible by for a U-Net of this depth (``2 ** (depth - 1)``)."""
    return 2 ** (depth - 1)


def check_stackable(net: nn.Module) -> None:
    """Raise ``ValueError`` unless ``net`` is a pure function of its parameters and input, as fused training needs
    (:mod:`samplecast.train.loops.vmap`): no buffers (e.g. running statistics of a norm layer) and no active dropout,
    so many copies can be stacked and run under ``torch.vmap``, each exactly as it would run alone."""
    found = [f"buffer {name!r}" for name, _ in net.named_buffers()]
    found += [f"{name or 'net'} ({type(module).__name__}) keeps running statistics"
              for name, module in net.named_modules() if getattr(module, "track_running_stats", False)]
    found += [f"{name} drops out with p={module.p}" for name, module in net.named_modules()
              if type(module).__name__.startswith("Dropout") and module.p > 0]
    if found:
        raise ValueError(f"{type(net).__name__} cannot be trained fused: " + "; ".join(found))
