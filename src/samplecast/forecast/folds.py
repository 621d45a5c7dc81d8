"""Leave one image set out: what a forecaster learns from real curves, learned again without each image set, and the
backtest of each fold on the set it never learned from.

An *image set* is the images a group of curves was measured on: sweeps of the same images at another resolution or
on another machine belong to one set (Kvasir-SEG at 64 and 256 px is one set, LA-2018 another). For each image set in
turn, every part learned from real curves (stacking weights and correction, the surrogate's median shift and interval
widening, and its fine-tuning when asked for) is learned again on the other sets only, by the same function that
learns the final forecaster (:func:`learn_parts`), and scored on the held-out set (:func:`held_out_folds`), so no
figure is measured on curves it was learned from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from samplecast.curves import GROUP_COLUMNS, GROUP_DEFAULTS, Curve
from samplecast.errors import InputError
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.ensemble import EnsembleForecaster, StackingWeights, default_members
from samplecast.forecast.evaluate import DEFAULT_CUTOFFS, backtest
from samplecast.forecast.methods import make_forecaster

if TYPE_CHECKING:
    from samplecast.forecast.build import SurrogateRecipe
    from samplecast.forecast.surrogate import Surrogate

#: Methods scored beside the ensemble: the flat baseline, the families, the model average and the LSTM.
BESIDE: tuple[str, ...] = ("last1", "pow3", "pow2", "pow4", "mmf4", "wbl4", "exp3", "average", "lstm")
#: Methods whose learned parts come from the corpus, so the backtest learns them again for every held-out image set.
LEARNED: tuple[str, ...] = ("ensemble", "lstm")
#: Called with a line saying what a build or backtest is doing.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class LearnedParts:
    """Everything a forecaster learns from real curves, learned on one corpus.

    Args:
        stacking: the ensemble's member weights and interval correction.
        surrogate: the LSTM surrogate, fine-tuned on the corpus when asked for, carrying the median shift and the
            interval widening learned on it (``None`` when the LSTM is not part of the build).
        source: the curves they were learned on, in words.
    """

    stacking: StackingWeights
    surrogate: Surrogate | None = None
    source: str = ""

    def describe(self) -> dict[str, Any]:
        """Plain JSON for ``build.json``: the weights, the surrogate's calibration and median shift and (if
        fine-tuned) its training."""
        described: dict[str, Any] = {"source": self.source, "stacking": self.stacking.to_dict()}
        if self.surrogate is not None:
            calibration = self.surrogate.calibration
            described["surrogate_calibration"] = None if calibration is None else calibration.to_dict()
            shift = self.surrogate.shift
            described["surrogate_median_shift"] = None if shift is None else shift.to_dict()
            if self.surrogate.training.get("fine_tuned_from") is not None:
                described["surrogate_fine_tuning"] = self.surrogate.training
        return described


def default_image_sets(corpus: Mapping[str, Sequence[Curve]]) -> dict[str, str]:
    """The image set of each source: the ``dataset`` its curves name, or the file's name (without suffix) when they
    name none or several (curves of several datasets in one file are then held out together)."""
    sets = {}
    for name, curves in corpus.items():
        named = {str(c.key.get("dataset", GROUP_DEFAULTS["dataset"])) for c in curves}
        sets[name] = named.pop() if len(named) == 1 and GROUP_DEFAULTS["dataset"] not in named else Path(name).stem
    return sets


def scored(corpus: Mapping[str, Sequence[Curve]], image_sets: Mapping[str, str],
           forecasters: Sequence[CurveForecaster], cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
           progress: Progress | None = None, *, depths_together: bool = False) -> pd.DataFrame:
    """Backtest rows of ``forecasters`` on every source of ``corpus`` (name -> complete curves), with the columns
    ``source`` and ``images`` (the source's image set, from ``image_sets``; the source's own name if absent); with
    ``depths_together`` each curve is forecast with the other depths of its sweep.
    ``progress`` receives a line after each source."""
    frames = []
    for name, curves in corpus.items():
        frames.append(backtest(curves, forecasters, cutoffs, depths_together=depths_together)
                      .assign(source=name, images=image_sets.get(name, name)))
        if progress is not None:
            progress(f"backtested {', '.join(dict.fromkeys(f.name for f in forecasters))} on {name} "
                     f"({len(curves)} curves)")
    return pd.concat(frames, ignore_index=True)


def learn_weights(results: pd.DataFrame, members: Sequence[CurveForecaster]) -> StackingWeights:
    """Stacking weights and interval correction learned from the members' rows of :func:`scored`, each image set
    weighing the same however many curves it has.

    Where a sweep has several seeds of a configuration, each forecast is also scored against the other seeds' Dice
    at the same final size (:func:`with_other_seeds`): the intervals are learned to hold what a rerun would measure,
    not only the run the prefix came from.
    """
    counts = results.groupby("source", sort=False)["curve"].nunique()
    described = ", ".join(f"{name} ({count} curves)" for name, count in counts.items())
    rows = with_other_seeds(results)
    rows = rows.assign(curve=rows["source"] + ": " + rows["curve"])  # sources reuse curve labels
    return StackingWeights.fit(rows, [m.name for m in members], balance="images", source=described)


def with_other_seeds(results: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows plus, for each forecast from one seed's prefix, a copy scored against every other seed of the
    same configuration, scenario and source measured at the same final size (``curve`` gets ``" vs seed S"``
    appended); a scratch run never scores a transfer forecast, nor the reverse."""
    if "seed" not in results:
        return results
    config = [c for c in ("source", *GROUP_COLUMNS) if c != "seed" and c in results]
    finals = results.drop_duplicates([*config, "seed", "n_final"])[[*config, "seed", "n_final", "truth"]]
    pairs = results.merge(finals, on=[*config, "n_final"], suffixes=("", "_other"))
    pairs = pairs[pairs["seed"] != pairs["seed_other"]]
    extra = pairs.assign(truth=pairs["truth_other"],
                         curve=pairs["curve"] + " vs seed " + pairs["seed_other"].astype(str))
    return pd.concat([results, extra.drop(columns=["seed_other", "truth_other"])], ignore_index=True)


def learn_parts(
    corpus: Mapping[str, Sequence[Curve]],
    image_sets: Mapping[str, str],
    member_rows: pd.DataFrame,
    members: Sequence[CurveForecaster],
    surrogate: Surrogate | None = None,
    recipe: SurrogateRecipe | None = None,
    progress: Progress | None = None,
    *,
    depths_together: bool = False,
) -> LearnedParts:
    """Learn every part of a forecaster that comes from real curves, on ``corpus`` only: the stacking weights and
    correction from the members' backtest rows of its sources (``member_rows``, from :func:`scored`), and, when a
    ``surrogate`` is given, its fine-tuning on the corpus's curves (if ``recipe.fine_tune``), the shift of its median
    and then the correction of its shifted intervals, each image set weighing the same. With ``depths_together``
    (as ``member_rows`` were made) the intervals are corrected on forecasts of each sweep's depths together; the
    median shift is learned on each curve alone, since it acts before the depths are pooled.

    The one function that learns both the final forecaster and each fold of the held-out backtest, so a fold is
    learned exactly as the forecaster it stands for, without its held-out set.
    """
    rows = member_rows[member_rows["source"].isin(list(corpus))]
    stacking = learn_weights(rows, members)
    if surrogate is not None:
        curves = [c for curves in corpus.values() for c in curves]
        groups = [image_sets.get(name, name) for name, curves in corpus.items() for _ in curves]
        if recipe is not None and recipe.fine_tune is not None:
            from samplecast.forecast.surrogate import train_on_curves

            if progress is not None:
                progress(f"fine-tuning the surrogate on {len(curves)} curves of {', '.join(sorted(set(groups)))}")
            surrogate = train_on_curves(curves, start=surrogate, settings=recipe.fine_tune,
                                        prior_curves=recipe.fine_tune_prior_curves)
        from samplecast.forecast.surrogate import calibrate_surrogate, learn_shift

        surrogate = surrogate.with_shift(learn_shift(surrogate, curves, groups=groups))
        calibration = calibrate_surrogate(surrogate, curves, groups=groups, depths_together=depths_together)
        surrogate = replace(surrogate, training={**surrogate.training, "calibrated_on": stacking.source},
                            calibration=calibration)
    return LearnedParts(stacking, surrogate, stacking.source)


def held_out_folds(
    corpus: Mapping[str, Sequence[Curve]],
    image_sets: Mapping[str, str],
    members: Sequence[CurveForecaster] | None = None,
    beside: Sequence[str] = BESIDE,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    progress: Progress | None = None,
    *,
    surrogate: Surrogate | None = None,
    recipe: SurrogateRecipe | None = None,
    depths_together: bool = False,
) -> tuple[pd.DataFrame, dict[str, LearnedParts]]:
    """Leave-one-dataset-out backtest of the ensemble of ``members`` (default: :func:`default_members`) and of the
    methods ``beside`` it, on every image set of ``corpus``.

    For each image set, :func:`learn_parts` learns the parts on the other sets; the ensemble (and, with ``"lstm"`` in
    ``beside``, the LSTM: ``surrogate``, default the shipped one, fine-tuned as ``recipe`` says and with its interval
    widening) is scored on the held-out set with them. The other methods learn nothing from a corpus and are scored
    on every set as they are. With ``depths_together`` every forecast is made, and every part learned, with the other
    depths of the curve's sweep (:class:`~samplecast.forecast.together.SweepMean`), as the planner can forecast.

    Returns the backtest rows, with ``held_out`` the image set each row was scored on, and the parts learned
    without each image set (its ``surrogate`` carries the calibration the ``lstm`` rows of that set were scored with).
    ``progress`` receives a line after each step.

    Raises:
        InputError: when the corpus holds fewer than two image sets.
    """
    sets = sorted({image_sets.get(name, name) for name in corpus})
    if len(sets) < 2:
        raise InputError(f"a held-out backtest needs curves of at least two image sets; got {', '.join(sets) or 'none'}"
                         " (curves of one image set cannot be scored by a forecaster learned without them)")
    members = list(members) if members is not None else default_members()
    member_names = [m.name for m in members]
    fixed = [make_forecaster(name) for name in dict.fromkeys(beside)
             if name not in LEARNED and name not in member_names]
    if "lstm" in beside and surrogate is None:
        from samplecast.forecast.surrogate import load_surrogate

        surrogate = load_surrogate()
    rows = scored(corpus, image_sets, [*members, *fixed], cutoffs, progress, depths_together=depths_together)
    member_rows = rows[rows["method"].isin(member_names)]
    frames, folds = [rows], {}
    for images in sets:
        kept = {name: curves for name, curves in corpus.items() if image_sets.get(name, name) != images}
        held = {name: curves for name, curves in corpus.items() if image_sets.get(name, name) == images}
        parts = learn_parts(kept, image_sets, member_rows, members, surrogate if "lstm" in beside else None, recipe,
                            progress, depths_together=depths_together)
        folds[images] = parts
        learned = learned_forecasters(parts, members)
        frames.append(scored(held, image_sets, learned, cutoffs, depths_together=depths_together))
        if progress is not None:
            progress(f"{images} held out: {', '.join(f.name for f in learned)} learned on {parts.source}")
    results = pd.concat(frames, ignore_index=True)
    results = results[results["method"].isin([*beside, "ensemble"])].reset_index(drop=True)
    return results.assign(held_out=results["images"]), folds


def learned_forecasters(parts: LearnedParts, members: Sequence[CurveForecaster] | None = None) -> list[CurveForecaster]:
    """The forecasters ``parts`` make: the ensemble of ``members`` (default :func:`default_members`) with its learned
    weights, and the LSTM with its widening when ``parts`` hold a surrogate."""
    learned: list[CurveForecaster] = [EnsembleForecaster(members if members is not None else default_members(),
                                                         parts.stacking)]
    if parts.surrogate is not None:
        from samplecast.forecast.surrogate import LSTMForecaster

        learned.append(LSTMForecaster(parts.surrogate))
    return learned


def fold_forecasters(folds: Mapping[str, LearnedParts], method: str,
                     members: Sequence[CurveForecaster] | None = None) -> dict[str, CurveForecaster]:
    """For each image set of a held-out backtest (``folds`` from :func:`held_out_folds`, with ``members``), the
    forecaster ``method`` learned without it; methods that learn nothing from real curves are the same for every set.

    Raises:
        ValueError: for a learned method the folds did not learn (the LSTM of a backtest without it), which would
            otherwise be the shipped one, learned with every set.
    """
    found = {}
    for images, parts in folds.items():
        learned = {f.name: f for f in learned_forecasters(parts, members)}
        if method in LEARNED and method not in learned:
            raise ValueError(f"the folds did not learn {method}; backtest it with held_out_folds first")
        found[images] = learned[method] if method in learned else make_forecaster(method)
    return found
