"""Where a run trains: the device picked for ``auto``, the precision used there, and memory given back after runs."""

from __future__ import annotations

import gc

import torch


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


def release_memory(device: str) -> None:
    """Give the memory of finished runs back (to the GPU's other users, too)."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
