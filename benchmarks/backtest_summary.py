"""Write the backtest summary every report quotes (``src/samplecast/assets/backtest_summary.json``); run by hand.

    python benchmarks/backtest_summary.py                       # every registered method on the reference curves
    python benchmarks/backtest_summary.py --methods average,pow3 --curves data/kvasir_reference_curves.csv

The default cutoffs, 0.2 and 0.5, are the ones that give distinct prefixes of the reference curves (sizes 16, 80,
160, 400, 800): a 20% cut keeps 3 points and forecasts 5x beyond them, a 50% cut keeps 4 and forecasts 2x. The
format is documented in :mod:`samplecast.report.trust`; rerun this script after registering a new method.
"""

import argparse
import hashlib
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from samplecast import __version__
from samplecast.curves import load_curves
from samplecast.forecast.registry import METHODS
from samplecast.report.trust import summarize_backtest

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", default="data/kvasir_reference_curves.csv", help="complete curves (CSV)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods (default: all)")
    parser.add_argument("--cutoffs", default="0.2,0.5", help="comma-separated fractions of each curve kept")
    parser.add_argument("--out", default="src/samplecast/assets/backtest_summary.json")
    args = parser.parse_args(argv)

    curves_path = Path(args.curves)
    methods = [m for m in args.methods.split(",") if m]
    cutoffs = [float(c) for c in args.cutoffs.split(",") if c]
    arguments = argv if argv is not None else sys.argv[1:]
    started = time.perf_counter()
    summary = summarize_backtest(load_curves(curves_path), methods, cutoffs, source={
        "curves": curves_path.as_posix(),
        "curves_sha256": hashlib.sha256(curves_path.read_bytes()).hexdigest(),
        "command": " ".join(["python", "benchmarks/backtest_summary.py", *arguments]),
        "created": date.today().isoformat(),
        "samplecast": __version__,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, Python {platform.python_version()}",
    })
    summary.save(args.out)
    print(f"wrote {args.out}: {len(summary.rows)} rows, {len(methods)} methods, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
