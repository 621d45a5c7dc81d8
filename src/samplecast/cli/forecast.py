"""``forecast``, ``report`` and ``backtest``: curves in, forecasts and the planner's answer out.

Every string a user gave (curve labels from a CSV, file names) reaches the terminal escaped, never as rich markup.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from samplecast.cli.progress import progress_bar
from samplecast.cli.types import CommaList, FiniteRange, OutputFile, ShortfallCost, refuse_overwriting_inputs
from samplecast.files import put_text
from samplecast.forecast.methods import DEFAULT_METHOD, METHOD_NAMES
from samplecast.forecast.rounds import DEFAULT_SHORTFALL


#: Whether the depths of a sweep are forecast together: shared by the planner's commands and ``backtest``.
depths_option = click.option(
    "--depths-together/--depths-apart", default=False, show_default=True,
    help="Forecast each curve with the other depths of its sweep (the same dataset, scenario and seed, measured up "
         "to the same size): its gain beyond its last Dice is the mean of the gains forecast for them all. Held out "
         "by image set its median erred less, but its intervals were wider than needed and planning in rounds "
         "gained nothing (benchmarks/forecast_accuracy.md); or each curve alone.")


def forecast_options(command):
    """The options shared by ``forecast`` and ``report``: method and the planner's questions."""
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
        click.option("--shortfall-cost", type=ShortfallCost(), metavar="AMOUNT|Nx", default=DEFAULT_SHORTFALL,
                     help="What missing the target after the last round costs, for the plan in rounds: an amount in "
                          "the currency of --cost-per-case (in cases without it), or Nx, N times the cost of "
                          "annotating the whole pool. The default says a shortfall wastes the pool's annotation "
                          "several times over."),
        click.option("--average-seeds/--seeds-apart", default=True, show_default=True,
                     help="Forecast the seeds of a configuration together, as one curve of their mean (more "
                          "accurate, held out by image set: every seed's largest run trains on the same pool), or "
                          "each seed apart."),
        depths_option,
        click.option("--forecaster", type=click.Path(file_okay=False, path_type=Path),
                     help="A forecaster folder written by `samplecast surrogate build`: its ensemble weights, LSTM "
                          "and backtest (for how far to trust the answer) replace those shipped with samplecast."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: The options of :func:`forecast_options`, which a plan document already fixes.
PLAN_OPTIONS = ("method", "target_dice", "confidence", "plateau_gain", "pool_size", "cost_per_case", "rounds",
                "shortfall_cost", "average_seeds", "depths_together", "forecaster")


def _plan(curves_paths, method, average_seeds, depths_together, folder, at=None, for_report=False, **asked):
    """The plans of every curve of the tables ``curves_paths``, forecast with the method of the forecaster ``folder``
    (a ForecasterFolder); ``asked`` holds the planner's options (:class:`~samplecast.plan.PlanOptions`).
    ``for_report``: refuse more curves than a report shows before forecasting any."""
    from samplecast.curves import load_curves, sources_words
    from samplecast.forecast.methods import make_forecaster
    from samplecast.plan import PlanOptions, plan_curves

    options = PlanOptions(**asked)
    curves = load_curves(curves_paths, average_seeds=average_seeds)
    if for_report:
        from samplecast.report import check_curve_count

        check_curve_count(len(curves), sources_words(curves_paths))
    with progress_bar("forecasting curves") as advance:
        return plan_curves(curves, options, make_forecaster(method, folder), at=at, depths_together=depths_together,
                           progress=advance)


def print_answers(console, plans, sources=()) -> None:
    """Each curve's label, then its recommendation in words, then any warnings, those of the curves tables
    ``sources`` included (what `report` and `demo` print)."""
    for plan in plans:
        console.print(f"[bold]{escape(plan.forecast.curve.label)}[/bold]", highlight=False)
        _print_sentences(console, plan)
    _print_footer(console, plans, sources)


def _print_sentences(console, plan) -> None:
    for sentence in plan.recommendation.sentences():
        console.print(f"  {escape(sentence)}", highlight=False)


def _print_footer(console, plans, sources) -> None:
    from samplecast.forecast.together import SweepMean
    from samplecast.plan import confidence_words, plan_warnings

    if plans[0].options.target_dice is not None:
        console.print(escape(confidence_words(plans[0].options.confidence)), highlight=False)
    pooled = sum(isinstance(p.forecast.model, SweepMean) for p in plans)
    if pooled:
        console.print(f"note: {pooled} curve{'s' if pooled > 1 else ''} forecast with the other depths of "
                      f"{'their' if pooled > 1 else 'its'} sweep (gains beyond the last Dice averaged over the depths; "
                      "--depths-apart forecasts each alone).", highlight=False)
    for warning in plan_warnings(plans, sources):
        console.print(f"[bold]warning:[/bold] {escape(warning)}", highlight=False)


def print_comparisons(console, plans) -> list:
    """The scenarios of each configuration side by side (or a note that a target is needed to compare them);
    returns the comparisons, for the plan document."""
    from samplecast.plan.scenarios import compare_scenarios

    comparisons = compare_scenarios(plans)
    if plans[0].options.target_dice is None and len({p.forecast.curve.scenario for p in plans}) > 1:
        console.print("note: give --target-dice to compare the scenarios: how many cases each needs, and what the "
                      "better one saves", highlight=False)
    for comparison in comparisons:
        console.print(f"[bold]Scenarios compared: {escape(comparison.configuration)}[/bold]", highlight=False)
        for sentence in comparison.sentences:
            console.print(f"  {escape(sentence)}", highlight=False)
    return comparisons


def _print_wrote(console, path) -> None:
    console.print(f"Wrote {escape(str(path))}")


@click.command()
@click.argument("curves", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--at", type=CommaList(int, minimum=1), help="Sizes to forecast, e.g. 500,1000,2000, up to the pool "
              "size (without one, 20x the largest observed) (default: doubling from the largest observed size to the "
              "pool size or 4x).")
@forecast_options
@click.option("--json", "json_path", type=OutputFile(),
              help="Also write the plan document (forecasts, recommendation, target table, marginal value, "
                   "warnings, trust figures) as JSON, for scripts and `samplecast report --plan`.")
def forecast(curves, at, method, average_seeds, depths_together, forecaster, json_path, **asked):
    """Forecast Dice at larger training sets from a curves table (CSV with n_train and dice columns), or several
    read as one (each holding curves of its own, e.g. the sweeps of two scenarios).

    Prints, per curve, quantiles of Dice at the requested sizes and the recommendation in words.

    Example: samplecast forecast data/kvasir_reference_curves.csv --target-dice 0.8 --pool-size 1000
    """
    from samplecast.forecast.folder import ForecasterFolder
    from samplecast.forecast.predict import quantile_name

    refuse_overwriting_inputs(json_path, *curves)
    folder = ForecasterFolder.open(forecaster)
    plans = _plan(curves, method, average_seeds, depths_together, folder, at=at, **asked)
    console = Console()
    for plan in plans:
        fc = plan.forecast
        table = Table(title=f"{escape(fc.curve.label)}  ({method}; observed up to n={fc.curve.n_max:,.0f})",
                      title_justify="left")
        table.add_column("n", justify="right")
        for level in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95):
            table.add_column(quantile_name(level), justify="right", style="bold" if level == 0.5 else None)
        for record in fc.records():
            table.add_row(f"{record['n']:,}", *(f"{v:.3f}" for k, v in record.items() if k != "n"))
        console.print(table)
        _print_sentences(console, plan)
        console.print()
    comparisons = print_comparisons(console, plans)
    _print_footer(console, plans, curves)
    if json_path is not None:
        from samplecast.plan import plan_document

        plan_document(plans, method, source=curves, folder=folder, comparisons=comparisons).write(json_path)
        _print_wrote(console, json_path)


@click.command()
@click.argument("curves", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cutoffs", type=CommaList(float), default=None,
              help="Fractions of each curve's largest size at which to cut it.  [default: 0.1,0.2,0.3,0.5; with "
                   "--decisions 0.1,0.2]")
@click.option("--methods", type=CommaList(click.Choice(METHOD_NAMES)), default=None,
              help="Methods to compare (default: the classical families and the default method); with "
                   "--decisions, the one method whose forecasts the planner follows (default: the default method).")
@click.option("--decisions", is_flag=True,
              help="Replay the planner instead: from each prefix, for targets at the Dice the complete curve "
                   "measures at 50% and 100% of its largest size minus 0.02, annotate as each policy says (one "
                   "shot at 50/80/95% confidence, the plan in 1, 2, 3 and 5 rounds, a power law's median), reveal "
                   "the Dice measured there, and score targets reached and cases spent against the fewest that "
                   "sufficed.")
@click.option("--average-seeds/--seeds-apart", default=True, show_default=True,
              help="Forecast from the mean of each configuration's seeds, as `forecast` does by default, scoring "
                   "each seed's Dice at the largest size; or from each seed's own prefix.")
@depths_option
@click.option("--json", "json_path", type=OutputFile(),
              help="Also write the summary and every scored forecast (or decision) as JSON.")
def backtest(curves, cutoffs, methods, decisions, average_seeds, depths_together, json_path):
    """Measure how wrong each method has been: forecast the final size of complete curves (of one table, or
    several read as one) from their prefixes.

    Reports per method and cutoff the MAE of the median, its bias and how often the 80% and 90% intervals held
    the truth; with --decisions, what following the planner would have done. A table with a scenario column is
    summarised per scenario, never pooled across them.
    """
    from samplecast.curves import load_curves, sources_words
    from samplecast.forecast import evaluate as bt
    from samplecast.forecast.evaluate import decisions as replay
    from samplecast.forecast.methods import make_forecaster

    methods = methods or ([DEFAULT_METHOD] if decisions else list(bt.DEFAULT_METHODS))
    if decisions and len(methods) > 1:
        raise click.BadParameter("with --decisions, name one method", param_hint="--methods")
    refuse_overwriting_inputs(json_path, *curves)
    console = Console()
    table_of = load_curves(curves, average_seeds=False)
    if average_seeds:
        table_of = bt.seeds_together(table_of)
    learned, learned_files = _learned_from(curves, methods)
    where = escape(sources_words(curves))
    if decisions:
        with progress_bar("replaying decisions") as advance:
            results = replay.replay_decisions(table_of, make_forecaster(methods[0]),
                                              cutoffs=cutoffs or replay.DECISION_CUTOFFS,
                                              depths_together=depths_together, progress=advance)
        scenario = ["scenario"] if "scenario" in results else []
        summary = replay.summarize_decisions(results, by=("policy", *scenario))
        table = Table(title=f"Decisions replayed on {results['curve'].nunique()} curves from {where} "
                            f"({methods[0]})", title_justify="left")
        for column in ("policy", *scenario, "decisions", "reached", "cases / fewest (median)", "not reachable or stop",
                       "rounds"):
            table.add_column(column, justify="left" if column in ("policy", "scenario") else "right")
        for row in summary.itertuples():
            ratio = "-" if row.cases_ratio_median != row.cases_ratio_median else f"{row.cases_ratio_median:.2f}x"
            table.add_row(row.policy, *(escape(row.scenario) for _ in scenario), str(row.decisions),
                          f"{row.reached:.0%}", ratio, f"{row.said_unreachable:.0%}", f"{row.rounds_used:.1f}")
    else:
        with progress_bar("backtesting curves") as advance:
            results = bt.backtest(table_of, [make_forecaster(m) for m in methods], cutoffs or bt.DEFAULT_CUTOFFS,
                                  depths_together=depths_together, progress=advance)
        scenario = ["scenario"] if "scenario" in results else []
        summary = bt.summarize(results, by=("method", *scenario, "cutoff"))
        table = Table(title=f"Backtest of {results['curve'].nunique()} curves from {where}", title_justify="left")
        for column in ("method", *scenario, "cutoff", "curves", "MAE", "bias", "cover 80%", "cover 90%", "width 80%"):
            table.add_column(column, justify="left" if column in ("method", "scenario") else "right",
                             no_wrap=column == "method")
        for row in summary.itertuples():
            method = f"{row.method} (in-sample)" if row.method in learned else row.method
            table.add_row(method, *(escape(row.scenario) for _ in scenario), f"{row.cutoff:g}", str(row.curves),
                          f"{row.mae:.3f}", f"{row.bias:+.3f}", f"{row.coverage80:.0%}", f"{row.coverage90:.0%}",
                          f"{row.width80:.3f}")
    console.print(table)
    if not decisions:
        from samplecast.plan.trust_sentences import cutoff_notes

        for note in cutoff_notes(bt.cutoff_coverage(table_of, cutoffs or bt.DEFAULT_CUTOFFS), len(table_of)):
            console.print(f"note: cutoff {escape(note)}.", highlight=False)
    if learned:
        console.print(f"note: {', '.join(learned)} learned from the curves of {escape(learned_files)} (the shipped "
                      "forecaster was built from them), so these figures are in-sample; the held-out figures are in "
                      "benchmarks/forecast_accuracy.md and decision_quality.md.", highlight=False)
    if json_path is not None:
        # pandas writes NaN and infinite ratios (target never reached) as null: strict JSON for any reader
        document = {"summary": json.loads(summary.to_json(orient="records")),
                    ("decisions" if decisions else "forecasts"): json.loads(results.to_json(orient="records"))}
        put_text(json_path, json.dumps(document, indent=1) + "\n")
        _print_wrote(console, json_path)


def _learned_from(curves: tuple[Path, ...], methods: list[str]) -> tuple[list[str], str]:
    """The learned methods among ``methods`` whose shipped forecaster learned from any of the curves files
    ``curves``, and those files' names in words."""
    from samplecast.curves import sources_words
    from samplecast.forecast.folds import LEARNED
    from samplecast.forecast.evaluate import read_summary
    from samplecast.forecast.folder import ForecasterFolder

    summary = read_summary(ForecasterFolder.open().backtest_summary())
    files = [c.name for c in curves if summary is not None and c.name in summary.curve_files()]
    return ([m for m in methods if m in LEARNED] if files else []), sources_words(files) if files else ""


@click.command()
@click.argument("curves", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A plan document written by `samplecast forecast --json`, rendered as it is (nothing is fitted "
                   "again); instead of CURVES and the forecast options.")
@click.option("-o", "--output", type=OutputFile(), default="report.pdf", help="The PDF to write.")
@forecast_options
@click.option("--title", help="Title of the report.  [default: 'How many cases to annotate: <dataset>']")
@click.pass_context
def report(ctx, curves, plan_path, output, method, average_seeds, depths_together, forecaster, title, **asked):
    """Write the planner's PDF report for a curves table, several read as one, or a plan document: the answer first,
    the learning curves with their forecast, the cases each target Dice needs, what more data buys, how far to trust
    it, and the inputs.

    Takes the options of `forecast` and gives the same numbers as `forecast --json`; `--plan forecast.json` renders
    that file into the same PDF.

    Example: samplecast report data/kvasir_reference_curves.csv -o report.pdf --target-dice 0.8 --pool-size 3000
    --cost-per-case 5
    """
    from samplecast.plan import PlanDocument, plan_document
    from samplecast.report import check_curve_count, render_report

    if bool(curves) == (plan_path is not None):
        raise click.UsageError("give either a curves table (CURVES) or a plan document (--plan), not both")
    refuse_overwriting_inputs(output, *curves, plan_path)
    console = Console()
    if plan_path is not None:
        given = [f"--{name.replace('_', '-')}" for name in PLAN_OPTIONS
                 if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"{', '.join(given)}: the plan document fixes the forecast options; "
                                   "write a new one with samplecast forecast --json")
        document = PlanDocument.read(plan_path)
        check_curve_count(len(document.curves), plan_path)
    else:
        from samplecast.forecast.folder import ForecasterFolder

        folder = ForecasterFolder.open(forecaster)
        plans = _plan(curves, method, average_seeds, depths_together, folder, for_report=True, **asked)
        print_answers(console, plans, curves)
        comparisons = print_comparisons(console, plans)
        with console.status("Measuring the method on your curves"):
            document = plan_document(plans, method, source=curves, folder=folder, comparisons=comparisons)
    with console.status("Writing the report") as status:
        render_report(document, output, title=title,
                      progress=lambda section: status.update(f"Writing the report: {section.lower()}"))
    _print_wrote(console, output)
