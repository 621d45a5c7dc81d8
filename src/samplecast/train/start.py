"""Runs that start from trained weights instead of a random initialisation (transfer learning).

A *source* is a weights file that a sweep kept (``keep_weights``: ``weights/<run_id>.pt`` beside the run's record) or
the folder of such a sweep, where each depth starts from its run on the most cases (the lowest seed among equals).
:func:`load_start` resolves and checks the source against the dataset and depths of a sweep once, before anything
trains, and reports every mismatch together (dimension, image channels, depth, tensor shapes). The source's checksums
become part of the sweep's protocol, so runs from different sources, or from none, never share an id or a curve.

The encoder (the down-sampling path and the bottom of MONAI's ``UNet``, :func:`is_encoder`) may train with a lower
learning rate than the decoder, or not at all: ``encoder_lr`` is its learning rate as a multiple of the run's.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from samplecast.curves import TRANSFER_PREFIX
from samplecast.errors import InputError, raise_if_any
from samplecast.files import check_input_file, put_file
from samplecast.train.unet import MODEL_NAME, build_unet

#: What a kept weights file says it is, and the version of its layout.
WEIGHTS_FORMAT = "samplecast-weights"
WEIGHTS_VERSION = 1
#: Largest weights file read (2 GiB); a depth-3 U-Net keeps about 0.4 MB, each level more about four times as much.
MAX_WEIGHTS_BYTES = 2 << 30
#: Folder of a sweep's kept weights, one ``<run_id>.pt`` per run.
WEIGHTS_DIR = "weights"


@dataclass(frozen=True)
class StartWeights:
    """The weights runs of one depth start from.

    Args:
        path: the weights file.
        sha256: its checksum (part of the identity of every run that starts from it).
        meta: what the file says about itself: ``depth``, ``spatial_dims``, ``in_channels``, ``dataset``,
            ``run_id``, ``n_train``, ``dice``.
        state: the network's state dict.
    """

    path: Path
    sha256: str
    meta: dict[str, Any]
    state: dict[str, torch.Tensor]

    def record(self) -> dict[str, Any]:
        """What a run's record says about where it started."""
        keys = ("dataset", "run_id", "n_train", "dice")
        return {"path": str(self.path), "sha256": self.sha256, **{k: self.meta.get(k) for k in keys}}


@dataclass(frozen=True)
class Start:
    """Where the runs of a transfer sweep start: the weights of each depth the source holds, and the encoder's
    learning rate as a multiple of the run's (0 freezes the encoder).

    Args:
        source: the source as given (a weights file or a sweep folder).
        by_depth: the weights of each depth the source holds (a file holds one).
        encoder_lr: the encoder's learning rate as a multiple of the run's, >= 0.
    """

    source: Path
    by_depth: dict[int, StartWeights]
    encoder_lr: float

    def protocol(self) -> dict[str, Any]:
        """What of the start changes a run's result: the checksums of the source's weights (of every depth it
        holds, so a sweep that adds a depth keeps the ids of its runs) and the encoder's rate."""
        return {"weights": {str(d): w.sha256 for d, w in sorted(self.by_depth.items())}, "encoder_lr": self.encoder_lr}

    @property
    def label(self) -> str:
        """The default scenario label of runs from this source: ``transfer:<name of the file or folder>``."""
        name = self.source.stem if self.source.is_file() else self.source.resolve().name
        return f"{TRANSFER_PREFIX}{name}"


def save_weights(path: str | Path, net: nn.Module | dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """Write a network's weights and what they are (``meta``: ``depth``, ``spatial_dims``, ``in_channels`` and
    where they come from) to ``path`` atomically; returns the file's sha256."""
    state = net.state_dict() if isinstance(net, nn.Module) else net
    buffer = io.BytesIO()
    torch.save({"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "model": MODEL_NAME, "meta": meta,
                "state_dict": {k: v.detach().cpu().contiguous() for k, v in state.items()}}, buffer)
    payload = buffer.getvalue()
    put_file(path, lambda stream: stream.write(payload))
    return hashlib.sha256(payload).hexdigest()


def read_weights(path: str | Path) -> StartWeights:
    """Read a weights file written by :func:`save_weights` (tensors only: nothing in it is executed).

    Raises:
        InputError: naming the file, when it is not such a file.
    """
    path = check_input_file(path, "a weights file kept by a samplecast sweep (keep_weights)", MAX_WEIGHTS_BYTES)
    try:
        payload = path.read_bytes()
        content = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable or not a torch file: one line naming the file
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:200]
        raise InputError(f"{path}: not a weights file samplecast can read ({reason})") from None
    meta = content.get("meta") if isinstance(content, dict) else None
    state = content.get("state_dict") if isinstance(content, dict) else None
    if (content.get("format") if isinstance(content, dict) else None) != WEIGHTS_FORMAT or not isinstance(meta, dict) \
            or not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path}: not a weights file kept by a samplecast sweep (keep_weights)")
    if content.get("version") != WEIGHTS_VERSION or content.get("model") != MODEL_NAME:
        raise InputError(f"{path}: weights of format version {content.get('version')!r} and model "
                         f"{content.get('model')!r}; this samplecast reads version {WEIGHTS_VERSION} of {MODEL_NAME!r}")
    bad = [k for k in ("depth", "spatial_dims", "in_channels") if not isinstance(meta.get(k), int)]
    if bad:
        raise InputError(f"{path}: the weights do not say their {', '.join(bad)}")
    return StartWeights(path, hashlib.sha256(payload).hexdigest(), meta, state)


def load_start(source: str | Path, *, depths: tuple[int, ...], spatial_dims: int, in_channels: int,
               encoder_lr: float) -> Start:
    """Resolve ``source`` for a sweep training ``depths`` on images of ``spatial_dims`` dimensions and ``in_channels``
    channels, and check that the weights of every depth fit the U-Net it builds.

    Raises:
        InputError: every problem (a missing source or depth, another dimension, channel count or tensor shape).
    """
    source = Path(source)
    if not source.exists():
        raise InputError(f"init_from: {source} does not exist")
    if source.is_file():
        weights = read_weights(source)
        problems = [f"{source}: {line}" for depth in depths for line in _mismatches(weights, depth, spatial_dims,
                                                                                    in_channels)]
        raise_if_any(list(dict.fromkeys(problems)))
        return Start(source, {weights.meta["depth"]: weights}, encoder_lr)
    by_depth = {depth: read_weights(path) for depth, path in _kept_by_depth(source).items()}
    missing = [d for d in depths if d not in by_depth]
    if missing:
        have = ", ".join(map(str, sorted(by_depth))) or "none"
        raise InputError(f"init_from: {source} keeps no weights of depth {', '.join(map(str, missing))} (depths "
                         f"kept: {have}); sweep the source with keep_weights at those depths")
    problems = [f"{by_depth[d].path}: {line}" for d in depths
                for line in _mismatches(by_depth[d], d, spatial_dims, in_channels)]
    raise_if_any(problems)
    return Start(source, by_depth, encoder_lr)


def _kept_by_depth(folder: Path) -> dict[int, Path]:
    """The kept weights of each depth in a sweep folder: the run on the most cases, the lowest seed among equals."""
    from samplecast.train.store import CONFIG_FILE, RunStore  # the store imports this module's neighbours

    from samplecast.schema import read_json

    if not (folder / CONFIG_FILE).exists():
        raise InputError(f"init_from: {folder} is neither a weights file nor a sweep folder (no {CONFIG_FILE})")
    written = read_json(folder / CONFIG_FILE)
    protocol = written.get("protocol_id") if isinstance(written, dict) else None
    if not isinstance(protocol, str):
        raise InputError(f"init_from: {folder / CONFIG_FILE}: no protocol_id; not the config of a sweep")
    kept: dict[int, tuple[int, int, Path]] = {}
    for record in RunStore(folder).records(protocol):
        weights = record.get("weights")
        if record.get("status") != "ok" or not isinstance(weights, str) or not (folder / weights).is_file():
            continue
        rank = (-int(record["n_train"]), int(record["seed"]), folder / weights)
        kept[record["depth"]] = min(kept.get(record["depth"], rank), rank)
    return {depth: path for depth, (_, _, path) in sorted(kept.items())}


def _mismatches(weights: StartWeights, depth: int, spatial_dims: int, in_channels: int) -> list[str]:
    """How the weights differ from the U-Net a run of ``depth`` builds, one line each (empty when they fit)."""
    meta = weights.meta
    found = []
    if meta["spatial_dims"] != spatial_dims:
        found.append(f"weights of a {meta['spatial_dims']}D U-Net, but the dataset holds {spatial_dims}D images")
    if meta["in_channels"] != in_channels:
        found.append(f"weights for images of {meta['in_channels']} channels, but the dataset's have {in_channels}")
    if meta["depth"] != depth:
        found.append(f"weights of depth {meta['depth']}, but runs of depth {depth} start from them")
    if found:
        return found
    expected = build_unet(spatial_dims, in_channels, depth).state_dict()
    shapes = {k: tuple(v.shape) for k, v in weights.state.items()}
    wrong = [k for k, v in expected.items() if shapes.get(k) != tuple(v.shape)]
    wrong += [k for k in shapes if k not in expected]
    if wrong:
        found.append(f"{len(wrong)} tensors do not fit a depth-{depth} U-Net (first: {wrong[0]})")
    return found


def is_encoder(name: str) -> bool:
    """Whether a parameter of :func:`~samplecast.train.unet.build_unet`'s MONAI ``UNet`` belongs to the encoder.

    MONAI nests the levels as ``model = Sequential(down, SkipConnection(Sequential(down, ..., up)), up)``; a name
    is ``model.`` and ``1.submodule.`` once per level, then ``0.`` (down), ``2.`` (up), or, at the bottom, the
    bottom unit's own name. Down and bottom are the encoder."""
    rest = name.removeprefix("model.")
    while rest.startswith("1.submodule."):
        rest = rest.removeprefix("1.submodule.")
    return not rest.startswith("2.")


def parameter_groups(named: list[tuple[str, torch.Tensor]], lr: float, encoder_lr: float) -> list[dict[str, Any]]:
    """Optimiser parameter groups: the decoder at ``lr``, the encoder at ``encoder_lr * lr`` (left out, and its
    tensors no longer needing gradients, when that is 0)."""
    encoder = [p for n, p in named if is_encoder(n)]
    decoder = [p for n, p in named if not is_encoder(n)]
    if encoder_lr == 0:
        for tensor in encoder:
            tensor.requires_grad_(False)
        return [{"params": decoder, "lr": lr}]
    return [{"params": decoder, "lr": lr}, {"params": encoder, "lr": lr * encoder_lr}]
