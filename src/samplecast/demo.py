"""The whole product from nothing, on a laptop CPU: generate a synthetic polyp dataset, sweep nested fractions and two
U-Net depths, forecast the learning curves, and write the planner's report.

Everything lands in one folder: ``synthetic-polyps/`` (the generated images), ``runs/``, ``cases/``, ``config.json`` and
``curves.csv`` (the sweep, see :func:`samplecast.train.sweep.run_sweep`), and ``report.pdf``. Rerunning into the same
folder trains nothing again: the sweep finds its finished runs.

Example:
    >>> result = run_demo("samplecast-demo")  # doctest: +SKIP
    >>> result.report
    PosixPath('samplecast-demo/report.pdf')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from samplecast.errors import raise_if_any
from samplecast.forecast.methods import DEFAULT_METHOD, make_forecaster
from samplecast.plan import CurvePlan, PlanOptions
from samplecast.train.config import SweepConfig, TrainSettings, size_problems

DATA_DIR = "synthetic-polyps"
REPORT_FILE = "report.pdf"
CURVES_FILE = "curves.csv"


@dataclass(frozen=True)
class DemoSettings:
    """How big the demo is. The defaults take about 25 s of CPU time on a 2-core CPU (the README has measurements).

    Small images and a short, fast training schedule (70 steps of 4 images at a peak learning rate of 0.01) keep
    each run to about a second while Dice still rises with the training set and levels off, as real learning curves
    do. The runs of each depth train as one fused group (:mod:`samplecast.train.loops.vmap`), faster than one at a
    time here, and the fused loop does not load Lightning.

    Args:
        cases: synthetic cases generated (a fifth is the test split, a tenth of the rest validation).
        image_size: pixels a side.
        fractions: fractions of the training pool swept.
        depths: the U-Net depths compared.
        steps: optimiser steps per run.
        batch_size: images per step.
        lr: peak learning rate.
        seed: seed of the generated data and of the runs.
        target_dice: the Dice the report asks for.
        pool_size: cases that could be annotated in all (the report forecasts Dice there).
        cost_per_case: cost of annotating one case, for the report's costs.
        method: forecasting method (the command line's default).
        threads: CPU threads of the training, for the sweep's record (the caller sets torch's threads; the command
            line shares the free cores); ``None`` records torch's setting.
    """

    cases: int = 200
    image_size: int = 32
    fractions: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
    depths: tuple[int, ...] = (2, 3)
    steps: int = 70
    batch_size: int = 4
    lr: float = 0.01
    seed: int = 0
    target_dice: float = 0.60
    pool_size: int = 1000
    cost_per_case: float = 4.0
    method: str = DEFAULT_METHOD
    threads: int | None = None

    def problems(self) -> list[str]:
        """Every invalid setting, one line each."""
        found = []
        if self.cases < 20:
            found.append(f"demo cases must be at least 20 (for test, validation and training splits), got {self.cases}")
        return found + self.train_settings().problems() + size_problems((self.image_size,), self.depths)

    def train_settings(self) -> TrainSettings:
        """How each run of the demo's sweep trains."""
        return TrainSettings(steps=self.steps, batch_size=self.batch_size, lr=self.lr)

    def sweep_config(self, data: Path, out: Path) -> SweepConfig:
        """The sweep these settings describe, on the generated data, writing into ``out``."""
        return SweepConfig(data, out, fractions=self.fractions, depths=self.depths, seeds=(self.seed,),
                           image_size=self.image_size, device="cpu", engine="fused",
                           group_size=len(self.fractions), threads=self.threads, train=self.train_settings())

    def plan_options(self) -> PlanOptions:
        """The planner's questions the report answers."""
        return PlanOptions(target_dice=self.target_dice, pool_size=self.pool_size, cost_per_case=self.cost_per_case)


@dataclass(frozen=True)
class DemoProgress:
    """Where the demo stands, passed to the progress callback.

    Args:
        stage: ``data``, ``sweep``, ``forecast`` or ``report``.
        detail: what is happening, in words (the run training, the section being written).
        done, total: units of the stage finished and in all (training steps during the sweep).
    """

    stage: str
    detail: str = ""
    done: int = 0
    total: int = 0


@dataclass
class DemoResult:
    """What the demo wrote, and the plans behind the report."""

    out: Path
    data: Path
    curves: Path
    report: Path
    plans: list[CurvePlan] = field(repr=False)
    wall_s: float = 0.0


def run_demo(out: str | Path, settings: DemoSettings = DemoSettings(), *,
             progress: Callable[[DemoProgress], None] | None = None) -> DemoResult:
    """Generate data, sweep, forecast and report into ``out``; return where everything is.

    Raises:
        InputError: for invalid settings, before anything is written.
    """
    # Imported here so that reading DemoSettings (the command line's defaults) does not load torch and matplotlib.
    from samplecast.curves import load_curves
    from samplecast.data.synthetic import write_synthetic_2d
    from samplecast.plan import plan_curves, plan_document
    from samplecast.report import render_report
    from samplecast.train.sweep import SweepProgress, run_sweep

    raise_if_any(settings.problems())
    started = time.perf_counter()
    out = Path(out)
    tell = progress or (lambda state: None)

    tell(DemoProgress("data", f"generating {settings.cases} synthetic images", 0, settings.cases))
    data = write_synthetic_2d(out / DATA_DIR, n_cases=settings.cases, size=settings.image_size, seed=settings.seed)

    reached = [0]

    def on_sweep(state: SweepProgress) -> None:
        # The runs of a depth train together (one fused group per depth), so all of them advance with each step;
        # their records arrive one by one after the group's last step, so progress never moves back.
        steps, running = settings.steps, min(len(settings.fractions), state.total - state.done)
        if state.current:
            detail = (f"runs {state.done + 1}-{state.done + running} of {state.total} · depth {state.current.depth}, "
                      f"seed {state.current.seed}, trained together")
        else:
            detail = f"{state.done} of {state.total} runs done"
        reached[0] = max(reached[0], state.done * steps + (running * state.step if state.current else 0))
        tell(DemoProgress("sweep", detail, reached[0], state.total * steps))

    run_sweep(settings.sweep_config(data, out), progress=on_sweep)
    curves_path = out / CURVES_FILE

    tell(DemoProgress("forecast", f"fitting '{settings.method}' to each learning curve"))
    plans = plan_curves(load_curves(curves_path), settings.plan_options(), make_forecaster(settings.method))

    report = render_report(plan_document(plans, settings.method, source=curves_path), out / REPORT_FILE,
                           progress=lambda section: tell(DemoProgress("report", section)))
    return DemoResult(out, data, curves_path, report, plans, time.perf_counter() - started)
