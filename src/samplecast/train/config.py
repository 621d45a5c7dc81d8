"""The knobs of a sweep in one object that is written to disk beside its results.

:class:`TrainSettings` is the protocol of one training run (step budget, batch, optimiser, augmentation);
:class:`SweepConfig` adds the dataset, the grid of (fraction, depth, seed) cells and where and how to run them.
A run's identity (:func:`run_id`) hashes everything that changes its result, and nothing that does not (output
folder, engine, device), so a rerun finds its finished runs and a changed protocol makes new ones.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from samplecast.curves import scenario_problem
from samplecast.train.unet import MODEL_NAME, min_input_multiple

ENGINES = ("local", "fused", "submitit")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
DEFAULT_DEPTHS = (4, 5, 6)
#: Runs trained together by the fused engine on a CPU unless ``group_size`` says otherwise.
CPU_GROUP_SIZE = 8
#: The deepest U-Net a sweep builds: 2**11 = 2048 pixels a side shrink to one at the bottom of a 12-level U-Net.
MAX_DEPTH = 12
#: Seeds go to NumPy and PyTorch generators, which take unsigned 32-bit seeds.
MAX_SEED = 2**32 - 1
#: Passes over the data the command line's sweeps make at least (``--min-epochs``): 1500 steps of 16 images are only
#: 33 epochs of Kvasir-SEG's 720 training images, where the largest subsets of a curve are still improving.
RECOMMENDED_MIN_EPOCHS = 100.0
#: A convergence check flags a sweep when doubling the steps of a checked subset moves test Dice this much.
CONVERGENCE_TOLERANCE = 0.01
#: The encoder's learning rate as a multiple of the run's when runs start from trained weights (``init_from``):
#: measured at 8 training cases on LA-2018 started from ACDC and on LGG started from Kvasir-SEG, where 0.1 and 0
#: (frozen) did worse (``data/README.md``, "Transfer").
DEFAULT_ENCODER_LR = 1.0


@dataclass(frozen=True)
class TrainSettings:
    """How one model is trained: the same protocol for every cell of a sweep.

    The step budget of a run on ``n`` training cases is ``max(steps, ceil(min_epochs * n / batch_size))``
    (:meth:`for_size`): ``steps`` for small subsets, and at least ``min_epochs`` passes over the data for large
    ones, so the largest subsets are not cut short by a budget sized for the smallest. ``min_epochs=0`` gives every
    run the same ``steps``.

    Args:
        steps: optimiser steps per run (the budget of the small subsets), >= 1.
        batch_size: images per step, >= 1.
        lr: peak learning rate of AdamW, reached after the warm-up and decayed to ``lr / 1000`` by a cosine.
        weight_decay: AdamW decoupled weight decay.
        warmup: fraction of the steps spent warming the learning rate up, in (0, 1).
        val_every: evaluate on the validation split every this many steps and keep the best weights;
            ``None`` checks ten times per run.
        flip_prob, brightness, contrast: augmentation strength (see :class:`~samplecast.train.augment.BatchAugment`).
        min_epochs: passes over the training subset every run makes at least (see above), >= 0; 0 keeps every
            run at ``steps`` (the command line asks for :data:`RECOMMENDED_MIN_EPOCHS`).
    """

    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: float = 0.1
    val_every: int | None = None
    flip_prob: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    min_epochs: float = 0.0

    @property
    def val_interval(self) -> int:
        """Steps between validation checks."""
        return self.val_every if self.val_every else max(1, self.steps // 10)

    def steps_for(self, n_train: int) -> int:
        """The step budget of a run on ``n_train`` cases: ``steps``, or more when that makes fewer than
        ``min_epochs`` passes over them."""
        return max(self.steps, math.ceil(round(self.min_epochs * n_train / self.batch_size, 9)))

    def for_size(self, n_train: int) -> TrainSettings:
        """These settings with the step budget resolved for ``n_train`` cases (``min_epochs`` then 0)."""
        return replace(self, steps=self.steps_for(n_train), min_epochs=0.0)

    def protocol(self) -> dict[str, Any]:
        """The settings that change a run's result; ``min_epochs`` only when used, so runs of a fixed budget keep
        the identity they had before the option existed."""
        values = asdict(self)
        if not self.min_epochs:
            del values["min_epochs"]
        return values

    def problems(self) -> list[str]:
        """Every invalid setting, one line each (empty when all are valid)."""
        found = []
        if self.steps < 1:
            found.append(f"steps must be at least 1, got {self.steps}")
        if self.batch_size < 1:
            found.append(f"batch size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            found.append(f"learning rate must be a positive number, got {self.lr}")
        if not self.weight_decay >= 0:
            found.append(f"weight decay must be >= 0, got {self.weight_decay}")
        if not 0 < self.warmup < 1:
            found.append(f"warm-up must be a fraction of the steps in (0, 1), got {self.warmup}")
        if self.val_every is not None and self.val_every < 1:
            found.append(f"validation interval must be at least 1 step, got {self.val_every}")
        if not 0 <= self.flip_prob <= 1:
            found.append(f"flip probability must lie in [0, 1], got {self.flip_prob}")
        if not (self.brightness >= 0 and 0 <= self.contrast < 1):
            found.append(f"brightness must be >= 0 and contrast in [0, 1), got {self.brightness}, {self.contrast}")
        if not (self.min_epochs >= 0 and math.isfinite(self.min_epochs)):
            found.append(f"minimum epochs must be a number >= 0, got {self.min_epochs}")
        return found


@dataclass(frozen=True)
class SubmititOptions:
    """Where ``--engine submitit`` sends runs: one SLURM job array, one task per fused group of runs (or per run).

    Args:
        cluster: ``None`` lets submitit pick (SLURM when available), ``"slurm"``, or ``"local"`` to run the array as
            local processes (for trying a sweep out, and for tests).
        partition: SLURM partition; ``None`` uses the cluster's default.
        gpus_per_job: GPUs per task.
        cpus_per_task: CPU cores per task.
        mem_gb: memory per task in GB.
        timeout_min: wall-time limit per task in minutes.
        array_parallelism: most tasks running at once.
        one_run_per_task: send one run per task instead of one fused group of runs per task.
    """

    cluster: str | None = None
    partition: str | None = None
    gpus_per_job: int = 1
    cpus_per_task: int = 4
    mem_gb: int = 16
    timeout_min: int = 60
    array_parallelism: int = 8
    one_run_per_task: bool = False


@dataclass(frozen=True)
class Cell:
    """One point of the grid: train on the first ``size`` cases of the pool in ``seed``'s order, or when ``size`` is
    ``None`` on the first ``fraction`` of it, with this depth."""

    fraction: float | None
    depth: int
    seed: int
    size: int | None = None

    @property
    def label(self) -> str:
        """e.g. ``depth 4, seed 0, fraction 0.1`` or ``depth 4, seed 0, 240 cases``."""
        amount = f"{self.size} cases" if self.size is not None else f"fraction {self.fraction:g}"
        return f"depth {self.depth}, seed {self.seed}, {amount}"


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: which data, which grid, how each run trains, and where results go.

    Args:
        data: dataset folder (see :func:`samplecast.data.load_dataset` for layouts).
        out: results folder: ``curves.csv``, ``config.json``, ``runs/<run_id>.json``, ``cases/``.
        fractions: fractions of the training pool, each in (0, 1]; ``None``: :data:`DEFAULT_FRACTIONS`, or none when
            ``sizes`` are given.
        sizes: absolute training-set sizes, each the first ``n`` cases of a seed's pool order (at most the pool):
            what a round plan asks for ("annotate up to 240 cases").
        depths: U-Net resolution levels to compare, each >= 2.
        seeds: replicate seeds; each seed permutes the pool and initialises the model differently.
        image_size: images are resampled to ``image_size`` pixels a side (volumes to ``image_size`` cubed);
            ``None`` keeps the dataset loader's default.
        test_fraction: the fixed test split, as a fraction of all cases.
        val_fraction: the fixed validation split, as a fraction of the cases left after the test split.
        split_seed: seed of the fixed test/validation split (the same for every run of a dataset).
        format, label: passed to the dataset loader (layout, and which label is the foreground).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        engine: ``local`` (one run at a time on this machine), ``fused`` (the runs of one depth trained together as
            one batched model on this machine, see :mod:`samplecast.train.loops.vmap`) or ``submitit`` (a SLURM job
            array, one fused group per task).
        workers: ``engine="local"``: runs trained at once, each in its own process sharing the device (small U-Nets
            leave most of a GPU idle, so several at once raise throughput); 1 trains in this process.
        group_size: ``engine="fused"`` or ``"submitit"``: most runs trained together; ``None`` takes as many as fit
            in the GPU's free memory (on a CPU, :data:`CPU_GROUP_SIZE`).
        threads: CPU threads of each worker process (``engine="local"``, ``workers > 1``) and, for the record, of
            the runs in this process, whose threads the caller sets (``torch.set_num_threads``; the command line
            does); ``None``: workers take their share of the free cores
            (:func:`~samplecast.train.threads.free_core_share`).
        train: the per-run training protocol.
        submitit: options for ``engine="submitit"``.
        check_convergence: after the grid, train the largest fraction of each depth again (first seed) with twice
            its steps, and the largest whose budget the step floor (``train.steps``) sets with twice the floor, and
            flag the sweep as not converged when test Dice moves by :data:`CONVERGENCE_TOLERANCE` or more (see
            :func:`samplecast.train.sweep.run_sweep`).
        init_from: start every run from trained weights instead of random ones: a weights file a sweep kept, or
            such a sweep's folder, where each depth starts from its run on the most cases
            (:mod:`samplecast.train.start`). Its checksums are part of every run's identity.
        encoder_lr: with ``init_from``, the encoder's learning rate as a multiple of ``train.lr``; 0 freezes it.
        keep_weights: keep each run's tested weights in ``out/weights/<run_id>.pt``, to start other sweeps from.
        scenario: the label of these runs in the curves table's ``scenario`` column; ``None``:
            :data:`~samplecast.curves.SCRATCH`, or ``transfer:<source name>`` with ``init_from``.

    Example:
        >>> config = SweepConfig("data/kvasir-seg", "runs/kvasir", fractions=(0.1, 0.5, 1.0), depths=(4,),
        ...                      image_size=64, train=TrainSettings(steps=300))
    """

    data: str | Path
    out: str | Path
    fractions: Sequence[float] | None = None
    depths: Sequence[int] = DEFAULT_DEPTHS
    seeds: Sequence[int] = (0,)
    image_size: int | None = None
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    split_seed: int = 0
    format: str = "auto"
    label: str | None = None
    device: str = "auto"
    engine: str = "local"
    workers: int = 1
    group_size: int | None = None
    threads: int | None = None
    train: TrainSettings = field(default_factory=TrainSettings)
    submitit: SubmititOptions = field(default_factory=SubmititOptions)
    check_convergence: bool = False
    sizes: Sequence[int] | None = None
    init_from: str | Path | None = None
    encoder_lr: float = DEFAULT_ENCODER_LR
    keep_weights: bool = False
    scenario: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", Path(self.data))
        object.__setattr__(self, "out", Path(self.out))
        if self.init_from is not None:
            object.__setattr__(self, "init_from", Path(self.init_from))
        object.__setattr__(self, "sizes", tuple(sorted({int(n) for n in self.sizes or ()})))
        fractions = self.fractions if self.fractions is not None else () if self.sizes else DEFAULT_FRACTIONS
        object.__setattr__(self, "fractions", tuple(sorted({float(f) for f in fractions})))
        object.__setattr__(self, "depths", tuple(sorted({int(d) for d in self.depths})))
        object.__setattr__(self, "seeds", tuple(sorted({int(s) for s in self.seeds})))

    def cells(self) -> list[Cell]:
        """The grid, ordered so each (depth, seed) curve fills in from the smallest fraction up, then the sizes."""
        return [cell for d in self.depths for s in self.seeds
                for cell in [*(Cell(f, d, s) for f in self.fractions), *(Cell(None, d, s, n) for n in self.sizes)]]

    def problems(self) -> list[str]:
        """Every invalid option, one line each, checked before any data is read."""
        found = []
        if not self.fractions and not self.sizes:
            found.append("no fractions or sizes given")
        found += [f"fraction {f:g} must lie in (0, 1]" for f in self.fractions if not 0 < f <= 1]
        if not self.depths:
            found.append("no depths given")
        found += [f"depth {d} must be between 2 and {MAX_DEPTH} resolution levels" for d in self.depths
                  if not 2 <= d <= MAX_DEPTH]
        if not self.seeds:
            found.append("no seeds given")
        found += [f"seed {s} must lie between 0 and {MAX_SEED}" for s in self.seeds if not 0 <= s <= MAX_SEED]
        if self.image_size is not None:
            found += size_problems((self.image_size,), self.depths)
        if not 0 < self.test_fraction < 1:
            found.append(f"test fraction must lie in (0, 1), got {self.test_fraction:g}")
        if not 0 < self.val_fraction < 1:
            found.append(f"validation fraction must lie in (0, 1), got {self.val_fraction:g}")
        from samplecast.data import FORMATS  # here, so that reading configurations stays light

        if self.format not in FORMATS:
            found.append(f"format {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.device not in DEVICES:
            found.append(f"device {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.engine not in ENGINES:
            found.append(f"engine {self.engine!r} is not one of {', '.join(ENGINES)}")
        if self.workers < 1:
            found.append(f"workers must be at least 1, got {self.workers}")
        if self.group_size is not None and self.group_size < 1:
            found.append(f"group size must be at least 1 run, got {self.group_size}")
        if self.threads is not None and self.threads < 1:
            found.append(f"threads must be at least 1, got {self.threads}")
        if not (self.encoder_lr >= 0 and math.isfinite(self.encoder_lr)):
            found.append(f"encoder learning rate must be a multiple >= 0 of the learning rate, got {self.encoder_lr}")
        elif self.init_from is None and self.encoder_lr != DEFAULT_ENCODER_LR:
            found.append("an encoder learning rate applies only to runs that start from weights (init_from)")
        problem = None if self.scenario is None else scenario_problem(self.scenario)
        if problem:
            found.append(f"scenario {problem}")
        return found + self.train.problems()

    def protocol(self) -> dict[str, Any]:
        """Everything besides the cell and the data that changes a run's result (hashed into its ``run_id``)."""
        return {
            "model": MODEL_NAME,
            "image_size": self.image_size,
            "test_fraction": self.test_fraction,
            "val_fraction": self.val_fraction,
            "split_seed": self.split_seed,
            "format": self.format,
            "label": self.label,
            "train": self.train.protocol(),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (paths as strings)."""
        values = asdict(self)
        values.update(data=str(self.data), out=str(self.out), fractions=list(self.fractions),
                      init_from=None if self.init_from is None else str(self.init_from),
                      sizes=list(self.sizes), depths=list(self.depths), seeds=list(self.seeds))
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SweepConfig:
        """Rebuild a config written by :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        values["train"] = TrainSettings(**values.get("train", {}))
        values["submitit"] = SubmititOptions(**values.get("submitit", {}))
        return cls(**values)


def dataset_key(name: str, case_ids: Sequence[str], shape: Sequence[int]) -> dict[str, Any]:
    """What identifies a loaded dataset in a protocol id: its name, a digest of its case ids and its array shape
    per case ``(C, *spatial)``."""
    return {"name": name, "cases": hashlib.sha256("\n".join(case_ids).encode()).hexdigest()[:12],
            "shape": [int(s) for s in shape]}


def protocol_id(dataset_key: dict[str, Any], protocol: dict[str, Any]) -> str:
    """A stable 12-character identity of a dataset and protocol: the runs one curves table may hold together."""
    return _digest({"dataset": dataset_key, "protocol": protocol})


def run_id(protocol: str, cell: Cell) -> str:
    """A stable 12-character identity of one run: its protocol id and its cell, by its size when it has one (a run
    on a grown pool is named by its training-set size, which a fraction of a changing pool does not fix)."""
    amount = {"fraction": cell.fraction} if cell.size is None else {"n_train": cell.size}
    return _digest({"protocol": protocol, **amount, "depth": cell.depth, "seed": cell.seed})


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def size_problems(spatial_shape: Sequence[int], depths: Sequence[int]) -> list[str]:
    """One line per depth whose U-Net cannot take images of this spatial shape: every side must divide by
    ``2 ** (depth - 1)``, and the deepest level must keep more than one pixel (instance normalisation needs two).

    A single size stands for a square (cube) of that side.
    """
    found = []
    shape = "x".join(map(str, spatial_shape))
    for depth in (d for d in depths if 2 <= d <= MAX_DEPTH):
        multiple = min_input_multiple(depth)
        bad = [s for s in spatial_shape if s < multiple or s % multiple]
        if bad:
            found.append(f"image size {shape} does not suit depth {depth}: every side must be a multiple of "
                         f"{multiple} (2 ** (depth - 1)); choose an image size such as "
                         f"{max(2 * multiple, bad[0] // multiple * multiple)}")
        elif not fits_depth(spatial_shape, depth):
            deepest = max((d for d in range(2, depth) if fits_depth(spatial_shape, d)), default=None)
            fix = f"use depths up to {deepest} or " if deepest else ""
            found.append(f"image size {shape} is too small for depth {depth}: its deepest level would be 1 pixel "
                         f"and instance normalisation needs more; {fix}an image size of at least {2 * multiple}")
    return found


def fits_depth(spatial_shape: Sequence[int], depth: int) -> bool:
    """Whether a U-Net of ``depth`` levels can train on this shape (see :func:`size_problems`)."""
    multiple = min_input_multiple(depth)
    return all(s % multiple == 0 for s in spatial_shape) and math.prod(s // multiple for s in spatial_shape) >= 2
