"""Learning the ensemble from real curves, and measuring it on image sets it never learned from.

An *image set* is the images a group of curves was measured on: sweeps of the same images at another resolution or
on another machine belong to one set (Kvasir-SEG at 64 and 256 px is one set, LA-2018 another). For each image set in
turn, every learned part of the ensemble (member weights, interval correction) is learned on the other sets only and
the ensemble is scored on the held-out one (leave-one-dataset-out), so no figure is measured on curves it was learned
from. The parametric families learn nothing beyond each curve's own fit, so they are scored on every set as they are.

:func:`build_forecaster` does both and writes the shipped assets; ``benchmarks/backtest_summary.py`` runs it on the
curves in ``data/``::

    weights, summary = build_forecaster({"data/kvasir_h100_curves.csv": curves, ...}, "src/samplecast/assets",
                                        {"data/kvasir_h100_curves.csv": "kvasir-seg", ...})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from samplecast.curves import Curve
from samplecast.errors import InputError
from samplecast.forecast.backtest import DEFAULT_CUTOFFS, backtest
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.ensemble import EnsembleForecaster, StackingWeights, default_members
from samplecast.forecast.methods import make_forecaster

if TYPE_CHECKING:
    from samplecast.report.trust import BacktestSummary

#: Methods scored beside the ensemble: the flat baseline, the families and the model average.
BESIDE: tuple[str, ...] = ("last1", "pow3", "pow2", "pow4", "mmf4", "wbl4", "exp3", "average")


def scored(corpus: Mapping[str, Sequence[Curve]], image_sets: Mapping[str, str],
           forecasters: Sequence[CurveForecaster], cutoffs: Sequence[float] = DEFAULT_CUTOFFS) -> pd.DataFrame:
    """Backtest rows of ``forecasters`` on every source of ``corpus`` (name -> complete curves), with the columns
    ``source`` and ``images`` (the source's image set, from ``image_sets``; the source's own name if absent)."""
    frames = [backtest(curves, forecasters, cutoffs).assign(source=name, images=image_sets.get(name, name))
              for name, curves in corpus.items()]
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
    same configuration and source measured at the same final size (``curve`` gets ``" vs seed S"`` appended)."""
    if "seed" not in results:
        return results
    config = [c for c in ("source", "dataset", "model", "depth") if c in results]
    finals = results.drop_duplicates([*config, "seed", "n_final"])[[*config, "seed", "n_final", "truth"]]
    pairs = results.merge(finals, on=[*config, "n_final"], suffixes=("", "_other"))
    pairs = pairs[pairs["seed"] != pairs["seed_other"]]
    extra = pairs.assign(truth=pairs["truth_other"], curve=pairs["curve"] + " vs seed " + pairs["seed_other"].astype(str))
    return pd.concat([results, extra.drop(columns=["seed_other", "truth_other"])], ignore_index=True)


def held_out_backtest(
    corpus: Mapping[str, Sequence[Curve]],
    image_sets: Mapping[str, str],
    members: Sequence[CurveForecaster] | None = None,
    beside: Sequence[str] = BESIDE,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, StackingWeights]]:
    """Leave-one-dataset-out backtest of the ensemble of ``members`` (default: :func:`default_members`) and of the
    methods ``beside`` it, on every image set of ``corpus``.

    Returns the backtest rows, with ``held_out`` the image set each row was scored on, and the weights learned
    without each image set. ``progress`` receives a line after each step.

    Raises:
        InputError: when the corpus holds fewer than two image sets.
    """
    sets = sorted({image_sets.get(name, name) for name in corpus})
    if len(sets) < 2:
        raise InputError(f"a held-out backtest needs curves of at least two image sets; got {', '.join(sets) or 'none'}")
    members = list(members) if members is not None else default_members()
    names = list(dict.fromkeys([*beside, *(m.name for m in members)]))
    forecasters = {name: make_forecaster(name) for name in names if name not in {m.name for m in members}}
    forecasters.update({m.name: m for m in members})
    rows = scored(corpus, image_sets, [forecasters[n] for n in names], cutoffs)
    member_rows = rows[rows["method"].isin([m.name for m in members])]
    frames, learned = [rows[rows["method"].isin(beside)]], {}
    for images in sorted(set(rows["images"])):
        weights = learn_weights(member_rows[member_rows["images"] != images], members)
        learned[images] = weights
        held = {name: curves for name, curves in corpus.items() if image_sets.get(name, name) == images}
        frames.append(scored(held, image_sets, [EnsembleForecaster(members, weights)], cutoffs))
        if progress is not None:
            progress(f"{images} held out: ensemble learned on {weights.source}")
    results = pd.concat(frames, ignore_index=True)
    return results.assign(held_out=results["images"]), learned


def build_forecaster(
    corpus: Mapping[str, Sequence[Curve]],
    out_dir: str | Path,
    image_sets: Mapping[str, str] | None = None,
    *,
    members: Sequence[CurveForecaster] | None = None,
    beside: Sequence[str] = BESIDE,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    source: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[StackingWeights, BacktestSummary]:
    """Learn the ensemble from complete real curves and measure it out of sample: writes ``ensemble.json`` (weights
    and interval correction learned on every curve of ``corpus``) and ``backtest_summary.json`` (the
    leave-one-dataset-out backtest of :func:`held_out_backtest`) into ``out_dir``, and returns both.

    ``corpus`` maps each source (a curves file, say) to its curves; ``image_sets`` maps a source to the images it was
    measured on (default: every source its own image set); ``beside`` names the methods scored beside the ensemble;
    ``source`` is provenance stored in the summary (command, date, machine), after the ``datasets`` entry filled in
    from ``corpus`` and ``image_sets``.
    """
    from samplecast.report.trust import summarize_backtest

    image_sets = dict(image_sets or {})
    members = list(members) if members is not None else default_members()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, _ = held_out_backtest(corpus, image_sets, members, beside, cutoffs, progress)
    weights = learn_weights(scored(corpus, image_sets, members, cutoffs), members)
    weights.save(out / "ensemble.json")
    datasets: dict[str, dict[str, Any]] = {}
    for name, curves in corpus.items():
        entry = datasets.setdefault(image_sets.get(name, name), {"name": image_sets.get(name, name), "files": [],
                                                                  "curves": 0})
        entry["files"].append(name)
        entry["curves"] += len(curves)
    summary = summarize_backtest(results, description=DESCRIPTION,
                                 source={"datasets": list(datasets.values()), **(source or {})})
    summary.save(out / "backtest_summary.json")
    return weights, summary


#: What the shipped backtest summary measured, stated in the summary itself.
DESCRIPTION = (
    "Leave-one-dataset-out backtest on real segmentation curves: each complete curve (one per configuration and seed) "
    "is cut where its sizes reach a cutoff fraction of its largest size, and each method forecasts Dice at the largest "
    "size from that prefix. The ensemble's member weights and interval correction are learned again for each held-out "
    "image set on the other image sets only (curves of the same images at another resolution or on another machine "
    "are held out together); the parametric families learn nothing beyond each curve's own fit. The LSTM surrogate is "
    "not part of the default method; it is trained on synthetic curves only and would need no refit per held-out set.")
