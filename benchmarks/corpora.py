"""Learning-curve corpora for the benchmarks: the real curves in ``data/`` and the Learning Curve Database.

The Learning Curve Database (LCDB, Mohr et al. 2022; ``pip install lcdb``) ships accuracy learning curves of
classifiers on OpenML data sets. They are classification, not segmentation, curves: used here only as extra real
curves for pre-training or calibration, never as a benchmark of segmentation forecasts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from samplecast.curves import Curve, load_curves
from samplecast.forecast.prior import MAX_POINTS

ROOT = Path(__file__).resolve().parents[1]

#: Real segmentation curves with the file each comes from; a dataset is missing until its sweep has been run.
REAL_DATASETS: dict[str, Path] = {
    "kvasir-reference": ROOT / "data" / "kvasir_reference_curves.csv",
    "kvasir-h100": ROOT / "data" / "kvasir_h100_curves.csv",
    "kvasir64-cpu": ROOT / "data" / "kvasir64_cpu_curves.csv",
    "la2018-h100": ROOT / "data" / "la2018_h100_curves.csv",
    "la2018-cpu": ROOT / "data" / "la2018_cpu_curves.csv",
    "hc18-cpu": ROOT / "data" / "hc18_cpu_curves.csv",
    "acdc-lv-cpu": ROOT / "data" / "acdc_lv_cpu_curves.csv",
    "acdc-heart-cpu": ROOT / "data" / "acdc_heart_cpu_curves.csv",
    "lgg64-cpu": ROOT / "data" / "lgg64_cpu_curves.csv",
    "fuseg128-cpu": ROOT / "data" / "fuseg128_cpu_curves.csv",
}
#: Real curves of runs that started from trained weights (``sweep --init-from``): scored apart from the scratch curves
#: above (a separate table of ``forecast_accuracy.md``), never learned from.
TRANSFER_DATASETS: dict[str, Path] = {
    "lgg64-from-kvasir64": ROOT / "data" / "transfer" / "lgg64_from_kvasir64_cpu_curves.csv",
    "la2018-from-acdc-heart": ROOT / "data" / "transfer" / "la2018_from_acdc_heart_cpu_curves.csv",
}
#: The images each real dataset was measured on: curves of the same images are held out together, so nothing
#: learned from Kvasir-SEG at 64 px is scored on Kvasir-SEG at 256 px.
IMAGES: dict[str, str] = {
    "kvasir-reference": "kvasir-seg", "kvasir-h100": "kvasir-seg", "kvasir64-cpu": "kvasir-seg",
    "la2018-h100": "la2018", "la2018-cpu": "la2018", "hc18-cpu": "hc18", "acdc-lv-cpu": "acdc",
    "acdc-heart-cpu": "acdc", "lgg64-cpu": "lgg", "fuseg128-cpu": "fuseg", "lgg64-from-kvasir64": "lgg",
    "la2018-from-acdc-heart": "la2018",
}


def real_curves() -> dict[str, list[Curve]]:
    """The real segmentation curves available, by dataset: one curve per (configuration, seed), since a planner
    forecasts from the sweep of one seed as often as from an average."""
    return {name: load_curves(path, average_seeds=False) for name, path in REAL_DATASETS.items() if path.exists()}


def transfer_curves() -> dict[str, list[Curve]]:
    """The real transfer curves available, by dataset (as :func:`real_curves`)."""
    return {name: load_curves(path, average_seeds=False) for name, path in TRANSFER_DATASETS.items()
            if path.exists()}


def lcdb_curves(max_curves: int | None = None, seed: int = 0) -> list[Curve]:
    """Test-accuracy curves from LCDB, one per (data set, learner, outer seed), thinned to doubling sizes.

    Inner seeds are averaged; sizes are thinned to every other anchor (LCDB spaces them by sqrt 2) and the last
    :data:`MAX_POINTS` kept, so the grids look like a sweep's. Curves with fewer than 4 points are dropped.
    """
    spec = importlib.util.find_spec("lcdb")  # located, not imported: the package imports openml at load time
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("LCDB not installed: pip install lcdb")
    table = pd.read_csv(Path(spec.submodule_search_locations[0]) / "database-accuracy.csv",
                        usecols=["openmlid", "learner", "size_train", "outer_seed", "score_test"])
    table = table.dropna()
    grouped = table.groupby(["openmlid", "learner", "outer_seed", "size_train"])["score_test"].mean().reset_index()
    curves = []
    for (dataset, learner, outer), rows in grouped.groupby(["openmlid", "learner", "outer_seed"], sort=True):
        n, acc = rows["size_train"].to_numpy(float), rows["score_test"].to_numpy(float)
        keep = np.arange(len(n))[::-1][::2][::-1]  # every other anchor, ending at the largest size
        n, acc = n[keep][-MAX_POINTS:], acc[keep][-MAX_POINTS:]
        if len(n) >= 4 and np.all(np.diff(n) > 0) and np.all((acc >= 0) & (acc <= 1)):
            curves.append(Curve({"dataset": f"openml-{dataset}", "model": learner, "seed": int(outer)}, n, acc))
    if max_curves is not None and len(curves) > max_curves:
        rng = np.random.default_rng(seed)
        curves = [curves[i] for i in sorted(rng.choice(len(curves), max_curves, replace=False))]
    return curves


def lcdb_halves(curves: list[Curve], rng: np.random.Generator | None = None) -> tuple[set[str], set[str]]:
    """The OpenML data sets of ``curves`` split in two fixed halves: (scored by the benchmark, never scored, so free
    for training ablations such as ``train_surrogate.py --lcdb``).

    ``rng`` defaults to a generator seeded with 0, the benchmark's split.
    """
    datasets = sorted({c.key["dataset"] for c in curves})
    (rng or np.random.default_rng(0)).shuffle(datasets)
    half = len(datasets) // 2
    return set(datasets[:half]), set(datasets[half:])


def stacking_corpus() -> dict[str, list[Curve]]:
    """The curves stacking weights and calibrations are learned on: the real segmentation datasets.

    LCDB and synthetic curves are left out: mixed in with equal weight, they pulled the weights towards the surrogate
    (which forecasts them well) and the intervals wider than real segmentation curves need.
    """
    return real_curves()
