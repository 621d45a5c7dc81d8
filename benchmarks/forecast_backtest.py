"""Backtest every classical method on a curves table and write a markdown table (run by hand).

    python benchmarks/forecast_backtest.py data/kvasir_reference_curves.csv benchmarks/forecast_backtest_kvasir.md
"""

import platform
import sys
from datetime import date
from pathlib import Path

from samplecast.curves import load_curves
from samplecast.forecast.evaluate import DEFAULT_CUTOFFS, backtest, summarize
from samplecast.forecast.methods import make_forecaster


def main(curves_path: str, out_path: str) -> None:
    curves = load_curves(curves_path)
    methods = ["last1", "pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3", "log2", "average"]
    results = backtest(curves, [make_forecaster(m) for m in methods], DEFAULT_CUTOFFS)
    summary = summarize(results)
    lines = [
        f"# Backtest of the classical forecasters on `{curves_path}`",
        "",
        f"{len(curves)} complete curves; each cut where its sizes reach a cutoff fraction of its largest size, then "
        "forecast at the largest size. Cutoffs leaving fewer than 3 points are skipped (the reference curves have "
        "sizes 16, 80, 160, 400, 800: a 10% cutoff leaves 2 points, and 20% and 30% leave the same 3).",
        "",
        f"Reproduce: `python benchmarks/forecast_backtest.py {curves_path} {out_path}` "
        f"({date.today()}, {platform.machine()} CPU, Python {platform.python_version()}).",
        "",
        "| method | cutoff | curves | MAE | bias | 80% coverage | 90% coverage | 80% width |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(f"| {r.method} | {r.cutoff:g} | {r.curves} | {r.mae:.3f} | {r.bias:+.3f} | {r.coverage80:.0%} "
                     f"| {r.coverage90:.0%} | {r.width80:.3f} |")
    lines += ["", "Per curve (median forecast at the final size vs truth):", "",
              "| curve | method | cutoff | points | q50 | truth | error |", "|---|---|---|---|---|---|---|"]
    for r in results.itertuples():
        lines.append(f"| {r.curve} | {r.method} | {r.cutoff:g} | {r.points} | {r.q50:.3f} | {r.truth:.3f} "
                     f"| {r.error:+.3f} |")
    Path(out_path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
