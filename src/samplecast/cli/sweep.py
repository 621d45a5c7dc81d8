"""``sweep``: train on nested fractions of a dataset and record test Dice per run (the curves table).

Its options fill :class:`~samplecast.train.config.SweepConfig`, :class:`~samplecast.train.config.TrainSettings` and
:class:`~samplecast.train.config.SubmititOptions` (``tests/test_cli_options.py`` keeps them in step).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from samplecast.cli.errors import ON_INTERRUPT
from samplecast.cli.types import CommaList
from samplecast.curves import SCRATCH, TRANSFER_PREFIX
from samplecast.train import config as train_config  # light: no torch or MONAI until a run starts


def choose_torch_settings(concurrent: int) -> int:
    """Set torch for training in this process: the cores free now shared between the ``concurrent`` runs (fused
    groups, worker processes) training at once, or ``OMP_NUM_THREADS`` when given; cuDNN picks the fastest
    convolutions for the fixed shapes of a sweep. Returns the threads of each run."""
    import torch

    from samplecast.train.threads import free_core_share

    threads = free_core_share(concurrent)
    torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = True
    return threads


def _default_engine() -> str:
    """``fused`` where a CUDA GPU is present (many runs per GPU), ``local`` otherwise."""
    import torch

    return "fused" if torch.cuda.is_available() else "local"


@click.command()
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Results folder (curves.csv, config.json, runs/, cases/). Run again with the same folder to "
                   "resume, or with more fractions, depths or seeds to train only the new runs.")
@click.option("--fractions", type=CommaList(float), default=None,
              show_default=",".join(f"{f:g}" for f in train_config.DEFAULT_FRACTIONS) + ", none with --sizes",
              help="Fractions of the training pool, each a nested subset of the next.")
@click.option("--sizes", type=CommaList(int), default=None,
              help="Training-set sizes, e.g. 240,400: the first N cases of each seed's pool order (beside or "
                   "instead of --fractions), as a round plan asks for.")
@click.option("--depths", type=CommaList(int), default=",".join(map(str, train_config.DEFAULT_DEPTHS)),
              help="U-Net resolution levels to compare.")
@click.option("--seeds", type=CommaList(int), default="0",
              help="Replicates: each seed draws its own nested subsets and initialisation.")
@click.option("--steps", type=click.IntRange(1), default=train_config.TrainSettings.steps,
              help="Optimiser steps per run; runs on large subsets get more when --min-epochs asks for it.")
@click.option("--min-epochs", type=click.FloatRange(0), default=train_config.RECOMMENDED_MIN_EPOCHS,
              help="Passes over its training subset every run makes at least: a run on n cases trains "
                   "max(steps, ceil(min_epochs * n / batch_size)) steps, so the largest subsets are not cut short. "
                   "0 gives every run exactly --steps.")
@click.option("--check-convergence/--no-check-convergence", default=True,
              help="After the grid, train the largest fraction of each depth again with twice its steps, and the "
                   "largest whose budget --steps sets (where it exceeds --min-epochs passes) with twice --steps, and "
                   f"warn when test Dice moves by {train_config.CONVERGENCE_TOLERANCE} or more (the curve then "
                   "measures the step budget, not the data).")
@click.option("--batch-size", type=click.IntRange(1), default=train_config.TrainSettings.batch_size,
              help="Images per step.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=train_config.TrainSettings.lr,
              help="Peak learning rate (AdamW; linear warm-up, cosine decay).")
@click.option("--val-every", type=click.IntRange(1), default=None,
              help="Steps between validation checks; the best check's weights are tested. [default: steps/10]")
@click.option("--image-size", type=click.IntRange(8), default=None,
              help="Resize images to this many pixels a side (volumes to a cube); a multiple of 2**(depth-1) and at "
                   "least 2**depth, so the deepest level keeps more than one pixel. [default: 256 for 2D, 64 for 3D]")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=train_config.SweepConfig.test_fraction,
              help="Fixed test split, as a fraction of all cases; never trained on.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=train_config.SweepConfig.val_fraction,
              help="Fixed validation split, as a fraction of the cases left after the test split.")
@click.option("--format", "layout", default="auto",
              help="Dataset layout: auto (detect), folder2d (images/ and masks/, as Kvasir-SEG), decathlon or brats.")
@click.option("--label", default=None,
              help="Foreground class values, e.g. 1 or 1,2,4, or for BraTS a preset wt, tc or et.")
@click.option("--device", type=click.Choice(train_config.DEVICES), default="auto",
              help="Where to train: auto uses a CUDA GPU when there is one (bf16 mixed precision where supported).")
@click.option("--engine", type=click.Choice(train_config.ENGINES), default=_default_engine,
              show_default="fused with a CUDA GPU, else local",
              help="fused trains the runs of one depth together as one batched model on this machine (each run "
                   "exactly as alone, many times faster on a GPU); local trains one run at a time; submitit sends "
                   "fused groups to SLURM as a job array.")
@click.option("--group-size", type=click.IntRange(1), default=None,
              help="fused, submitit: most runs trained together. [default: as many as fit in GPU memory; 8 on a CPU]")
@click.option("--workers", type=click.IntRange(1), default=1,
              help="local: runs trained at once, each in its own process sharing the GPU.")
@click.option("--cluster", type=click.Choice(["slurm", "local"]), default=None,
              help="submitit: where the job array runs; local runs it as processes on this machine. "
                   "[default: SLURM when available]")
@click.option("--partition", default=None, help="submitit: SLURM partition. [default: the cluster's]")
@click.option("--gpus-per-job", type=click.IntRange(0), default=train_config.SubmititOptions.gpus_per_job,
              help="submitit: GPUs per run.")
@click.option("--cpus-per-task", type=click.IntRange(1), default=train_config.SubmititOptions.cpus_per_task,
              help="submitit: CPU cores per run.")
@click.option("--mem-gb", type=click.IntRange(1), default=train_config.SubmititOptions.mem_gb,
              help="submitit: memory per run in GB.")
@click.option("--timeout-min", type=click.IntRange(1), default=train_config.SubmititOptions.timeout_min,
              help="submitit: time limit per run in minutes.")
@click.option("--array-parallelism", type=click.IntRange(1), default=train_config.SubmititOptions.array_parallelism,
              help="submitit: most tasks at once.")
@click.option("--one-run-per-task", is_flag=True,
              help="submitit: send every run as its own task instead of one fused group per task.")
@click.option("--init-from", type=click.Path(exists=True, path_type=Path), default=None,
              help="Start every run from trained weights instead of random ones (transfer learning): a weights "
                   "file a sweep kept (OUT/weights/RUN.pt) or such a sweep's folder, where each depth starts from "
                   "its run on the most cases. Make a source with --keep-weights, e.g. "
                   "`samplecast sweep related/ --out src --fractions 1 --depths 4 --keep-weights`.")
@click.option("--encoder-lr", type=float, default=train_config.DEFAULT_ENCODER_LR, show_default=True,
              help="With --init-from: the encoder's learning rate as a multiple of --lr; 0 freezes the encoder.")
@click.option("--keep-weights", is_flag=True,
              help="Keep each run's tested weights in OUT/weights/, so other sweeps can start from them.")
@click.option("--scenario", default=None,
              show_default=f"{SCRATCH}, or {TRANSFER_PREFIX}SOURCE with --init-from",
              help="Label of these runs in the curves table's scenario column: forecast and report compare the "
                   "scenarios of one dataset side by side.")
def sweep(data, out, fractions, sizes, depths, seeds, steps, min_epochs, check_convergence, batch_size, lr, val_every,
          image_size, test_fraction, val_fraction, layout, label, device, engine, group_size, workers, cluster,
          partition, gpus_per_job, cpus_per_task, mem_gb, timeout_min, array_parallelism, one_run_per_task,
          init_from, encoder_lr, keep_weights, scenario):
    """Train a residual U-Net on nested fractions of the dataset DATA and record test Dice per run.

    Every (fraction, depth, seed) run appends a row to OUT/curves.csv, the input of `samplecast forecast`.
    Finished runs are never redone: an interrupted sweep resumes where it stopped. Dataset problems and fractions
    too small for the training pool are reported before anything trains.

    Example: samplecast sweep data/kvasir-seg --out runs/kvasir --fractions 0.05,0.1,0.2,0.5,1 --depths 4,5
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from samplecast.train.record import read_convergence
    from samplecast.train.sweep import run_sweep

    threads = None if engine == "submitit" else choose_torch_settings(workers if engine == "local" else 1)
    config = train_config.SweepConfig(
        data, out, fractions=fractions, sizes=sizes, depths=depths, seeds=seeds, image_size=image_size,
        test_fraction=test_fraction, val_fraction=val_fraction, format=layout, label=label, device=device,
        engine=engine, workers=workers, group_size=group_size, threads=threads, check_convergence=check_convergence,
        init_from=init_from, encoder_lr=encoder_lr, keep_weights=keep_weights, scenario=scenario,
        train=train_config.TrainSettings(steps=steps, batch_size=batch_size, lr=lr, val_every=val_every,
                                         min_epochs=min_epochs),
        submitit=train_config.SubmititOptions(cluster=cluster, partition=partition, gpus_per_job=gpus_per_job,
                                 cpus_per_task=cpus_per_task, mem_gb=mem_gb, timeout_min=timeout_min,
                                 array_parallelism=array_parallelism, one_run_per_task=one_run_per_task),
    )
    # Ctrl-C between runs says how many finished (SweepInterrupted); one while the sweep stops, this
    click.get_current_context().meta[ON_INTERRUPT] = "interrupted; rerun the same command to resume"
    columns = [TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()]
    summary = {}
    with Progress(*columns, transient=True) as bar:
        reading = bar.add_task("reading dataset", total=None)

        def on_progress(state) -> None:
            summary["state"] = state
            current = f" · {state.current.label} ({state.step}/{state.steps} steps)" if state.current else ""
            bar.update(reading, description=f"runs {state.done}/{state.total}{current}", total=max(state.total, 1),
                       completed=state.done + (state.step / state.steps if state.steps else 0))

        table = run_sweep(config, progress=on_progress,
                          load_progress=lambda done, total: bar.update(reading, completed=done, total=total))
    state = summary["state"]
    failed = f", {state.failed} failed" if state.failed else ""
    runs = state.done - state.checks
    checks = f" and {state.checks} convergence check{'s' if state.checks != 1 else ''}" if state.checks else ""
    click.echo(f"Trained {runs} run{'s' if runs != 1 else ''}{checks}{failed}; {state.finished_before} were "
               f"already finished. {len(table)} rows in {Path(out) / 'curves.csv'}")
    warning = not_converged_warning(read_convergence(out) or {})
    if warning:
        click.echo(warning, err=True)
    done = table[table["status"] == "ok"]
    if len(done):
        grid = done.pivot_table(index="n_train", columns=["depth", "seed"], values="dice")
        view = Table(title="test Dice", title_justify="left")
        view.add_column("n_train", justify="right")
        for depth, seed in grid.columns:
            view.add_column(f"depth {depth} seed {seed}", justify="right")
        for n_train, values in grid.iterrows():
            view.add_row(f"{n_train:,}", *("" if v != v else f"{v:.3f}" for v in values))
        Console().print(view)


def not_converged_warning(convergence: dict) -> str | None:
    """The warning line for a sweep whose convergence checks moved test Dice by the tolerance or more (as
    :func:`~samplecast.train.record.read_convergence` gives them), naming each check, depth and change and the
    options that raise that budget; ``None`` when converged or not known."""
    from samplecast.train.record import convergence_moves

    if convergence.get("converged") is not False:
        return None
    moves = convergence_moves(convergence)
    options = ("--steps and --min-epochs" if len(moves) == 2 else "--steps" if "floor" in moves
               else "--min-epochs or --steps")
    return (f"warning: not converged: {'; '.join(moves.values())}; the curve measures the step budget as much as "
            f"the data (raise {options})")
