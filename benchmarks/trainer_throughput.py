"""Training throughput (images/s) of samplecast's engines against a plain PyTorch loop, side by side. Writes markdown.

    python benchmarks/trainer_throughput.py --quick --threads 1       # CPU: a few minutes on 2 idle cores
    python benchmarks/trainer_throughput.py --data DATA/kvasir-seg --processes 8 --workers 12
    python benchmarks/trainer_throughput.py --data DATA/kvasir-seg --groups 24 --compile-groups '' --repeats 1 \\
        --sweep-data DATA/kvasir-seg -o benchmarks/trainer_throughput_sweep_gpu.md

The second line is sized for one call of at most 8 minutes on an H100/H200 (an estimate: not run yet); the third
adds the wall time of the whole 72-run Kvasir-SEG sweep (target: 5 minutes) in a call of its own.

Every variant trains the sweep's residual U-Net (``build_unet``) with DiceCE and AdamW on the same preprocessed
images, held on the device, with the same batched augmentation:

- plain: a hand-written PyTorch loop (batch drawn on the device, AdamW foreach, bf16 autocast on GPUs that support
  it), at batch 16 and 64; on a GPU also in ``--processes`` processes at once.
- local: samplecast's one-run-at-a-time engine (``build_module`` + ``build_trainer``: Lightning, bf16-mixed on GPUs);
  on a GPU also ``--workers`` of them in worker processes, as ``samplecast sweep --engine local --workers N``.
- fused K: samplecast's fused engine step (:class:`samplecast.train.loops.vmap.FusedSteps`), K runs at batch 16 each, in
  float32 and (GPU) bf16, eager and (GPU) ``torch.compile``-d.

Timing: variants are built once and then timed in turn, ``--repeats`` rounds, so a change in machine load hits all
alike; each round runs ``--warmup`` untimed steps, then ``--steps`` steps between two CUDA events (perf_counter on the
CPU) with one synchronisation at the end; the median round is reported. A compiled variant's first step (its
compilation) is reported separately. Peak memory is the GPU's allocator peak while the variant ran (it includes the
dataset held on the GPU, 0.8 GiB for Kvasir-SEG at 256 px, and the weights of the other variants). With
``--sweep-data``, the whole Kvasir-SEG sweep (12 fractions x depths 4, 5, 6 x 2 seeds) is run with the fused engine
and its wall time, start-up, validation and test included, is reported with its Dice.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import lightning as L
import torch
from monai.losses import DiceCELoss

from samplecast.data import load_dataset, write_synthetic_2d
from samplecast.train.augment import BatchAugment
from samplecast.train.batches import RandomBatches, RunStream
from samplecast.train.config import SweepConfig, TrainSettings
from samplecast.train.device import precision_for, resolve_device
from samplecast.train.loops.lightning import build_module, build_trainer, quiet_lightning, run_limits
from samplecast.train.loops.vmap import FusedSteps, GroupRun
from samplecast.train.unet import build_unet
from samplecast.versions import package_versions

HERE = Path(__file__).resolve().parent
#: Remarks for the report gathered while the variants are built (e.g. a variant that failed to compile).
NOTES: list[str] = []
#: The Kvasir-SEG sweep of issue 11: 12 nested fractions, depths 4-6, two seeds, 1500 steps of batch 16 at 256 px.
SWEEP_FRACTIONS = (0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.75, 1.0)


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def clock() -> tuple[float, float]:
    """Wall and process CPU time, in seconds (on a shared CPU the second is what the work itself cost)."""
    return time.perf_counter(), time.process_time()


def timed(run: Callable[[int], None], warmup: int, steps: int, device: str) -> tuple[float, float | None]:
    """Wall seconds (and on the CPU, CPU seconds) ``run(steps)`` takes after ``run(warmup)``: CUDA events on a GPU,
    one sync at the end."""
    run(warmup)
    if device != "cuda":
        started = clock()
        run(steps)
        return tuple(end - start for end, start in zip(clock(), started))
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    run(steps)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000, None


class PlainLoop:
    """A hand-written training loop of one U-Net: the baseline every engine is compared with."""

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, depth: int, batch: int, device: str):
        torch.manual_seed(0)
        self.images, self.masks, self.batch, self.device = images, masks, batch, device
        self.model = build_unet(images.ndim - 2, images.shape[1], depth).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=2e-3, weight_decay=1e-4, foreach=True)
        self.loss = DiceCELoss(sigmoid=True)
        self.augment = BatchAugment()
        self.stream = RunStream(len(images), batch, 0, images.ndim - 2, images.device)
        self.bf16 = precision_for(device) == "bf16-mixed"

    def __call__(self, steps: int) -> None:
        for _ in range(steps):
            chosen, draws = self.stream.next()
            x, y = self.augment(self.images[chosen], self.masks[chosen].float(), draws)
            with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
                loss = self.loss(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)


class FusedLoop:
    """The fused engine's training step for K runs on nested subsets of the pool (as a sweep's runs are)."""

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, depth: int, batch: int, device: str, count: int,
                 dtype: torch.dtype | None, compiled: bool):
        runs = [GroupRun(torch.arange(max(1, round(len(images) * (k + 1) / count))), k % 2) for k in range(count)]
        settings = TrainSettings(steps=10**6, batch_size=batch)
        self.steps = FusedSteps(images, masks, runs, depth=depth, settings=settings, device=device)
        self.steps.model.compute_dtype = dtype
        self.compile_s: float | None = None
        if compiled:
            self.steps.model.compile()
            started = time.perf_counter()
            self(1)
            synchronize(device)
            self.compile_s = time.perf_counter() - started

    def __call__(self, steps: int) -> None:
        for _ in range(steps):
            self.steps.step()


class _Marks(L.Callback):
    """Records a CUDA event (or the time) after two given steps, without synchronising."""

    def __init__(self, first: int, last: int, device: str):
        self.at, self.device, self.marks = (first, last), device, []

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        if trainer.global_step in self.at:
            if self.device == "cuda":
                event = torch.cuda.Event(enable_timing=True)
                event.record()
                self.marks.append(event)
            else:
                self.marks.append(clock())


def local_engine_seconds(images: torch.Tensor, masks: torch.Tensor, depth: int, batch: int, device: str,
                         warmup: int, steps: int) -> tuple[float, float | None]:
    """Wall (and CPU) seconds of ``steps`` steps of samplecast's one-run-at-a-time engine, after ``warmup`` steps."""
    settings = TrainSettings(steps=warmup + steps, batch_size=batch)
    L.seed_everything(0, verbose=False)
    module = build_module(images, depth, settings)
    marks = _Marks(warmup, warmup + steps, device)
    with quiet_lightning():
        trainer = build_trainer(device=device, callbacks=[marks], **run_limits(settings))
        trainer.fit(module, RandomBatches(images, masks, batch_size=batch, seed=0))
    if device == "cuda":
        marks.marks[1].synchronize()
        return marks.marks[0].elapsed_time(marks.marks[1]) / 1000, None
    return tuple(end - start for end, start in zip(*marks.marks[::-1]))


def _process_rate(kind: str, source: Path, image_size: int, depth: int, batch: int, warmup: int, steps: int,
                  barrier) -> float:
    """Images/s of one process of a multi-process variant (started together through ``barrier``); each process
    loads the dataset from its cache, as a sweep's worker does."""
    device = resolve_device("auto")
    dataset = load_dataset(source, image_size=image_size)
    images, masks = torch.from_numpy(dataset.images).to(device), torch.from_numpy(dataset.masks).to(device)
    barrier.wait()
    if kind == "local":
        return steps * batch / local_engine_seconds(images, masks, depth, batch, device, warmup, steps)[0]
    return steps * batch / timed(PlainLoop(images, masks, depth, batch, device), warmup, steps, device)[0]


def processes_rate(kind: str, count: int, source: Path, image_size: int, depth: int, batch: int, warmup: int,
                   steps: int) -> float:
    """Images/s of ``count`` processes training at once on the device (the sum of their rates)."""
    context = multiprocessing.get_context("spawn")
    task = (kind, source, image_size, depth, batch, warmup, steps)
    with context.Manager() as manager:
        barrier = manager.Barrier(count)
        with context.Pool(count) as pool:
            rates = pool.starmap(_process_rate, [(*task, barrier)] * count)
    return sum(rates)


@dataclass
class Variant:
    name: str
    images_per_step: int
    run: Callable[[int, int], tuple[float, float | None] | float]  # (warmup, steps) -> (wall s, CPU s), or images/s
    rate: bool = False
    compile_s: float | None = None
    rates: list[float] = field(default_factory=list)
    cpu_rates: list[float] = field(default_factory=list)
    peak_gib: float | None = None


def build_variants(args, source: Path, images, masks, device: str) -> list[Variant]:
    depth, batch = args.depth, args.batch_size
    variants = []
    bf16 = precision_for(device) == "bf16-mixed"
    for size in (batch, 4 * batch):
        loop = PlainLoop(images, masks, depth, size, device)
        variants.append(Variant(f"plain PyTorch, batch {size} ({'bf16 autocast' if bf16 else 'fp32'})", size,
                                lambda w, s, loop=loop: timed(loop, w, s, device)))
    variants.append(Variant(f"samplecast local engine (Lightning, {precision_for(device)})", batch,
                            lambda w, s: local_engine_seconds(images, masks, depth, batch, device, w, s)))
    dtypes = [("fp32", None)] + ([("bf16", torch.bfloat16)] if bf16 else [])
    for count in args.groups:
        for label, dtype in dtypes:
            for compiled in ([False, True] if count in args.compile_groups else [False]):
                try:
                    loop = FusedLoop(images, masks, depth, batch, device, count, dtype, compiled)
                except Exception as exc:  # noqa: BLE001 - a variant that cannot compile is reported, not fatal
                    NOTES.append(f"fused K={count} ({label}) could not be compiled: {type(exc).__name__}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
                    continue
                variants.append(Variant(f"samplecast fused, K={count} ({label}, {'compiled' if compiled else 'eager'})",
                                        count * batch, lambda w, s, loop=loop: timed(loop, w, s, device),
                                        compile_s=loop.compile_s))
    if args.processes:
        variants.append(Variant(f"plain PyTorch, batch {batch}, {args.processes} processes", batch,
                                lambda w, s: processes_rate("plain", args.processes, source, args.image_size, depth,
                                                            batch, w, s), rate=True))
    if args.workers:
        variants.append(Variant(f"samplecast local engine, {args.workers} worker processes", batch,
                                lambda w, s: processes_rate("local", args.workers, source, args.image_size, depth,
                                                            batch, w, s), rate=True))
    return variants


def measure(variants: list[Variant], args, device: str) -> None:
    for repeat in range(args.repeats):  # interleaved, so a change in machine load hits every variant alike
        for variant in variants:
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            result = variant.run(args.warmup, args.steps)
            if variant.rate:
                variant.rates.append(result)
            else:
                images = args.steps * variant.images_per_step
                variant.rates.append(images / result[0])
                if result[1]:
                    variant.cpu_rates.append(images / result[1])
            if device == "cuda" and not variant.rate:
                variant.peak_gib = max(variant.peak_gib or 0, torch.cuda.max_memory_allocated() / 2**30)
            per_cpu = f", {variant.cpu_rates[-1]:,.0f} per CPU-second" if variant.cpu_rates else ""
            print(f"round {repeat + 1}: {variant.name}: {variant.rates[-1]:,.0f} images/s{per_cpu}", flush=True)


def sweep_wall_time(args, scratch: Path) -> list[str]:
    """Run the whole Kvasir-SEG sweep with the fused engine; its wall time and Dice as markdown lines."""
    from samplecast.train.sweep import run_sweep

    config = SweepConfig(args.sweep_data, scratch / "sweep", fractions=SWEEP_FRACTIONS, depths=(4, 5, 6),
                         seeds=(0, 1), image_size=256, engine="fused", device=args.device,
                         train=TrainSettings(steps=args.sweep_steps, batch_size=16))
    started = time.perf_counter()
    table = run_sweep(config)
    wall = time.perf_counter() - started
    ok = table[table["status"] == "ok"]
    full = ok[ok["fraction"] == 1.0].groupby("depth")["dice"].agg(["mean", "min", "max"])
    return [
        f"Whole sweep (fused engine): {len(table)} runs ({len(ok)} ok), {args.sweep_steps} steps of batch 16 at "
        f"256 px, 12 fractions x depths 4, 5, 6 x seeds 0, 1: **{wall / 60:.1f} min** wall time including start-up, "
        "dataset loading (cached), validation and test.",
        "",
        "| depth | test Dice at 100% (mean of seeds) | seeds range |",
        "|---|---|---|",
        *(f"| {depth} | {row['mean']:.3f} | {row['min']:.3f}-{row['max']:.3f} |" for depth, row in full.iterrows()),
        "",
    ]


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
    parser.add_argument("--quick", action="store_true",
                        help="CPU-sized: 64 px, depth 4, 6 timed steps (a few minutes on 2 idle cores)")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16, help="per run (the plain loop also runs 4x this)")
    parser.add_argument("--groups", default="1,8,24", help="fused group sizes K")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before each round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--compile-groups", default="24",
                        help="group sizes K also timed compiled (GPU only; each compiles for a minute or so); "
                             "'' for none")
    parser.add_argument("--processes", type=int, default=0, help="also time the plain loop in this many processes")
    parser.add_argument("--workers", type=int, default=0, help="also time the local engine in this many workers")
    parser.add_argument("--sweep-data", type=Path, help="also time the whole 72-run Kvasir-SEG sweep on this data")
    parser.add_argument("--sweep-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--note", default="", help="a remark for the table, e.g. how busy the machine was")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="markdown file [default: trainer_throughput.md on a CPU, trainer_throughput_gpu.md]")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.quick:
        args.image_size, args.depth, args.steps, args.warmup = 64, 4, 6, 2
    args.groups = [int(k) for k in str(args.groups).split(",")]
    # Compilation takes minutes on a CPU, for no GPU kernel to win: GPU only.
    args.compile_groups = [int(k) for k in args.compile_groups.split(",") if k] if device == "cuda" else []
    if args.threads:
        torch.set_num_threads(args.threads)
    output = args.output or HERE / ("trainer_throughput_gpu.md" if device == "cuda" else "trainer_throughput.md")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        source = args.data or write_synthetic_2d(Path(scratch) / "synthetic", n_cases=160, size=args.image_size)
        dataset = load_dataset(source, image_size=args.image_size)
        images, masks = torch.from_numpy(dataset.images).to(device), torch.from_numpy(dataset.masks).to(device)
        variants = build_variants(args, source, images, masks, device)
        measure(variants, args, device)
        sweep_lines = sweep_wall_time(args, Path(scratch)) if args.sweep_data else []
    load = os.getloadavg()
    best_plain = max(statistics.median(v.rates) for v in variants if v.name.startswith("plain"))
    on_cpu = all(v.cpu_rates for v in variants)
    best_plain_cpu = max(statistics.median(v.cpu_rates) for v in variants if v.name.startswith("plain")) if on_cpu \
        else None
    rows = []
    for v in variants:
        median = statistics.median(v.rates)
        per_cpu = (f" {statistics.median(v.cpu_rates):,.0f} | {statistics.median(v.cpu_rates) / best_plain_cpu:.2f}x |"
                   if on_cpu else "")
        spread = f"{min(v.rates):,.0f}-{max(v.rates):,.0f}"
        rows.append(f"| {v.name} | {median:,.0f} | {spread} | {median / best_plain:.2f}x "
                    f"|{per_cpu} {'-' if v.peak_gib is None else f'{v.peak_gib:.2f}'} "
                    f"| {'-' if v.compile_s is None else f'{v.compile_s:.0f}'} |")
    command = shlex.join(["python", "benchmarks/trainer_throughput.py", *sys.argv[1:]])
    versions = ", ".join(f"{name} {version}" for name, version in
                         package_versions(("samplecast", "torch", "monai", "lightning")).items())
    lines = [
        f"# Trainer throughput ({date.today().isoformat()})",
        "",
        f"Machine: {machine(device)}. Python {platform.python_version()}, {versions}; device `{device}`, precision "
        f"{precision_for(device)} where the variant says so.",
        f"Data: {dataset.name} ({len(dataset)} cases) at {args.image_size} px, residual U-Net depth {args.depth}, "
        f"batch {args.batch_size} per run; {args.steps} timed steps after {args.warmup} untimed ones per round, "
        f"{args.repeats} interleaved rounds. Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"(1 / 5 / 15 min). Total benchmark time {(time.perf_counter() - started) / 60:.1f} min."
        + (f" {args.note}" if args.note else ""),
        "",
        f"| variant | training images/s (median of {args.repeats}) | range | vs best plain loop |"
        + (" images per CPU-second | vs best plain loop |" if on_cpu else "")
        + " peak GPU memory (GiB) | compile (s) |",
        "|---|---|---|---|" + ("---|---|" if on_cpu else "") + "---|---|",
        *rows,
        "",
        *(f"- {note}" for note in NOTES),
        *([""] if NOTES else []),
        *sweep_lines,
        f"Command: `{command}`",
        "",
    ]
    output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
