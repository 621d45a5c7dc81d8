"""Building a complete forecaster from complete learning curves, and measuring it on image sets it never learned from.

A forecaster has three learned parts: the LSTM surrogate (pre-trained on synthetic curves from the prior, or started
from trained weights, and optionally fine-tuned on the corpus), the widening of the surrogate's intervals, and the
ensemble's stacking weights with their interval correction. :func:`build_forecaster` learns all three on a corpus of
complete curves and writes them, with the leave-one-dataset-out backtest summary every report quotes, into a
forecaster folder (:class:`~samplecast.forecast.folder.ForecasterFolder`); the folder shipped with samplecast is its
output on the curves in ``data/`` (``samplecast surrogate build``, see ``data/README.md``).

An *image set* is the images a group of curves was measured on: sweeps of the same images at another resolution or
on another machine belong to one set (Kvasir-SEG at 64 and 256 px is one set, LA-2018 another). For each image set in
turn, every part learned from real curves (stacking weights and correction, the surrogate's interval widening, and
its fine-tuning when asked for) is learned again on the other sets only, by the same function that learns the final
forecaster (:func:`learn_parts`), and the forecaster is scored on the held-out set (:func:`held_out_folds`), so no
figure is measured on curves it was learned from. Pre-training sees synthetic curves only, and the parametric families
learn nothing beyond each curve's own fit, so those are the same in every fold.

Example:
    >>> corpus = {"data/kvasir_h100_curves.csv": load_curves("data/kvasir_h100_curves.csv"), ...}  # doctest: +SKIP
    >>> build_forecaster(corpus, "my-forecaster", recipe=SurrogateRecipe(start=load_surrogate()))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from samplecast import __version__, schema
from samplecast.curves import Curve
from samplecast.errors import InputError, raise_if_any
from samplecast.forecast.evaluate import (
    DEFAULT_CUTOFFS, BacktestSummary, backtest, seeds_together, summarize_backtest)
from samplecast.forecast.evaluate.decisions import held_out_decisions
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.ensemble import default_members
from samplecast.forecast.folds import (
    BESIDE, LearnedParts, Progress, default_image_sets, fold_forecasters, held_out_folds, learn_parts,
)
from samplecast.forecast.folder import (
    BUILD, BUILD_FORMAT, CHECKED, ENSEMBLE, REQUIRED, SUMMARY, SURROGATE, BuildRecord, CorpusFile, ForecasterFolder,
    sha256,
)
from samplecast.forecast.prior import PriorConfig
from samplecast.forecast.surrogate.config import TrainingConfig
from samplecast.forecast.surrogate.architecture import SurrogateConfig
from samplecast.files import output_problems, put_text, staged_folder
from samplecast.versions import package_versions

if TYPE_CHECKING:
    from samplecast.forecast.surrogate import Surrogate

#: Settings of fine-tuning a trained surrogate on a corpus, when asked for (gentler than pre-training).
FINE_TUNE = TrainingConfig(epochs=5, lr=1e-3)


@dataclass(frozen=True)
class SurrogateRecipe:
    """How a build gets its LSTM surrogate, stored in ``build.json``.

    Args:
        start: trained weights to start from (a loaded surrogate or a ``.npz`` path), or ``None`` to pre-train a new
            surrogate on synthetic curves from the prior.
        architecture: the network pre-trained (unused with ``start``).
        pretrain: settings of pre-training (unused with ``start``).
        prior_curves: synthetic curves pre-trained on.
        validation_curves: synthetic curves (another seed) the pre-training loss is measured on after each epoch;
            ``None`` for a tenth of ``prior_curves``, at most 10,000.
        prior: the prior the synthetic curves are drawn from.
        fine_tune: settings of fine-tuning on the corpus's curves, or ``None`` to train on no real curve. Fine-tuning
            is done again for every held-out image set of the backtest, without that set.
        fine_tune_prior_curves: synthetic curves mixed into fine-tuning so the model keeps what the prior taught it.
    """

    start: Surrogate | str | Path | None = None
    architecture: SurrogateConfig = field(default_factory=SurrogateConfig)
    pretrain: TrainingConfig = field(default_factory=lambda: TrainingConfig(epochs=12, lr=3e-3, seed=0))
    prior_curves: int = 150_000
    validation_curves: int | None = None
    prior: PriorConfig = field(default_factory=PriorConfig)
    fine_tune: TrainingConfig | None = None
    fine_tune_prior_curves: int = 20_000

    def __post_init__(self) -> None:
        lowest = {"prior_curves": 1, "fine_tune_prior_curves": 0}
        if self.validation_curves is not None:
            lowest["validation_curves"] = 0
        problems = [f"surrogate recipe setting {name} must be a whole number >= {low}, got {getattr(self, name)!r}"
                    for name, low in lowest.items() if not (isinstance(getattr(self, name), int)
                                                            and not isinstance(getattr(self, name), bool)
                                                            and getattr(self, name) >= low)]
        raise_if_any(problems)

    @property
    def checked_curves(self) -> int:
        """The synthetic curves pre-training is measured on after each epoch."""
        return min(10_000, self.prior_curves // 10) if self.validation_curves is None else self.validation_curves

    def describe(self) -> dict[str, Any]:
        """The recipe as plain JSON (the start named by its path, or by what it was trained on)."""
        start = self.start
        if start is not None and not isinstance(start, (str, Path)):
            start = f"a surrogate trained on {start.training.get('corpus') or 'an unrecorded corpus'}"
        described: dict[str, Any] = {"start": None if start is None else str(start)}
        if self.start is None:
            described.update(architecture=asdict(self.architecture), pretrain=asdict(self.pretrain),
                             prior_curves=self.prior_curves, validation_curves=self.checked_curves,
                             prior=asdict(self.prior))
        described["fine_tune"] = None if self.fine_tune is None else {**asdict(self.fine_tune),
                                                                       "prior_curves": self.fine_tune_prior_curves}
        return described


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_forecaster` wrote: the folder, the parts learned on every curve, the parts learned without
    each image set (by held-out image set), the backtest summary and the ``build.json`` record."""

    folder: ForecasterFolder
    parts: LearnedParts
    folds: dict[str, LearnedParts]
    summary: BacktestSummary
    record: dict[str, Any]


def pretrain_surrogate(recipe: SurrogateRecipe, *, extra: Sequence[Curve] = (), extra_description: str = "",
                       progress: Progress | None = None) -> Surrogate:
    """Pre-train a new surrogate as ``recipe`` says, on synthetic curves from the prior (plus ``extra`` curves, named
    ``extra_description`` in its training record, for ablations); it learns no curve of a build's corpus."""
    from samplecast.forecast.prior import bank_from_curves, sample_prior
    from samplecast.forecast.surrogate import train_surrogate

    started = time.perf_counter()
    settings = recipe.pretrain
    corpus = sample_prior(recipe.prior_curves, seed=settings.seed, config=recipe.prior)
    described = f"prior: {recipe.prior_curves} synthetic curves (seed {settings.seed})"
    if extra:
        corpus = corpus.concat(bank_from_curves(list(extra)))
        described += f" + {extra_description or f'{len(extra)} other curves'}"
    validation = (sample_prior(recipe.checked_curves, seed=settings.seed + 1000, config=recipe.prior)
                  if recipe.checked_curves else None)

    def epoch(done: int, epochs: int, train: float, checked: float | None) -> None:
        if progress is not None:
            progress(f"pre-training the surrogate: epoch {done}/{epochs}, pinball loss {train:.5f}"
                     + (f" (validation {checked:.5f})" if checked is not None else "")
                     + f", {time.perf_counter() - started:.0f} s")

    surrogate, _ = train_surrogate(corpus, settings=settings, config=recipe.architecture, validation=validation,
                                   describe_corpus=described, progress=epoch)
    surrogate.training["wall_s"] = round(time.perf_counter() - started)
    return surrogate


def base_surrogate(recipe: SurrogateRecipe, progress: Progress | None = None) -> Surrogate:
    """The surrogate a build starts from: ``recipe.start`` loaded, or a new one pre-trained on the prior."""
    from samplecast.forecast.surrogate import Surrogate, load_surrogate

    if recipe.start is None:
        return pretrain_surrogate(recipe, progress=progress)
    return recipe.start if isinstance(recipe.start, Surrogate) else load_surrogate(recipe.start)


def build_forecaster(
    corpus: Mapping[str, Sequence[Curve]],
    out_dir: str | Path,
    image_sets: Mapping[str, str] | None = None,
    *,
    recipe: SurrogateRecipe | None = None,
    members: Sequence[CurveForecaster] | None = None,
    beside: Sequence[str] = BESIDE,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    source: dict[str, Any] | None = None,
    progress: Progress | None = None,
    average_seeds: bool = True,
    depths_together: bool = False,
) -> BuildResult:
    """Build a complete forecaster from complete real curves into the folder ``out_dir``, and measure it out of sample.

    Writes ``surrogate.npz``/``surrogate.json`` (the surrogate of ``recipe``, default pre-trained on the prior, with the
    interval widening learned on the corpus), ``ensemble.json`` (weights and interval correction learned on every
    curve of the corpus), ``backtest_summary.json`` (the leave-one-dataset-out backtest of :func:`held_out_folds`,
    the LSTM among the methods when ``beside`` names it) and ``build.json`` (the corpus files with checksums, the image
    sets, the settings, what each fold learned, versions, date and machine). The folder is checked before any work
    and written all at once (:func:`samplecast.files.staged_folder`, which replaces the whole folder): a build that
    fails leaves it as it was.

    ``corpus`` maps each source (a curves file, say) to its curves; ``image_sets`` maps a source to the images it was
    measured on (default :func:`default_image_sets`); ``source`` is provenance stored in the summary and the record
    (its ``command``). With ``average_seeds`` every part is learned and scored on forecasts made from the mean of each
    configuration's seeds, as :func:`~samplecast.curves.load_curves` reads a table by default, each scored against
    its own seed's Dice at the largest size (:func:`~samplecast.forecast.evaluate.seeds_together`); without it, from
    each seed alone, as a sweep of one seed gives. With ``depths_together`` every forecast is made, and every part
    learned, with the other depths of the curve's sweep (:class:`~samplecast.forecast.together.SweepMean`), for a
    planner that forecasts a table so.

    Raises:
        InputError: when ``out_dir`` cannot be written, the corpus holds fewer than two image sets or a curve under
            two names (:func:`check_distinct`), or a curve is too short to learn from.
    """
    from samplecast.forecast.surrogate import save_surrogate

    started = time.perf_counter()
    out = check_output_folder(out_dir)
    image_sets = {**default_image_sets(corpus), **dict(image_sets or {})}
    recipe = recipe or SurrogateRecipe()
    members = list(members) if members is not None else default_members()
    sets = sorted(set(image_sets[name] for name in corpus))
    if len(sets) < 2:
        raise InputError(f"a forecaster is built from curves of at least two image sets, so that each can be scored "
                         f"by what was learned without it; got {', '.join(sets) or 'none'}")
    check_distinct(corpus)
    check_scorable(corpus, cutoffs)
    if average_seeds:
        corpus = {name: seeds_together(curves) for name, curves in corpus.items()}
    start = base_surrogate(recipe, progress)
    member_names = [m.name for m in members]
    results, folds = held_out_folds(corpus, image_sets, members, [*beside, *member_names], cutoffs, progress,
                                    surrogate=start, recipe=recipe, depths_together=depths_together)
    if progress is not None:
        progress("learning the forecaster on every image set")
    parts = learn_parts(corpus, image_sets, results[results["method"].isin(member_names)], members, start, recipe,
                        progress, depths_together=depths_together)
    datasets: dict[str, dict[str, Any]] = {}
    for name, curves in corpus.items():
        entry = datasets.setdefault(image_sets[name], {"name": image_sets[name], "files": [], "curves": 0})
        entry["files"].append(name)
        entry["curves"] += len(curves)
    created = datetime.now(timezone.utc)
    provenance = {"created": created.date().isoformat(), "samplecast": __version__, "machine": machine(),
                  **(source or {})}
    decider = "lstm" if "lstm" in beside else "ensemble"
    decisions = held_out_decisions(corpus, image_sets, fold_forecasters(folds, decider, members), progress=progress,
                                   depths_together=depths_together)
    summary = summarize_backtest(results[results["method"].isin([*beside, "ensemble"])],
                                 description=describe_backtest(recipe, "lstm" in beside, decider, average_seeds,
                                                               depths_together),
                                 source={"datasets": list(datasets.values()), **provenance}, decisions=decisions)
    build_id = f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    with staged_folder(out) as folder:
        put_text(folder / ENSEMBLE, json.dumps({**parts.stacking.to_dict(), "build": build_id}, indent=2) + "\n")
        put_text(folder / SUMMARY, json.dumps({**summary.to_dict(), "build": build_id}, indent=1) + "\n")
        save_surrogate(parts.surrogate, folder / SURROGATE, build=build_id)
        record = schema.dump(BuildRecord(
            BUILD_FORMAT, build_id, {name: sha256(folder / name) for name in CHECKED},
            created.strftime("%Y-%m-%d %H:%M UTC"), __version__, provenance["machine"],
            tuple(CorpusFile(name, sha256(name) if Path(name).is_file() else None, len(curves), image_sets[name])
                  for name, curves in corpus.items()), tuple(sets),
            {"members": [m.name for m in members], "beside": list(beside), "cutoffs": list(cutoffs),
             "average_seeds": average_seeds, "depths_together": depths_together, "surrogate": recipe.describe()},
            parts.surrogate.training if parts.surrogate is not None else None, parts.describe(),
            {images: fold.describe() for images, fold in folds.items()},
            package_versions(("numpy", "scipy", "pandas", "torch", "lightning")),
            round(time.perf_counter() - started), provenance.get("command")))
        put_text(folder / BUILD, json.dumps(record, indent=1) + "\n")
    if progress is not None:
        progress(f"wrote {', '.join(sorted(REQUIRED))} in {out} ({record['wall_s']} s)")
    return BuildResult(ForecasterFolder(out), parts, folds, summary, record)


def check_distinct(corpus: Mapping[str, Sequence[Curve]]) -> None:
    """Check that no curve (the same sizes and Dice values) is in ``corpus`` twice under different names: in two
    sources, or under two ``dataset`` names of one source. Such a curve would count as two image sets, and the
    backtest would score a held-out set on curves the forecaster learned from.

    Raises:
        InputError: one line per pair of names that share curves, naming both.
    """
    first: dict[tuple, str] = {}
    shared: dict[tuple[str, str], int] = {}
    for source, curves in corpus.items():
        for curve in curves:
            dataset = curve.key.get("dataset")
            where = source if dataset is None else f"{source} (dataset {dataset})"
            seen = first.setdefault((tuple(curve.n.tolist()), tuple(np.round(curve.dice, 9).tolist())), where)
            if seen != where:
                shared[seen, where] = shared.get((seen, where), 0) + 1
    raise_if_any([f"{a} and {b}: {count} curve{'s' if count > 1 else ''} with the same sizes and Dice values under "
                  "both names; give each curve once, or a held-out backtest figure would be scored on curves the "
                  "forecaster learned from" for (a, b), count in shared.items()])


def check_scorable(corpus: Mapping[str, Sequence[Curve]], cutoffs: Sequence[float]) -> None:
    """Check, before any training, that every source of ``corpus`` has a curve the backtest can cut at one of the
    ``cutoffs`` and score (by backtesting the flat baseline, which costs nothing).

    Raises:
        InputError: naming each source that has none, or each bad cutoff.
    """
    from samplecast.forecast.parametric import LastValue

    problems = []
    for name, curves in corpus.items():
        try:
            backtest(curves, [LastValue()], cutoffs)
        except InputError as exc:
            problems.extend(f"{name}: {problem}" for problem in exc.problems)
    if problems:
        raise InputError(list(dict.fromkeys(problems)))


def describe_backtest(recipe: SurrogateRecipe, with_lstm: bool, decider: str = "lstm",
                      average_seeds: bool = True, depths_together: bool = False) -> str:
    """What a build's backtest summary measured, stated in the summary itself; ``decider`` is the method whose
    decisions were replayed, ``average_seeds`` whether prefixes were the mean of each configuration's seeds,
    ``depths_together`` whether the depths of a sweep were forecast together."""
    prefix = ("the mean of its configuration's seeds up to that size (as samplecast forecasts a table by default), "
              "scored against the seed's own Dice" if average_seeds else "that prefix")
    together = ("; its gain beyond the prefix is the mean of the gains the method forecasts for the depths of its "
                "sweep cut at the same size, as samplecast forecasts a table when told to" if depths_together else "")
    text = ("Leave-one-dataset-out backtest on real segmentation curves: each complete curve (one per configuration "
            "and seed) is cut where its sizes reach a cutoff fraction of its largest size, and each method forecasts "
            f"Dice at the largest size from {prefix}{together}. The ensemble's member weights and interval correction "
            "are learned again for each held-out image set on the other image sets only (curves of the same images at "
            "another resolution or on another machine are held out together); the parametric families learn nothing "
            "beyond each curve's own fit. The planner's decisions are replayed on the same curves with the "
            f"{decider} learned without each held-out set: from prefixes at 10% and 20% of each curve's largest "
            "size, for targets at the Dice it measures at 50% and 100% of it minus 0.02.")
    if not with_lstm:
        return text
    if recipe.start is None:
        trained = "pre-trained on synthetic curves from a prior only"
    else:
        trained = (f"started from {recipe.describe()['start']}, whose own training this backtest cannot check: if it "
                   "was trained on curves of these image sets, its figures are not out of sample")
    tuned = ("; it is fine-tuned, its median shifted and its intervals corrected, again for each held-out image set "
             "on the other sets only"
             if recipe.fine_tune is not None else
             "; the shift of its median and the correction of its intervals are learned again for each held-out "
             "image set on the other sets only")
    return f"{text} The LSTM surrogate is {trained}{tuned}."


def check_output_folder(path: str | Path) -> Path:
    """Check, before any work, that a forecaster folder can be written at ``path``: an existing writable folder that
    holds nothing but a build's files, or one that can be created. Returns ``path`` as a :class:`Path`.

    Raises:
        InputError: naming the path and why it cannot be written.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; expected a folder to write the forecaster into")
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in REQUIRED and not p.name.startswith("."))
        if others:
            raise InputError(f"{out}: holds files no build writes ({', '.join(others[:3])}"
                             f"{', ...' if len(others) > 3 else ''}); give a new or empty folder, or one a build wrote")
    raise_if_any(output_problems(out))  # written to, not only looked at: root, read-only mounts, full disks
    return out


def machine() -> str:
    """This machine in a few words, for the record of a build."""
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, Python {platform.python_version()}"

