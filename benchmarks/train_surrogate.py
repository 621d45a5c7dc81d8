"""Train the LSTM surrogate shipped in ``src/samplecast/assets/`` (run by hand, about 10-15 minutes on 2 CPU cores).

    nice python benchmarks/train_surrogate.py                       # the shipped model
    nice python benchmarks/train_surrogate.py --lcdb 0.1 -o /tmp/s.pt   # ablation: + LCDB curves, 10% of --curves

The corpus is synthetic curves from the prior (:mod:`samplecast.forecast.prior`), optionally mixed with LCDB
classification curves from the OpenML data sets the benchmark never scores; no real segmentation curve is trained
on, so every one of them stays a held-out test.
The result has raw intervals; `samplecast.forecast.surrogate.calibrate_surrogate` on real curves adds the conformal
calibration.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import ROOT, lcdb_curves, lcdb_halves  # noqa: E402

from samplecast.forecast.prior import PriorConfig, bank_from_curves, sample_prior  # noqa: E402
from samplecast.forecast.surrogate import (  # noqa: E402
    SurrogateConfig, TrainingConfig, evaluate_loss, save_surrogate, train_surrogate,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "src/samplecast/assets/surrogate.pt")
    parser.add_argument("--curves", type=int, default=150_000, help="synthetic training curves")
    parser.add_argument("--lcdb", type=float, default=0.0, help="LCDB curves added, as a fraction of --curves")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-floor", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="ablation: the prior's test-set noise range (default: PriorConfig's)")
    args = parser.parse_args()

    started = time.time()
    prior = PriorConfig() if args.noise_floor is None else PriorConfig(noise_floor=tuple(args.noise_floor))
    corpus = sample_prior(args.curves, seed=args.seed, config=prior)
    described = f"prior: {args.curves} synthetic curves (seed {args.seed}"
    described += ")" if args.noise_floor is None else f", noise floor {args.noise_floor[0]:g}-{args.noise_floor[1]:g})"
    if args.lcdb > 0:
        every = lcdb_curves()
        _, unscored = lcdb_halves(every)
        lcdb = [c for c in every if c.key["dataset"] in unscored][: int(args.lcdb * args.curves)]
        corpus = corpus.concat(bank_from_curves(lcdb))
        described += f" + LCDB: {len(lcdb)} classification accuracy curves"
    validation = sample_prior(10_000, seed=args.seed + 1000, config=prior)

    def progress(epoch: int, epochs: int, train: float, val: float | None) -> None:
        print(f"epoch {epoch:3d}/{epochs}  train {train:.5f}  validation {val:.5f}  {time.time() - started:6.0f}s",
              flush=True)

    surrogate, _ = train_surrogate(
        corpus, settings=TrainingConfig(epochs=args.epochs, lr=args.lr, seed=args.seed),
        config=SurrogateConfig(hidden=args.hidden, layers=args.layers, head_width=args.hidden),
        validation=validation, describe_corpus=described, progress=progress,
    )
    surrogate.training["wall_s"] = round(time.time() - started)
    surrogate.training["validation_loss_prior"] = evaluate_loss(surrogate, validation)
    save_surrogate(surrogate, args.output)
    print(f"wrote {args.output} and {args.output.with_suffix('.json')} in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
