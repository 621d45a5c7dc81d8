"""Write the backtest summary every report quotes (``src/samplecast/assets/backtest_summary.json``); run by hand.

    nice python benchmarks/backtest_summary.py          # about 1 min on 2 CPU cores

A leave-one-dataset-out backtest (:func:`samplecast.forecast.build.held_out_backtest`) of the shipped default method
and the families beside it on the real curves in ``data/``: the ensemble's weights and interval correction are learned
again without each image set before it is scored on it. The format is documented in :mod:`samplecast.report.trust`.
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
from corpora import IMAGES, REAL_DATASETS, ROOT, stacking_corpus  # noqa: E402

from samplecast import __version__  # noqa: E402
from samplecast.forecast.backtest import DEFAULT_CUTOFFS  # noqa: E402
from samplecast.forecast.build import held_out_backtest  # noqa: E402
from samplecast.report.trust import summarize_backtest  # noqa: E402

DESCRIPTION = (
    "Leave-one-dataset-out backtest on the real segmentation curves shipped in data/: each complete curve (one per "
    "configuration and seed) is cut where its sizes reach a cutoff fraction of its largest size, and each method "
    "forecasts Dice at the largest size from that prefix. The ensemble's member weights and interval correction are "
    "learned again for each held-out image set on the other image sets only (curves of the same images at another "
    "resolution or on another machine are held out together); the parametric families learn nothing beyond each "
    "curve's own fit. The LSTM surrogate is not part of the default method; it is trained on synthetic curves only "
    "and would need no refit per held-out set.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "src/samplecast/assets/backtest_summary.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = stacking_corpus()
    results, _ = held_out_backtest(corpus, IMAGES, cutoffs=DEFAULT_CUTOFFS, progress=print)
    datasets = {}
    for name, curves in corpus.items():
        entry = datasets.setdefault(IMAGES[name], {"name": IMAGES[name], "files": [], "curves": 0})
        entry["files"].append(REAL_DATASETS[name].relative_to(ROOT).as_posix())
        entry["curves"] += len(curves)
    summary = summarize_backtest(results, description=DESCRIPTION, source={
        "datasets": list(datasets.values()),
        "command": "python benchmarks/backtest_summary.py",
        "created": date.today().isoformat(),
        "samplecast": __version__,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, Python {platform.python_version()}",
    })
    summary.save(args.out)
    print(f"wrote {args.out}: {len(summary.rows)} rows, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
