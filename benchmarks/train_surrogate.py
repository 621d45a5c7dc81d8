"""Ablations of the LSTM surrogate's pre-training: the shipped recipe with LCDB curves added, another noise floor or
other shape weights in the prior.

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
from samplecast.forecast.prior import SHAPES, PriorConfig  # noqa: E402
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
    parser.add_argument("--shape-weights", type=float, nargs=len(SHAPES), metavar=SHAPES, default=None,
                        help="the prior's probability of each shape (default: PriorConfig's)")
    args = parser.parse_args()
    check_output(args.output)
    started = time.time()
    recipe = SurrogateRecipe(
        architecture=SurrogateConfig(hidden=args.hidden, layers=args.layers, head_width=args.hidden),
        pretrain=TrainingConfig(epochs=args.epochs, lr=args.lr, seed=args.seed), prior_curves=args.curves,
        prior=PriorConfig(**prior_changes(args)))
    extra = []
    if args.lcdb > 0:
        every = lcdb_curves()
        _, unscored = lcdb_halves(every)
        extra = [c for c in every if c.key["dataset"] in unscored][: int(args.lcdb * args.curves)]
    surrogate = pretrain_surrogate(recipe, extra=extra, progress=print,
                                   extra_description=f"LCDB: {len(extra)} classification accuracy curves")
    for name, value in prior_changes(args).items():
        surrogate.training[f"prior_{name}"] = list(value)
    save_surrogate(surrogate, args.output)
    print(f"wrote {args.output} and {args.output.with_suffix('.json')} in {time.time() - started:.0f}s")


def prior_changes(args: argparse.Namespace) -> dict[str, tuple[float, ...]]:
    """The prior's settings this ablation changes from :class:`PriorConfig`'s defaults."""
    asked = {"noise_floor": args.noise_floor, "shape_weights": args.shape_weights}
    return {name: tuple(value) for name, value in asked.items() if value is not None}


if __name__ == "__main__":
    main()
