"""The ``samplecast`` command line: one small function per command, each parsing options, calling the library, printing.

Bad input raised by the library as :class:`~samplecast.errors.InputError` is turned into one ``error:`` line per
problem on stderr and exit code 2, in one place (:class:`SamplecastGroup`), so no command repeats that handling.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from samplecast import __version__
from samplecast.errors import InputError


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
    """A comma-separated list of numbers, e.g. ``0.1,0.2,0.5``; ``kind`` converts each item (``int`` or ``float``)."""

    def __init__(self, kind: type = float):
        self.kind = kind
        self.name = f"{kind.__name__}[,{kind.__name__}...]"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        try:
            return [self.kind(item) for item in str(value).split(",") if item.strip()]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__} values", param, ctx)


class SamplecastGroup(click.Group):
    """A click group that reports the library's :class:`InputError` as :class:`BadInput`."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise BadInput(exc.problems) from None


@click.group(cls=SamplecastGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="samplecast")
def cli() -> None:
    """How many images must you annotate before your segmentation model is good enough?

    samplecast trains a residual U-Net on growing, nested fractions of the data annotated so far (sweep),
    extrapolates the learning curve of Dice against training-set size (forecast), and writes a recommendation
    a planner can act on (report). Start with `samplecast demo`.
    """


def forecast_options(command):
    """The options shared by ``forecast`` and ``report``: method and the planner's questions."""
    from samplecast.forecast.registry import DEFAULT_METHOD, METHODS

    options = [
        click.option("--method", type=click.Choice(list(METHODS)), default=DEFAULT_METHOD,
                     help="Forecasting method: a curve family, 'average' (model-averaged families) or a learned one."),
        click.option("--target-dice", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                     help="Dice the model must reach; answers how many cases that takes."),
        click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8,
                     help="Probability with which the target must be reached."),
        click.option("--plateau-gain", type=click.FloatRange(0, min_open=True), default=0.01,
                     help="Dice gain per doubling of the data below which more data no longer pays."),
        click.option("--pool-size", type=click.IntRange(1), help="Cases that could be annotated in all."),
        click.option("--cost-per-case", type=click.FloatRange(0), help="Cost of annotating one case."),
        click.option("--average-seeds", is_flag=True,
                     help="Treat the seeds of a configuration as replicates of one curve."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _plan(curves_path, method, target_dice, confidence, plateau_gain, pool_size, cost_per_case, average_seeds,
          at=None):
    from samplecast.curves import load_curves
    from samplecast.plan import PlanOptions, plan_curves

    curves = load_curves(curves_path, average_seeds=average_seeds)
    options = PlanOptions(target_dice=target_dice, confidence=confidence, plateau_gain=plateau_gain,
                          pool_size=pool_size, cost_per_case=cost_per_case)
    return plan_curves(curves, options, method, at=at)


@cli.command()
@click.argument("curves", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--at", type=CommaList(int), help="Sizes to forecast, e.g. 500,1000,2000 "
              "(default: doubling from the largest observed size to the pool size or 4x).")
@forecast_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the forecast and recommendation as JSON, for scripts.")
def forecast(curves, at, method, target_dice, confidence, plateau_gain, pool_size, cost_per_case, average_seeds,
             json_path):
    """Forecast Dice at larger training sets from a curves table (CSV with n_train and dice columns).

    Prints, per curve, quantiles of Dice at the requested sizes and the recommendation in words.

    Example: samplecast forecast data/kvasir_reference_curves.csv --target-dice 0.8 --pool-size 1000
    """
    from samplecast.forecast.predict import quantile_name
    from samplecast.plan import plan_document

    if at is not None and any(n <= 0 for n in at):
        raise click.BadParameter("sizes must be positive", param_hint="--at")
    plans = _plan(curves, method, target_dice, confidence, plateau_gain, pool_size, cost_per_case, average_seeds,
                  at=at)
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
            console.print(f"  {sentence}")
        console.print()
    if json_path is not None:
        json_path.write_text(json.dumps(plan_document(plans, method), indent=2) + "\n")
        console.print(f"Wrote {json_path}")


@cli.command()
@click.argument("curves", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cutoffs", type=CommaList(float), default="0.1,0.2,0.3,0.5",
              help="Fractions of each curve's largest size at which to cut it.")
@click.option("--methods", type=CommaList(str), default=None,
              help="Methods to compare (default: the classical families and the default method).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the summary and every scored forecast as JSON.")
def backtest(curves, cutoffs, methods, json_path):
    """Measure how wrong each method has been: forecast the final size of complete curves from their prefixes.

    Reports per method and cutoff the MAE of the median, its bias and how often the 80% and 90% intervals held
    the truth.
    """
    from samplecast.curves import load_curves
    from samplecast.forecast import backtest as bt
    from samplecast.forecast.registry import METHODS

    methods = methods or list(bt.DEFAULT_METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise click.BadParameter(f"unknown method {', '.join(unknown)}; choose from {', '.join(METHODS)}",
                                 param_hint="--methods")
    results = bt.backtest(load_curves(curves), methods, cutoffs)
    summary = bt.summarize(results)
    table = Table(title=f"Backtest of {results['curve'].nunique()} curves from {curves}", title_justify="left")
    for column in ("method", "cutoff", "curves", "MAE", "bias", "cover 80%", "cover 90%", "width 80%"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in summary.itertuples():
        table.add_row(row.method, f"{row.cutoff:g}", str(row.curves), f"{row.mae:.3f}", f"{row.bias:+.3f}",
                      f"{row.coverage80:.0%}", f"{row.coverage90:.0%}", f"{row.width80:.3f}")
    console = Console()
    console.print(table)
    if json_path is not None:
        document = {"summary": summary.to_dict(orient="records"), "forecasts": results.to_dict(orient="records")}
        json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        console.print(f"Wrote {json_path}")


def main() -> None:
    """Console-script entry point."""
    cli()
