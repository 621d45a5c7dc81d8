"""The ``samplecast`` command line: one small function per command, each parsing options, calling the library, printing.

Bad input raised by the library as :class:`~samplecast.errors.InputError` is turned into one ``error:`` line per
problem on stderr and exit code 2, in one place (:class:`SamplecastGroup`), so no command repeats that handling.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from samplecast import __version__
from samplecast.demo import DemoSettings  # light: torch and matplotlib load when the demo runs
from samplecast.errors import InputError
from samplecast.files import output_file_problem
from samplecast.train import config as train_config  # light: no torch or MONAI until a run starts

#: Without a terminal, long jobs print a progress line at most this often (seconds), and not before.
PLAIN_PROGRESS_EVERY_S = 10.0


class BadInput(click.ClickException):
    """Exit code 2 with one ``error:`` line per problem, no traceback."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def show(self, file=None) -> None:  # noqa: D102 - click's hook
        for problem in self.problems:
            click.echo(f"error: {problem}", err=True, file=file)


class CommaList(click.ParamType):
    """A comma-separated list of at least one item, e.g. ``0.1,0.2,0.5``; ``kind`` converts each item, and with
    ``minimum`` each must be at least that (other range checks belong to the library that uses the values)."""

    def __init__(self, kind: type = float, minimum: float | None = None):
        self.kind = kind
        self.minimum = minimum
        self.name = f"{kind.__name__}[,{kind.__name__}...]"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        try:
            items = [self.kind(item) for item in str(value).split(",") if item.strip()]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__} values", param, ctx)
        if not items:
            self.fail(f"{value!r} holds no item; expected e.g. 1,2,3", param, ctx)
        if self.minimum is not None and not all(x >= self.minimum for x in items):  # NaN fails too
            self.fail(f"{value!r}: every value must be a number of at least {self.minimum:g}", param, ctx)
        return items


class FiniteRange(click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (which compare false with every bound)."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class ShortfallCost(click.ParamType):
    """What missing the target costs: an amount (``50000``) or a multiple of the pool's annotation cost (``3x``),
    checked by the planner's own rule."""

    name = "AMOUNT|Nx"

    def convert(self, value, param, ctx):
        from samplecast.forecast.rounds import shortfall_problem

        text = str(value).strip()
        problem = shortfall_problem(text)
        if problem:
            self.fail(problem.replace("shortfall_cost ", ""), param, ctx)
        return text if text.lower().endswith("x") else float(text)


class OutputFile(click.Path):
    """A file to write, checked before any work starts: not a folder, and writable where it is (or will be)."""

    def __init__(self):
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        problem = output_file_problem(path)
        if problem:
            self.fail(problem, param, ctx)
        return path


class SamplecastGroup(click.Group):
    """A click group that reports the library's :class:`InputError`, and click's own usage errors (a bad option
    value, a missing argument), as :class:`BadInput`: one ``error:`` line each, exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise BadInput(exc.problems) from None
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            raise BadInput([f"{exc.format_message()} (see '{where} --help')"]) from None


@click.group(cls=SamplecastGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="samplecast")
def cli() -> None:
    """How many images must you annotate before your segmentation model is good enough?

    samplecast trains a residual U-Net on growing, nested fractions of the data annotated so far (sweep),
    extrapolates the learning curve of Dice against training-set size (forecast), and writes a recommendation
    a planner can act on (report). Start with `samplecast demo`.
    """


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield ``advance(done, total)``: a rich bar on a terminal, otherwise a plain line on stderr every
    :data:`PLAIN_PROGRESS_EVERY_S` seconds once a job has run that long (quick jobs print nothing)."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = [TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    last = [time.monotonic()]

    def line(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= PLAIN_PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            click.echo(f"{description}: {done:,} of {total:,}", err=True)

    yield line


def forecast_options(command):
    """The options shared by ``forecast`` and ``report``: method and the planner's questions."""
    from samplecast.forecast.methods import DEFAULT_METHOD, METHOD_NAMES
    from samplecast.forecast.rounds import DEFAULT_SHORTFALL

    options = [
        click.option("--method", type=click.Choice(list(METHOD_NAMES)), default=DEFAULT_METHOD,
                     help="Forecasting method: a curve family, 'average' (model-averaged families) or a learned one."),
        click.option("--target-dice", type=FiniteRange(0, 1, min_open=True, max_open=True),
                     help="Dice the model must reach; answers how many cases that takes."),
        click.option("--confidence", type=FiniteRange(0, 1, min_open=True, max_open=True), default=0.8,
                     help="Probability with which the target must be reached: 0.8 means at least 4 chances in 5."),
        click.option("--plateau-gain", type=FiniteRange(0, min_open=True), default=0.01,
                     help="Dice gain per doubling of the data below which more data no longer pays."),
        click.option("--pool-size", type=click.IntRange(1),
                     help="Cases that could be annotated in all, those used included; no answer exceeds it "
                          "(without it, sizes up to 20x the largest observed are searched)."),
        click.option("--cost-per-case", type=FiniteRange(0), help="Cost of annotating one case."),
        click.option("--rounds", type=click.IntRange(1),
                     help="Rounds of annotation left, counting the next one: the plan in rounds says how many cases "
                          "to annotate now, to retrain and plan again. 1 is the one-shot decision. Needs "
                          "--target-dice.  [default: 3 with a target]"),
        click.option("--shortfall-cost", type=ShortfallCost(), default=DEFAULT_SHORTFALL,
                     help="What missing the target after the last round costs, for the plan in rounds: an amount in "
                          "the currency of --cost-per-case (in cases without it), or Nx, N times the cost of "
                          "annotating the whole pool. The default says a shortfall wastes the pool's annotation "
                          "several times over."),
        click.option("--average-seeds", is_flag=True,
                     help="Treat the seeds of a configuration as replicates of one curve."),
        click.option("--forecaster", type=click.Path(file_okay=False, path_type=Path),
                     help="A forecaster folder written by `samplecast surrogate build`: its ensemble weights, LSTM "
                          "and backtest (for how far to trust the answer) replace those shipped with samplecast."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: The options of :func:`forecast_options`, which a plan document already fixes.
PLAN_OPTIONS = ("method", "target_dice", "confidence", "plateau_gain", "pool_size", "cost_per_case", "rounds",
                "shortfall_cost", "average_seeds", "forecaster")


def _plan(curves_path, method, average_seeds, folder, at=None, **asked):
    """The plans of every curve, forecast with the method of the forecaster ``folder`` (a ForecasterFolder);
    ``asked`` holds the planner's options (:class:`~samplecast.plan.PlanOptions`)."""
    from samplecast.curves import load_curves
    from samplecast.forecast.methods import make_forecaster
    from samplecast.plan import PlanOptions, plan_curves

    options = PlanOptions(**asked)
    curves = load_curves(curves_path, average_seeds=average_seeds)
    with progress_bar("forecasting curves") as advance:
        return plan_curves(curves, options, make_forecaster(method, folder), at=at, progress=advance)


def _print_answers(console, plans) -> None:
    """Each curve's label, then its recommendation in words, then any warnings (what `report` and `demo` print)."""
    for plan in plans:
        console.print(f"[bold]{plan.forecast.curve.label}[/bold]", highlight=False)
        for sentence in plan.recommendation.sentences():
            console.print(f"  {sentence}", highlight=False)
    _print_footer(console, plans)


def _print_footer(console, plans) -> None:
    from samplecast.plan import confidence_words

    if plans[0].options.target_dice is not None:
        console.print(confidence_words(plans[0].options.confidence), highlight=False)
    for warning in (w for p in plans for w in p.warnings):
        console.print(f"[bold]warning:[/bold] {warning}", highlight=False)


def _write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


@cli.command()
@click.argument("curves", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--at", type=CommaList(int, minimum=1), help="Sizes to forecast, e.g. 500,1000,2000 "
              "(default: doubling from the largest observed size to the pool size or 4x).")
@forecast_options
@click.option("--json", "json_path", type=OutputFile(),
              help="Also write the plan document (forecasts, recommendation, target table, marginal value, "
                   "warnings, trust figures) as JSON, for scripts and `samplecast report --plan`.")
def forecast(curves, at, method, average_seeds, forecaster, json_path, **asked):
    """Forecast Dice at larger training sets from a curves table (CSV with n_train and dice columns).

    Prints, per curve, quantiles of Dice at the requested sizes and the recommendation in words.

    Example: samplecast forecast data/kvasir_reference_curves.csv --target-dice 0.8 --pool-size 1000
    """
    from samplecast.forecast.folder import ForecasterFolder
    from samplecast.forecast.predict import quantile_name

    folder = ForecasterFolder.open(forecaster)
    plans = _plan(curves, method, average_seeds, folder, at=at, **asked)
    console = Console()
    for plan in plans:
        fc = plan.forecast
        table = Table(title=f"{fc.curve.label}  ({method}; observed up to n={fc.curve.n_max:,.0f})",
                      title_justify="left")
        table.add_column("n", justify="right")
        for level in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95):
            table.add_column(quantile_name(level), justify="right", style="bold" if level == 0.5 else None)
        for record in fc.records():
            table.add_row(f"{record['n']:,}", *(f"{v:.3f}" for k, v in record.items() if k != "n"))
        console.print(table)
        for sentence in plan.recommendation.sentences():
            console.print(f"  {sentence}", highlight=False)
        console.print()
    _print_footer(console, plans)
    if json_path is not None:
        from samplecast.plan import plan_document

        plan_document(plans, method, source=curves, folder=folder).write(json_path)
        console.print(f"Wrote {json_path}")


@cli.command()
@click.argument("curves", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cutoffs", type=CommaList(float), default=None,
              help="Fractions of each curve's largest size at which to cut it.  [default: 0.1,0.2,0.3,0.5; with "
                   "--decisions 0.1,0.2]")
@click.option("--methods", type=CommaList(str), default=None,
              help="Methods to compare (default: the classical families and the default method); with "
                   "--decisions, the one method whose forecasts the planner follows (default: the default method).")
@click.option("--decisions", is_flag=True,
              help="Replay the planner instead: from each prefix, for targets at the Dice the complete curve "
                   "measures at 50% and 100% of its largest size minus 0.02, annotate as each policy says (one "
                   "shot at 50/80/95% confidence, the plan in 1, 2, 3 and 5 rounds, a power law's median), reveal "
                   "the Dice measured there, and score targets reached and cases spent against the fewest that "
                   "sufficed.")
@click.option("--json", "json_path", type=OutputFile(),
              help="Also write the summary and every scored forecast (or decision) as JSON.")
def backtest(curves, cutoffs, methods, decisions, json_path):
    """Measure how wrong each method has been: forecast the final size of complete curves from their prefixes.

    Reports per method and cutoff the MAE of the median, its bias and how often the 80% and 90% intervals held
    the truth; with --decisions, what following the planner would have done.
    """
    from samplecast.curves import load_curves
    from samplecast.forecast import evaluate as bt
    from samplecast.forecast.evaluate import decisions as replay
    from samplecast.forecast.methods import DEFAULT_METHOD, METHOD_NAMES, make_forecaster

    methods = methods or ([DEFAULT_METHOD] if decisions else list(bt.DEFAULT_METHODS))
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise click.BadParameter(f"unknown method {', '.join(unknown)}; choose from {', '.join(METHOD_NAMES)}",
                                 param_hint="--methods")
    if decisions and len(methods) > 1:
        raise click.BadParameter("with --decisions, name one method", param_hint="--methods")
    console = Console()
    table_of = load_curves(curves)
    learned = _learned_from(curves, methods)
    if decisions:
        with progress_bar("replaying decisions") as advance:
            results = replay.replay_decisions(table_of, make_forecaster(methods[0]),
                                              cutoffs=cutoffs or replay.DECISION_CUTOFFS, progress=advance)
        summary = replay.summarize_decisions(results)
        table = Table(title=f"Decisions replayed on {results['curve'].nunique()} curves from {curves} "
                            f"({methods[0]})", title_justify="left")
        for column in ("policy", "decisions", "reached", "cases / fewest (median)", "not reachable or stop",
                       "rounds"):
            table.add_column(column, justify="left" if column == "policy" else "right")
        for row in summary.itertuples():
            ratio = "-" if row.cases_ratio_median != row.cases_ratio_median else f"{row.cases_ratio_median:.2f}x"
            table.add_row(row.policy, str(row.decisions), f"{row.reached:.0%}", ratio, f"{row.said_unreachable:.0%}",
                          f"{row.rounds_used:.1f}")
    else:
        with progress_bar("backtesting curves") as advance:
            results = bt.backtest(table_of, [make_forecaster(m) for m in methods], cutoffs or bt.DEFAULT_CUTOFFS,
                                  progress=advance)
        summary = bt.summarize(results)
        table = Table(title=f"Backtest of {results['curve'].nunique()} curves from {curves}", title_justify="left")
        for column in ("method", "cutoff", "curves", "MAE", "bias", "cover 80%", "cover 90%", "width 80%"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for row in summary.itertuples():
            table.add_row(row.method, f"{row.cutoff:g}", str(row.curves), f"{row.mae:.3f}", f"{row.bias:+.3f}",
                          f"{row.coverage80:.0%}", f"{row.coverage90:.0%}", f"{row.width80:.3f}")
    console.print(table)
    if learned:
        console.print(f"note: {', '.join(learned)} learned from the curves of {curves.name} (the shipped forecaster "
                      "was built from them), so these figures are in-sample; the held-out figures are in "
                      "benchmarks/forecast_accuracy.md and decision_quality.md.", highlight=False)
    if json_path is not None:
        # pandas writes NaN and infinite ratios (target never reached) as null: strict JSON for any reader
        document = {"summary": json.loads(summary.to_json(orient="records")),
                    ("decisions" if decisions else "forecasts"): json.loads(results.to_json(orient="records"))}
        _write_json(json_path, document)
        console.print(f"Wrote {json_path}")


def _learned_from(curves: Path, methods: list[str]) -> list[str]:
    """The learned methods among ``methods`` whose shipped forecaster learned from the curves file ``curves``."""
    from samplecast.forecast.build import LEARNED
    from samplecast.forecast.evaluate import read_summary
    from samplecast.forecast.folder import ForecasterFolder

    summary = read_summary(ForecasterFolder.open().backtest_summary())
    learned = summary is not None and curves.name in summary.curve_files()
    return [m for m in methods if m in LEARNED] if learned else []


@cli.group()
def surrogate() -> None:
    """The learned forecaster: build one from your own complete learning curves (build), or train its LSTM (train)."""


@surrogate.command("train")
@click.argument("corpus", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Weights file to write (.npz); its settings go to the .json of the same name beside it.")
@click.option("--epochs", type=click.IntRange(1), default=5, help="Passes over the training corpus.")
@click.option("--lr", type=float, default=1e-3, help="Peak learning rate (AdamW), a number above 0.")
@click.option("--start", default="shipped",
              help="Weights to start from: 'shipped' (fine-tune the model shipped with samplecast), 'scratch' "
                   "(new weights), or a .npz file written by this command.")
@click.option("--prior-curves", type=click.IntRange(0), default=20_000,
              help="Synthetic curves mixed into each epoch so the model keeps what the prior taught it "
                   "(your curves make up about a quarter); 0 trains on your curves alone.")
@click.option("--calibrate", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Curves table held out from CORPUS to calibrate the intervals on (repeatable); without it the "
                   "model's intervals are uncalibrated.")
@click.option("--average-seeds", is_flag=True, help="Treat the seeds of a configuration as replicates of one curve.")
@click.option("--seed", type=click.IntRange(0), default=0, help="Seed of the initialisation and sampling.")
def surrogate_train(corpus, output, epochs, lr, start, prior_curves, calibrate, average_seeds, seed):
    """Train the surrogate on complete learning curves (curves tables with n_train and dice), e.g. your past sweeps.

    A curve with more than a few dozen sizes is thinned to that many, spread evenly in log n.

    Then build a forecaster with it: samplecast surrogate build CURVES... --start model.npz -o DIR

    Example: samplecast surrogate train sweeps/*.csv -o model.npz --calibrate held_out.csv
    """
    from rich.progress import Progress

    from samplecast.forecast import surrogate as sg

    sg.check_output(output)
    settings = sg.TrainingConfig(epochs=epochs, lr=lr, seed=seed)
    curves = sg.load_training_curves(corpus, average_seeds=average_seeds)
    held_out = sg.load_training_curves(calibrate, average_seeds=average_seeds) if calibrate else []
    initial = {"shipped": sg.load_surrogate, "scratch": lambda: None}.get(start, lambda: sg.load_surrogate(start))()
    with Progress(transient=True) as progress:
        task = progress.add_task("training", total=epochs)

        def advance(epoch: int, total: int, loss: float, _validation: float | None) -> None:
            progress.update(task, completed=epoch, description=f"epoch {epoch}/{total}  pinball loss {loss:.4f}")

        model = sg.train_on_curves(curves, start=initial, prior_curves=prior_curves, calibration_curves=held_out,
                                   settings=settings, progress=advance)
    sg.save_surrogate(model, output)
    click.echo(f"Trained on {model.training['corpus']}; final pinball loss {model.training['final_train_loss']:.4f}.")
    click.echo(f"Wrote {output} and {output.with_suffix('.json')}"
               + ("" if held_out else " (intervals uncalibrated: pass --calibrate with held-out curves)"))


@surrogate.command("build")
@click.argument("curves", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the forecaster into (created if needed; files of an earlier build there are "
                   "replaced, all at once, only when the build succeeds).")
@click.option("--pretrain", is_flag=True,
              help="Pre-train a new LSTM on synthetic curves from the prior instead of starting from trained weights "
                   "(by far the longest part of a build with the defaults; each epoch is reported as it ends).")
@click.option("--start", default=None, show_default="shipped",
              help="Trained LSTM weights to start from: 'shipped' (the model shipped with samplecast) or a .npz file "
                   "written by `samplecast surrogate train` (if it was trained on CURVES, the LSTM's backtest is not "
                   "out of sample).")
@click.option("--fine-tune", is_flag=True,
              help="Fine-tune the started LSTM on CURVES, mixed with synthetic curves; done again for each held-out "
                   "image set of the backtest, without it, so its figures stay out of sample (one training per image "
                   "set, plus one).")
@click.option("--epochs", type=click.IntRange(1), default=None, show_default="12 with --pretrain, 5 with --fine-tune",
              help="Passes over the training curves.")
@click.option("--lr", type=FiniteRange(0, min_open=True), default=None,
              show_default="0.003 with --pretrain, 0.001 with --fine-tune", help="Peak learning rate (AdamW).")
@click.option("--prior-curves", type=click.IntRange(1), default=None,
              show_default="150000 with --pretrain, 20000 with --fine-tune",
              help="Synthetic curves from the prior trained on (with --fine-tune: mixed with CURVES).")
@click.option("--hidden", type=click.IntRange(1), default=128, help="--pretrain: LSTM units and head width.")
@click.option("--seed", type=click.IntRange(0), default=0, help="Seed of the initialisation and the curves drawn.")
@click.option("--image-set", "image_sets", multiple=True, metavar="FILE=NAME",
              help="The images a curves file was measured on (repeatable); files of one image set are held out "
                   "together in the backtest.  [default: the file's dataset column, else its name]")
@click.option("--cutoffs", type=CommaList(float), default="0.1,0.2,0.3,0.5",
              help="Fractions of each curve's largest size at which the backtest cuts it.")
@click.pass_context
def surrogate_build(ctx, curves, output, pretrain, start, fine_tune, epochs, lr, prior_curves, hidden, seed,
                    image_sets, cutoffs):
    """Build a complete forecaster from complete learning curves (curves tables of at least two image sets): the
    LSTM with intervals widened on CURVES, the ensemble's weights learned on CURVES, and their leave-one-dataset-out
    backtest, where every part learned from CURVES is learned again without the image set it is scored on.

    Then forecast with it: samplecast forecast CURVES.csv --forecaster DIR (and report ... --forecaster DIR).

    Example: samplecast surrogate build sweeps/*.csv -o my-forecaster
    """
    from dataclasses import replace

    from samplecast.forecast import build as fb
    from samplecast.forecast.surrogate import SurrogateConfig, load_corpus, load_surrogate

    fb.check_output_folder(output)
    if pretrain and start is not None:
        raise click.UsageError("--pretrain and --start: give one (a new LSTM, or trained weights to start from)")
    if fine_tune and pretrain:
        raise click.UsageError("--fine-tune applies to --start; a pre-trained LSTM learns from the prior only")
    training = {"epochs", "lr", "prior_curves", "seed"}
    allowed = training | {"hidden"} if pretrain else training if fine_tune else set()
    unused = [name for name in (*sorted(training), "hidden") if name not in allowed
              and ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE]
    if unused:
        raise click.UsageError(f"{', '.join('--' + name.replace('_', '-') for name in unused)}: only with --pretrain"
                               + ("" if "hidden" in unused else " or --fine-tune"))
    named = _image_sets(image_sets, curves)
    settings = {"seed": seed, **{k: v for k, v in (("epochs", epochs), ("lr", lr)) if v is not None}}
    if pretrain:
        recipe = fb.SurrogateRecipe(architecture=SurrogateConfig(hidden=hidden, head_width=hidden),
                                    pretrain=replace(fb.SurrogateRecipe().pretrain, **settings),
                                    prior_curves=prior_curves or fb.SurrogateRecipe().prior_curves)
    else:
        shipped = start in (None, "shipped")
        weights = load_surrogate(None if shipped else start)
        recipe = fb.SurrogateRecipe(start=weights if shipped else start,
                                    fine_tune=replace(fb.FINE_TUNE, **settings) if fine_tune else None,
                                    fine_tune_prior_curves=prior_curves or fb.SurrogateRecipe().fine_tune_prior_curves)
    corpus = load_corpus(curves)
    command = "samplecast " + shlex.join(sys.argv[1:]) if Path(sys.argv[0]).name == "samplecast" else None
    with progress_lines() as tell:
        result = fb.build_forecaster(corpus, output, named, recipe=recipe, cutoffs=cutoffs, progress=tell,
                                     source={"command": command} if command else None)
    _print_built(result)


def _image_sets(pairs: tuple[str, ...], curves: tuple[Path, ...]) -> dict[str, str]:
    """``FILE=NAME`` pairs of ``--image-set`` as a map from each file, as given among ``curves``, to its image set."""
    given = {Path(c).resolve(): str(c) for c in curves}
    named = {}
    for pair in pairs:
        file, _, name = pair.rpartition("=")
        if not file or not name.strip():
            raise click.BadParameter(f"{pair!r} is not FILE=NAME", param_hint="--image-set")
        if Path(file).resolve() not in given:
            raise click.BadParameter(f"{file} is not among the CURVES given", param_hint="--image-set")
        named[given[Path(file).resolve()]] = name.strip()
    return named


def _print_built(result) -> None:
    """What a build learned and how its methods did on held-out image sets (pooled, per cutoff)."""
    parts, rows = result.parts, result.summary.rows
    console = Console()
    weights = ", ".join(f"{m} {w:.2f}" for m, w in zip(parts.stacking.members, parts.stacking.weights))
    console.print(f"Ensemble weights: {weights}; learned on {parts.source}", highlight=False)
    if parts.surrogate is not None and parts.surrogate.calibration is not None:
        cal = parts.surrogate.calibration
        console.print(f"LSTM intervals widened by {cal.floor:.3f} + {cal.widen:.3f} per log-size of extrapolation "
                      "(Dice per normal score)", highlight=False)
    pooled = rows[rows["held_out"] == "all"]
    table = Table(title="Held out by image set (every image set scored by what was learned without it)",
                  title_justify="left")
    for column in ("method", "cutoff", "forecasts", "MAE", "bias", "cover 80%", "width 80%"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in pooled.itertuples():
        table.add_row(row.method, f"{row.cutoff:g}", str(row.curves), f"{row.mae:.3f}", f"{row.bias:+.3f}",
                      f"{row.coverage80:.0%}", f"{row.width80:.3f}")
    console.print(table)
    console.print(f"Wrote {result.folder.path}; forecast with --forecaster {result.folder.path}", highlight=False)


@contextmanager
def progress_lines() -> Iterator[Callable[[str], None]]:
    """Yield ``tell(line)`` for a long job that reports in lines: a status line on a terminal, otherwise each line on
    stderr with the time since the start."""
    started = time.monotonic()
    if sys.stderr.isatty():
        console = Console(stderr=True)
        with console.status("starting") as status:
            yield lambda line: status.update(line)
        return
    yield lambda line: click.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)


def _choose_torch_settings(concurrent: int) -> int:
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


@cli.command()
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
              help="After the grid, train the largest fraction of each depth again with twice its steps and warn "
                   f"when test Dice moves by {train_config.CONVERGENCE_TOLERANCE} or more (the curve then measures "
                   "the step budget, not the data).")
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
def sweep(data, out, fractions, sizes, depths, seeds, steps, min_epochs, check_convergence, batch_size, lr,
          val_every, image_size, test_fraction, val_fraction, layout, label, device, engine, group_size, workers,
          cluster, partition, gpus_per_job, cpus_per_task, mem_gb, timeout_min, array_parallelism, one_run_per_task):
    """Train a residual U-Net on nested fractions of the dataset DATA and record test Dice per run.

    Every (fraction, depth, seed) run appends a row to OUT/curves.csv, the input of `samplecast forecast`.
    Finished runs are never redone: an interrupted sweep resumes where it stopped. Dataset problems and fractions
    too small for the training pool are reported before anything trains.

    Example: samplecast sweep data/kvasir-seg --out runs/kvasir --fractions 0.05,0.1,0.2,0.5,1 --depths 4,5
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from samplecast.train.engines import SweepIncomplete
    from samplecast.train.sweep import SweepInterrupted, read_convergence, run_sweep

    threads = None if engine == "submitit" else _choose_torch_settings(workers if engine == "local" else 1)
    config = train_config.SweepConfig(
        data, out, fractions=fractions, sizes=sizes or (), depths=depths, seeds=seeds, image_size=image_size,
        test_fraction=test_fraction, val_fraction=val_fraction, format=layout, label=label, device=device,
        engine=engine, workers=workers, group_size=group_size, threads=threads, check_convergence=check_convergence,
        train=train_config.TrainSettings(steps=steps, batch_size=batch_size, lr=lr, val_every=val_every,
                                         min_epochs=min_epochs),
        submitit=train_config.SubmititOptions(cluster=cluster, partition=partition, gpus_per_job=gpus_per_job,
                                 cpus_per_task=cpus_per_task, mem_gb=mem_gb, timeout_min=timeout_min,
                                 array_parallelism=array_parallelism, one_run_per_task=one_run_per_task),
    )
    columns = [TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()]
    summary = {}
    with Progress(*columns, transient=True) as bar:
        reading = bar.add_task("reading dataset", total=None)

        def on_progress(state) -> None:
            summary["state"] = state
            current = f" · {state.current.label} ({state.step}/{state.steps} steps)" if state.current else ""
            bar.update(reading, description=f"runs {state.done}/{state.total}{current}", total=max(state.total, 1),
                       completed=state.done + (state.step / state.steps if state.steps else 0))

        try:
            table = run_sweep(config, progress=on_progress,
                              load_progress=lambda done, total: bar.update(reading, completed=done, total=total))
        except SweepIncomplete as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt as exc:  # SweepInterrupted, or a second Ctrl-C while it stopped
            bar.stop()
            click.echo(str(exc) if isinstance(exc, SweepInterrupted) else
                       "interrupted; rerun the same command to resume", err=True)
            raise SystemExit(130) from None
    state = summary["state"]
    failed = f", {state.failed} failed" if state.failed else ""
    runs = state.done - state.checks
    checks = f" and {state.checks} convergence check{'s' if state.checks != 1 else ''}" if state.checks else ""
    click.echo(f"Trained {runs} run{'s' if runs != 1 else ''}{checks}{failed}; {state.finished_before} were "
               f"already finished. {len(table)} rows in {Path(out) / 'curves.csv'}")
    convergence = read_convergence(out) or {}
    if convergence.get("converged") is False:
        moved = ", ".join(f"depth {d['depth']} {d['change']:+.3f}" for d in convergence["depths"]
                          if abs(d["change"]) >= convergence["tolerance"])
        click.echo(f"warning: not converged: twice the steps on the largest fraction moved test Dice by {moved}; "
                   "the curve measures the step budget as much as the data (raise --min-epochs or --steps)", err=True)
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


@cli.command()
@click.argument("curves", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A plan document written by `samplecast forecast --json`, rendered as it is (nothing is fitted "
                   "again); instead of CURVES and the forecast options.")
@click.option("-o", "--output", type=OutputFile(), default="report.pdf", help="The PDF to write.")
@forecast_options
@click.option("--title", help="Title of the report.  [default: 'How many cases to annotate: <dataset>']")
@click.pass_context
def report(ctx, curves, plan_path, output, method, average_seeds, forecaster, title, **asked):
    """Write the planner's PDF report for a curves table (or a plan document): the answer first, the learning
    curves with their forecast, the cases each target Dice needs, what more data buys, how far to trust it, and the
    inputs.

    Takes the options of `forecast` and gives the same numbers as `forecast --json`; `--plan forecast.json` renders
    that file into the same PDF.

    Example: samplecast report data/kvasir_reference_curves.csv -o report.pdf --target-dice 0.8 --pool-size 3000
    --cost-per-case 5
    """
    from samplecast.plan import PlanDocument, plan_document
    from samplecast.report import render_report

    if (curves is None) == (plan_path is None):
        raise click.UsageError("give either a curves table (CURVES) or a plan document (--plan), not both")
    console = Console()
    if plan_path is not None:
        given = [f"--{name.replace('_', '-')}" for name in PLAN_OPTIONS
                 if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"{', '.join(given)}: the plan document fixes the forecast options; "
                                   "write a new one with samplecast forecast --json")
        document = PlanDocument.read(plan_path)
    else:
        from samplecast.forecast.folder import ForecasterFolder

        folder = ForecasterFolder.open(forecaster)
        plans = _plan(curves, method, average_seeds, folder, **asked)
        _print_answers(console, plans)
        with console.status("Measuring the method on your curves"):
            document = plan_document(plans, method, source=curves, folder=folder)
    with console.status("Writing the report") as status:
        render_report(document, output, title=title,
                      progress=lambda section: status.update(f"Writing the report: {section.lower()}"))
    console.print(f"Wrote {output}")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="samplecast-demo",
              help="Folder for everything the demo writes: the generated images, the sweep's runs, curves.csv "
                   "and report.pdf. Running again into the same folder trains nothing twice.")
@click.option("--cases", type=click.IntRange(20), default=DemoSettings.cases,
              help="Synthetic images to generate; fewer is faster.")
@click.option("--steps", type=click.IntRange(1), default=DemoSettings.steps,
              help="Training steps per run; fewer is faster, more gives higher Dice.")
def demo(out, cases, steps):
    """Run samplecast end to end on generated data, in under a minute of CPU time (54 s on a busy 2-core x86_64 CPU).

    Generates a synthetic polyp dataset, trains residual U-Nets of two depths on nested fractions of it, forecasts
    the learning curves and writes the planner's report. Then try `samplecast report OUT/curves.csv` with your
    own target.
    """
    from dataclasses import replace

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from samplecast.demo import DemoProgress, run_demo

    settings = replace(DemoSettings(), cases=cases, steps=steps, threads=_choose_torch_settings(1))
    console = Console()
    if console.is_terminal:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("starting", total=None)

            def on_progress(state: DemoProgress) -> None:
                bar.update(task, description=f"{state.stage}: {state.detail}", completed=state.done,
                           total=state.total or None)

            result = run_demo(out, settings, progress=on_progress)
    else:  # a log file or a pipe: plain lines, when the stage changes and every few seconds
        result = run_demo(out, settings, progress=_plain_progress())
    _print_answers(console, result.plans)
    console.print(f"Done in {result.wall_s:.0f} s.\n  curves: {result.curves}\n  report: {result.report}")


def _plain_progress(every_s: float = 5.0):
    """A demo progress callback printing one line when the step of work changes, and at most every ``every_s``
    seconds while it goes on (for output that is not a terminal, where a progress bar would print nothing)."""
    last = {"what": None, "at": float("-inf")}

    def show(state) -> None:
        what, now = f"{state.stage}: {state.detail}", time.monotonic()
        if what != last["what"] or now - last["at"] >= every_s or (state.total and state.done == state.total):
            last.update(what=what, at=now)
            share = f" ({state.done / state.total:.0%})" if state.total else ""
            click.echo(f"{what}{share}")

    return show


def main() -> None:
    """Console-script entry point."""
    cli()
