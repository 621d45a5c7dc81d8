"""Speed of the LSTM surrogate: loading its files, forecasting one curve, and training an epoch under Lightning.

    nice python benchmarks/surrogate_speed.py            # writes benchmarks/surrogate_speed.md

- load: ``load_surrogate`` of the shipped files read from disk (the cache bypassed), and through the cache (a stat of
  both files and a dictionary look-up), median of ``--repeats`` calls;
- forecast: ``LSTMForecaster().fit`` on a 4-point curve and ``predict_quantiles`` at 7 sizes, median of ``--repeats``;
- train: seconds per epoch of ``train_surrogate`` with the shipped architecture and default settings (batch 256,
  1 torch thread) on ``--curves`` synthetic curves; the first epoch includes building the Trainer.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch

from samplecast.forecast.prior import sample_prior
from samplecast.forecast.surrogate import LSTMForecaster, TrainingConfig, load_surrogate, shipped_weights
from samplecast.forecast.surrogate import persistence

OUT = Path(__file__).resolve().parent / "surrogate_speed.md"


def timed(call, repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``call``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--curves", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)

    weights = shipped_weights()
    versions = tuple((s.st_mtime_ns, s.st_size) for s in (weights.stat(), weights.with_suffix(".json").stat()))
    cold = timed(lambda: persistence._load.__wrapped__(str(weights), versions), args.repeats)
    load_surrogate()
    cached = timed(load_surrogate, args.repeats)
    forecast = timed(lambda: LSTMForecaster().fit([16, 80, 160, 400], [0.483, 0.682, 0.755, 0.802])
                     .predict_quantiles([800, 1000, 1500, 2000, 3000, 4000, 8000]), args.repeats)

    from samplecast.forecast.surrogate import train_surrogate

    corpus = sample_prior(args.curves, seed=0)
    marks = [time.perf_counter()]
    train_surrogate(corpus, settings=TrainingConfig(epochs=args.epochs),
                    progress=lambda *_: marks.append(time.perf_counter()))
    epochs = [b - a for a, b in zip(marks, marks[1:])]

    ms = lambda values: f"{1000 * statistics.median(values):.2f} ms"  # noqa: E731
    lines = [
        f"# Surrogate speed ({date.today().isoformat()})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other jobs: "
        f"load average {os.getloadavg()[0]:.1f}), 1 torch thread, no GPU. torch {torch.__version__}.",
        "",
        "| what | time |",
        "|---|---|",
        f"| load the shipped surrogate from disk (median of {args.repeats}) | {ms(cold)} |",
        f"| load it again, unchanged files (cache) | {ms(cached)} |",
        f"| forecast one 4-point curve at 7 sizes (fit + predict_quantiles) | {ms(forecast)} |",
        f"| train one epoch, {args.curves:,} curves, batch 256 (epochs 1..{args.epochs}) | "
        + ", ".join(f"{e:.1f} s" for e in epochs) + " |",
        "",
        f"Command: `python benchmarks/surrogate_speed.py --repeats {args.repeats} --curves {args.curves} "
        f"--epochs {args.epochs}`",
    ]
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
