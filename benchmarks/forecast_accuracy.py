"""How accurate and how honest is each forecasting method on held-out real curves? Writes ``forecast_accuracy.md``.

    nice python benchmarks/forecast_accuracy.py          # about 2 min on 2 CPU cores

1. Leave-one-dataset-out backtest (:func:`samplecast.forecast.build.held_out_backtest`) on the real segmentation
   curves in ``data/``: every method forecasts the largest size of each complete curve from prefixes cut at 10/20/30/50%
   of it; the ensemble's weights and interval correction are learned without the image set scored. Every scored
   forecast goes to ``forecast_accuracy.csv``.
2. Before and after: the same table for the forecasts of the previous design, kept in
   ``forecast_accuracy_before.csv`` (median of bootstrap refits, distance-binned ensemble weights with the LSTM).
3. Seed variation: on the multi-seed sweeps, the 80% interval fitted on one seed's prefix is checked against the
   *other* seed's Dice at the largest size, with the ensemble learned without that image set.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import IMAGES, stacking_corpus  # noqa: E402

from samplecast.curves import Curve  # noqa: E402
from samplecast.forecast.backtest import DEFAULT_CUTOFFS, summarize  # noqa: E402
from samplecast.forecast.base import clone  # noqa: E402
from samplecast.forecast.build import held_out_backtest  # noqa: E402
from samplecast.forecast.ensemble import EnsembleForecaster, default_members  # noqa: E402
from samplecast.forecast.methods import make_forecaster  # noqa: E402

HERE = Path(__file__).resolve().parent
ORDER = ("last1", "pow3", "pow2", "pow4", "mmf4", "wbl4", "exp3", "average", "lstm", "ensemble")
#: Sweeps with two seeds of each configuration.
MULTI_SEED = ("kvasir-h100", "la2018-h100", "kvasir64-cpu", "la2018-cpu", "hc18-cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=HERE / "forecast_accuracy.md")
    args = parser.parse_args()
    started = time.time()
    corpus = stacking_corpus()
    results, learned = held_out_backtest(corpus, IMAGES, progress=print)
    results.round(5).to_csv(args.output.with_suffix(".csv"), index=False)
    seeds = seed_coverage(corpus, learned)
    before = pd.read_csv(HERE / "forecast_accuracy_before.csv")
    before = before[before["held_out"].isin(corpus)]  # the real curves; the earlier study also scored others
    write_report(args.output, results, before, seeds, learned, (time.time() - started) / 60)


def seed_coverage(corpus: dict[str, list[Curve]], learned: dict) -> pd.DataFrame:
    """One row per (sweep, configuration, seed pair, cutoff, method): whether the 80% interval fitted on one seed's
    prefix holds the other seed's Dice at the largest size (and its own, for comparison)."""
    rows = []
    methods = {"pow3": make_forecaster("pow3"), "average": make_forecaster("average")}
    for name in MULTI_SEED:
        by_config: dict[tuple, dict[int, Curve]] = {}
        for curve in corpus.get(name, []):
            key = tuple((k, v) for k, v in curve.key.items() if k != "seed")
            by_config.setdefault(key, {})[curve.key["seed"]] = curve
        ensemble = EnsembleForecaster(default_members(), learned[IMAGES[name]])  # learned without these images
        for config, seeds in by_config.items():
            for a, b in [(a, b) for a in seeds for b in seeds if a != b]:
                fit_on, other = seeds[a], seeds[b]
                for cutoff in DEFAULT_CUTOFFS:
                    prefix = fit_on.up_to(cutoff * fit_on.n_max * (1 + 1e-9))
                    if len(prefix.n) < 3 or len(prefix.n) == len(fit_on.n):
                        continue
                    for method, forecaster in {**methods, "ensemble": ensemble}.items():
                        model = clone(forecaster).fit_curve(prefix)
                        lo, mid, hi = model.predict_quantiles([other.n_max], (0.1, 0.5, 0.9))[0]
                        own = fit_on.dice[-1]
                        rows.append({"sweep": name, "config": dict(config).get("depth"), "fit_seed": a, "cutoff": cutoff,
                                     "method": method, "other_in80": lo <= other.dice[-1] <= hi,
                                     "own_in80": lo <= own <= hi, "seed_gap": abs(other.dice[-1] - own),
                                     "width80": hi - lo})
    return pd.DataFrame(rows)


def _table(summary: pd.DataFrame, methods) -> list[str]:
    cutoffs = sorted(summary["cutoff"].unique())
    lines = ["| method | " + " | ".join(f"{c:.0%}: MAE / bias / cov80 / w80 (k)" for c in cutoffs) + " |",
             "|---|" + "---|" * len(cutoffs)]
    for method in [m for m in methods if m in set(summary["method"])]:
        cells = []
        for cutoff in cutoffs:
            row = summary[(summary["method"] == method) & (summary["cutoff"] == cutoff)]
            if row.empty:
                cells.append("-")
                continue
            r = row.iloc[0]
            cells.append(f"{r.mae:.4f} / {r.bias:+.4f} / {r.coverage80:.0%} / {r.width80:.3f} ({r.curves})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def write_report(path: Path, results: pd.DataFrame, before: pd.DataFrame, seeds: pd.DataFrame, learned: dict,
                 minutes: float) -> None:
    pooled = summarize(results, by=("method", "cutoff"))
    old = summarize(before[before["method"].isin(["pow3", "pow2", "ensemble", "average", "lstm"])],
                    by=("method", "cutoff"))
    findings = _findings(path)
    lines = [
        "# Forecast accuracy on held-out real learning curves",
        "",
        f"Reproduce: `nice python benchmarks/forecast_accuracy.py`. Machine: {platform.machine()} CPU, 2 cores shared "
        f"with other work, no GPU, Python {platform.python_version()}; took {minutes:.1f} min. Every scored forecast: "
        "`forecast_accuracy.csv`; the previous design's: `forecast_accuracy_before.csv`.",
        "",
        "Protocol: leave one image set out. The 25 real curves of `data/` (one per configuration and seed) come from "
        "three image sets: Kvasir-SEG (`kvasir_reference`, `kvasir_h100`, `kvasir64_cpu`: 13 curves), LA-2018 "
        "(`la2018_h100`, `la2018_cpu`: 8 curves) and HC18 (`hc18_cpu`: 4 curves). Each complete curve is cut where its "
        "sizes reach 10/20/30/50% of its largest size (prefixes of at least 3 points; LA-2018's pools are too small for "
        "a 10% prefix) and each method forecasts Dice at the largest size. The ensemble's weights and interval "
        "correction are learned on the other image sets only, so nothing scored was learned from. **MAE** of the median, **bias** (median minus truth), **cov80** "
        "(how often the 80% interval held the truth), **w80** (mean 80% width), **k** (forecasts).",
        "",
        "Ensemble learned without each image set: " + "; ".join(
            f"without {images}: " + ", ".join(f"{m} {w:.2f}" for m, w in zip(weights.members, weights.weights))
            + f", widen {weights.calibration.widen:.3f}, floor {weights.calibration.floor:.3f}"
            for images, weights in learned.items()) + ".",
        "",
        *([findings, ""] if findings else []),
        "## All held-out real curves, after",
        "",
        *_table(pooled, ORDER),
        "",
        "## Before and after on the same curves",
        "",
        "The previous design was scored on the 21 Kvasir-SEG and LA-2018 curves, before HC18 was measured. "
        "`pow3` and `average` then took the median of bootstrap refits as the forecast, and the `ensemble` stacked the "
        "LSTM, `pow3` and `pow2` with weights per extrapolation distance. Before:",
        "",
        *_table(old, ("pow3", "pow2", "average", "lstm", "ensemble")),
        "",
        "After, the same 21 curves (the ensemble now also learns from HC18 when Kvasir-SEG or LA-2018 is held out):",
        "",
        *_table(summarize(results[results["dataset"].isin(before["dataset"].unique())], by=("method", "cutoff")),
                ("pow3", "pow2", "average", "lstm", "ensemble")),
        "",
        "## Per held-out image set, after",
    ]
    for images, block in results.groupby("held_out", sort=True):
        lines += ["", f"### {images}", "", *_table(summarize(block, by=("method", "cutoff")), ORDER)]
    lines += ["", "## Seed variation", "",
              "On the two-seed sweeps (`kvasir_h100`, `la2018_h100`, `kvasir64_cpu`, `la2018_cpu`, `hc18_cpu`), each method is "
              "fitted on one seed's prefix and its 80% interval at the largest size is checked against the *other* "
              "seed's measured Dice there (both seeds in turn; the ensemble learned without that image set). "
              "`own` is the same check against the fitted seed's own Dice; `gap` the mean Dice difference between "
              "the two seeds at the largest size.", "",
              "| method | cutoff | other seed in 80% | own seed in 80% | mean 80% width | gap | k |",
              "|---|---|---|---|---|---|---|"]
    for (method, cutoff), block in seeds.groupby(["method", "cutoff"]):
        lines.append(f"| {method} | {cutoff:.0%} | {block.other_in80.mean():.0%} | {block.own_in80.mean():.0%} | "
                     f"{block.width80.mean():.3f} | {block.seed_gap.mean():.3f} | {len(block)} |")
    for method, block in seeds.groupby("method"):
        lines.append(f"| {method} | all | **{block.other_in80.mean():.0%}** | {block.own_in80.mean():.0%} | "
                     f"{block.width80.mean():.3f} | {block.seed_gap.mean():.3f} | {len(block)} |")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def _findings(report: Path) -> str:
    """The hand-written ``## Findings`` section of an existing report (up to the next ``## `` heading), kept above the
    tables; re-read it against the new numbers."""
    text = report.read_text() if report.exists() else ""
    start = text.find("\n## Findings")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start + 1:end if end >= 0 else len(text)].strip()


if __name__ == "__main__":
    main()
