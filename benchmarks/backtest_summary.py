"""Rebuild the shipped ensemble and the backtest summary every report quotes; run by hand after changing a family,
the members or the curves in ``data/``.

    nice python benchmarks/backtest_summary.py          # about 2 min on 2 CPU cores

Calls :func:`samplecast.forecast.build.build_forecaster` on the real curves in ``data/``: writes
``src/samplecast/assets/ensemble.json`` (weights and interval correction learned on every curve, each image set
weighing the same) and ``src/samplecast/assets/backtest_summary.json`` (the leave-one-dataset-out backtest of the
default method and the families beside it; format in :mod:`samplecast.report.trust`).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import IMAGES, REAL_DATASETS, ROOT  # noqa: E402

from samplecast import __version__  # noqa: E402
from samplecast.curves import load_curves  # noqa: E402
from samplecast.forecast.build import build_forecaster  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "src/samplecast/assets")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = {name: path.relative_to(ROOT).as_posix() for name, path in REAL_DATASETS.items() if path.exists()}
    corpus = {file: load_curves(ROOT / file) for file in files.values()}
    weights, summary = build_forecaster(corpus, args.out, {files[name]: IMAGES[name] for name in files},
                                        progress=print, source={
        "command": "python benchmarks/backtest_summary.py",
        "created": date.today().isoformat(),
        "samplecast": __version__,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, Python {platform.python_version()}",
    })
    print("weights:", dict(zip(weights.members, [round(w, 3) for w in weights.weights])))
    print("interval correction:", weights.calibration)
    print(f"wrote ensemble.json and backtest_summary.json ({len(summary.rows)} rows) in {args.out}, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
