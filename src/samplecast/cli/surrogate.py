"""``surrogate train`` and ``surrogate build``: the learned forecaster, from a user's own complete curves."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from samplecast.cli.progress import progress_lines
from samplecast.cli.types import CommaList, FiniteRange


@click.group()
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
@click.option("--average-seeds/--seeds-apart", default=True, show_default=True,
              help="Learn and score forecasts made from the mean of each configuration's seeds, as `forecast` makes "
                   "them by default (each scored against its own seed's Dice), or from each seed alone, as a sweep "
                   "of one seed gives.")
@click.option("--depths-together/--depths-apart", default=False, show_default=True,
              help="Learn and score forecasts made with the other depths of each curve's sweep, as `forecast "
                   "--depths-together` makes them (the intervals are corrected on such forecasts), or of each curve "
                   "alone, as `forecast` does by default.")
@click.pass_context
def surrogate_build(ctx, curves, output, pretrain, start, fine_tune, epochs, lr, prior_curves, hidden, seed,
                    image_sets, cutoffs, average_seeds, depths_together):
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
                                     source={"command": command} if command else None, average_seeds=average_seeds,
                                     depths_together=depths_together)
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
    console.print(f"Ensemble weights: {weights}; learned on {escape(str(parts.source))}", highlight=False)
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
    folder = escape(str(result.folder.path))
    console.print(f"Wrote {folder}; forecast with --forecaster {folder}", highlight=False)
