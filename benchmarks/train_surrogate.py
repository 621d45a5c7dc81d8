"""Ablations of the LSTM surrogate's pre-training: the shipped recipe with LCDB curves added, or another noise floor.

The shipped surrogate is not trained here: ``samplecast surrogate build`` pre-trains it and builds the whole shipped
forecaster (see ``data/README.md``). This script pre-trains a variant with the same library function
(:func:`samplecast.forecast.build.pretrain_surrogate`) and writes its raw weights, to be built into a forecaster and
judged held out by image set::

    nice python benchmarks/train_surrogate.py --lcdb 0.1 -o /tmp/lcdb.npz        # + LCDB curves, 10% of --curves
    samplecast surrogate build data/*_curves.csv --start /tmp/lcdb.npz -o /tmp/lcdb-forecaster

LCDB curves come from the OpenML data sets the benchmarks never score (:func:`corpora.lcdb_halves`); no real
segmentation curve is trained on, so every one of them stays a held-out test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import lcdb_curves, lcdb_halves  # noqa: E402

from samplecast.forecast.build import SurrogateRecipe, pretrain_surrogate  # noqa: E402
from samplecast.forecast.prior import PriorConfig  # noqa: E402
from samplecast.forecast.surrogate import SurrogateConfig, TrainingConfig, check_output, save_surrogate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True, help="weights to write (.npz)")
    parser.add_argument("--curves", type=int, default=150_000, help="synthetic training curves")
    parser.add_argument("--lcdb", type=float, default=0.0, help="LCDB curves added, as a fraction of --curves")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-floor", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="the prior's test-set noise range (default: PriorConfig's)")
    args = parser.parse_args()
    check_output(args.output)
    started = time.time()
    recipe = SurrogateRecipe(
        architecture=SurrogateConfig(hidden=args.hidden, layers=args.layers, head_width=args.hidden),
        pretrain=TrainingConfig(epochs=args.epochs, lr=args.lr, seed=args.seed), prior_curves=args.curves,
        prior=PriorConfig() if args.noise_floor is None else PriorConfig(noise_floor=tuple(args.noise_floor)))
    extra = []
    if args.lcdb > 0:
        every = lcdb_curves()
        _, unscored = lcdb_halves(every)
        extra = [c for c in every if c.key["dataset"] in unscored][: int(args.lcdb * args.curves)]
    surrogate = pretrain_surrogate(recipe, extra=extra, progress=print,
                                   extra_description=f"LCDB: {len(extra)} classification accuracy curves")
    if args.noise_floor is not None:
        surrogate.training["prior_noise_floor"] = list(args.noise_floor)
    save_surrogate(surrogate, args.output)
    print(f"wrote {args.output} and {args.output.with_suffix('.json')} in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
