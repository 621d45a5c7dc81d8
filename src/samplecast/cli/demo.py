"""``demo``: samplecast end to end on generated data."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from samplecast.cli.forecast import print_answers
from samplecast.cli.progress import plain_progress
from samplecast.cli.sweep import choose_torch_settings
from samplecast.demo import DemoSettings  # light: torch and matplotlib load when the demo runs


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="samplecast-demo",
              help="Folder for everything the demo writes: the generated images, the sweep's runs, curves.csv "
                   "and report.pdf. Running again into the same folder trains nothing twice.")
@click.option("--cases", type=click.IntRange(20), default=DemoSettings.cases,
              help="Synthetic images to generate; fewer is faster.")
@click.option("--steps", type=click.IntRange(1), default=DemoSettings.steps,
              help="Training steps per run; fewer is faster, more gives higher Dice.")
def demo(out, cases, steps):
    """Run samplecast end to end on generated data: about 25 s of CPU time on a 2-core CPU (measured: 22 s of wall
    time idle, 40 s beside two CPU-bound processes, 90 s on a busier machine; the README has the details).

    Generates a synthetic polyp dataset, trains residual U-Nets of two depths on nested fractions of it, forecasts
    the learning curves and writes the planner's report. Then try `samplecast report OUT/curves.csv` with your
    own target.
    """
    from dataclasses import replace

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from samplecast.demo import DemoProgress, run_demo

    settings = replace(DemoSettings(), cases=cases, steps=steps, threads=choose_torch_settings(1))
    console = Console()
    if console.is_terminal:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("starting", total=None)

            def on_progress(state: DemoProgress) -> None:
                bar.update(task, description=f"{state.stage}: {state.detail}", completed=state.done,
                           total=state.total or None)

            result = run_demo(out, settings, progress=on_progress)
    else:  # a log file or a pipe: plain lines, when the stage changes and every few seconds
        result = run_demo(out, settings, progress=plain_progress())
    print_answers(console, result.plans, [result.curves])
    console.print(f"Done in {result.wall_s:.0f} s.\n  curves: {result.curves}\n  report: {result.report}")
