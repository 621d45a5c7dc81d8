"""Training throughput (images/s) of samplecast's loop against a plain MONAI-tutorial loop. Writes a markdown table.

    nice python benchmarks/trainer_throughput.py --data /work/shared/data/kvasir-seg --image-size 64 --depth 4

Both loops train the same residual U-Net (``build_unet``) on the same preprocessed images with DiceCE, AdamW and
batch 16, for ``--steps`` steps; images/s counts the training images of the steps after the first ``--warmup``
(start-up, first-batch allocation and worker spawn excluded, no validation):

- samplecast: the sweep's own loop (``build_module`` + ``build_trainer``): the dataset as tensors on the device,
  batches gathered there, flips/rot90/brightness/contrast as batched tensor ops, Lightning, bf16 on GPUs.
- MONAI tutorial: a ``monai.data.Dataset`` of dictionaries with MONAI dictionary transforms (``RandFlipd``,
  ``RandRotate90d``, ``RandScaleIntensityd``, ``RandShiftIntensityd``) in a torch ``DataLoader`` with ``--workers``
  worker processes, float32, a hand-written loop. The images are already decoded and resized in memory, which
  favours this loop over the tutorials (they decode files in the workers).

Without ``--data`` a generated Kvasir-like set is used.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import lightning as L
import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.losses import DiceCELoss
from monai.transforms import Compose, EnsureTyped, RandFlipd, RandRotate90d, RandScaleIntensityd, RandShiftIntensityd

from samplecast.data import load_dataset, write_synthetic_2d
from samplecast.train.batches import RandomBatches
from samplecast.train.config import TrainSettings
from samplecast.train.model import build_unet
from samplecast.train.runner import build_module, build_trainer, quiet_lightning, resolve_device

HERE = Path(__file__).resolve().parent


class _Clock(L.Callback):
    """Time of the end of every training step."""

    def __init__(self):
        self.ends: list[float] = []

    def on_train_batch_end(self, *args) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())


def samplecast_loop(images: torch.Tensor, masks: torch.Tensor, depth: int, steps: int, batch: int,
                    device: str) -> list[float]:
    """Step end times of the sweep's training loop."""
    settings = TrainSettings(steps=steps, batch_size=batch)
    L.seed_everything(0, verbose=False)
    module = build_module(images, depth, settings)
    clock = _Clock()
    with quiet_lightning():
        trainer = build_trainer(settings, device, callbacks=[clock])
        trainer.fit(module, RandomBatches(images.to(device), masks.to(device), batch_size=batch, seed=0))
    return clock.ends


def tutorial_loop(images: np.ndarray, masks: np.ndarray, depth: int, steps: int, batch: int, device: str,
                  workers: int) -> list[float]:
    """Step end times of a MONAI-tutorial loop: dictionary transforms in DataLoader workers, float32."""
    keys = ["image", "label"]
    transforms = Compose([
        RandFlipd(keys, prob=0.5, spatial_axis=0), RandFlipd(keys, prob=0.5, spatial_axis=1),
        RandRotate90d(keys, prob=0.75, max_k=3), RandScaleIntensityd("image", factors=0.2, prob=1.0),
        RandShiftIntensityd("image", offsets=0.2, prob=1.0), EnsureTyped(keys, track_meta=False),
    ])
    items = [{"image": image, "label": mask.astype(np.float32)} for image, mask in zip(images, masks)]
    loader = DataLoader(Dataset(items, transforms), batch_size=batch, shuffle=True, drop_last=True,
                        num_workers=workers, persistent_workers=workers > 0)
    torch.manual_seed(0)
    model = build_unet(images.ndim - 2, images.shape[1], depth).to(device)
    loss_fn = DiceCELoss(sigmoid=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    ends: list[float] = []
    model.train()
    while len(ends) < steps:
        for batch_data in loader:
            x, y = batch_data["image"].to(device), batch_data["label"].to(device)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
            schedule.step()
            if device == "cuda":
                torch.cuda.synchronize()
            ends.append(time.perf_counter())
            if len(ends) == steps:
                break
    return ends


def rate(ends: list[float], warmup: int, batch: int) -> float:
    """Images per second over the steps after ``warmup``."""
    return (len(ends) - warmup) * batch / (ends[-1] - ends[warmup - 1])


def machine(device: str) -> str:
    """One line naming the hardware."""
    if device == "cuda":
        return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})"
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "CPU")
    return f"{model}, {torch.get_num_threads()} torch thread(s) of {len(os.sched_getaffinity(0))} cores, no GPU used"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="2D dataset folder (default: a generated Kvasir-like set)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10, help="steps left out of the timing")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", default="0,2", help="DataLoader workers of the tutorial loop, e.g. 0,2,4")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop; the median is reported")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--note", default="", help="a remark for the table, e.g. how busy the machine was")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "trainer_throughput.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    with tempfile.TemporaryDirectory() as scratch:
        source = args.data or write_synthetic_2d(Path(scratch) / "synthetic", n_cases=160, size=args.image_size)
        dataset = load_dataset(source, image_size=args.image_size)
    images, masks = torch.from_numpy(dataset.images), torch.from_numpy(dataset.masks)

    loops = {("samplecast (tensors on device, batched augmentation, Lightning)", "-"):
             lambda: samplecast_loop(images, masks, args.depth, args.steps, args.batch_size, device)}
    for workers in (int(w) for w in args.workers.split(",")):
        loops["MONAI tutorial (DataLoader + dictionary transforms, fp32)", str(workers)] = (
            lambda workers=workers: tutorial_loop(dataset.images, dataset.masks, args.depth, args.steps,
                                                  args.batch_size, device, workers))
    rates: dict[tuple[str, str], list[float]] = {key: [] for key in loops}
    for repeat in range(args.repeats):  # interleaved, so a change in machine load hits every loop alike
        for key, loop in loops.items():
            rates[key].append(rate(loop(), args.warmup, args.batch_size))
            print(f"repeat {repeat + 1}: {key[0]}, workers {key[1]}: {rates[key][-1]:.1f} images/s", flush=True)
    rows = [(name, workers, float(np.median(values)), min(values), max(values))
            for (name, workers), values in rates.items()]
    baseline = max(row[2] for row in rows[1:])
    lines = [
        f"# Trainer throughput ({date.today().isoformat()})",
        "",
        f"Machine: {machine(device)}. torch {torch.__version__}, device `{device}`.",
        f"Data: {dataset.name} ({len(dataset)} cases) at {args.image_size} px, residual U-Net depth {args.depth}, "
        f"batch {args.batch_size}, {args.steps} steps of which the first {args.warmup} are not timed."
        + (f" {args.note}" if args.note else ""),
        "",
        f"| loop | DataLoader workers | images/s (median of {args.repeats}) | range | vs best tutorial loop |",
        "|---|---|---|---|---|",
        *(f"| {name} | {workers} | {value:.1f} | {low:.1f}-{high:.1f} | {value / baseline:.2f}x |"
          for name, workers, value, low, high in rows),
        "",
        f"Command: `python benchmarks/trainer_throughput.py --device {args.device} --image-size {args.image_size} "
        f"--depth {args.depth} --steps {args.steps} --workers {args.workers} --repeats {args.repeats}"
        + (f" --threads {args.threads}" if args.threads else "") + (" --data DATA" if args.data else "") + "`",
        "",
    ]
    args.output.write_text("\n".join(lines))
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
