"""Should each image set or each curve weigh the same when the LSTM's median shift and interval correction are learned?

    nice python benchmarks/calibration_weighting.py

Writes ``calibration_weighting.md``: :data:`QUESTION`, answered held out by image set.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import IMAGES, real_curves  # noqa: E402
from forecast_accuracy import PINBALL, POOLED, grid, scored_summaries  # noqa: E402

import pandas as pd  # noqa: E402

import samplecast.forecast.surrogate as surrogate_parts  # noqa: E402
from samplecast.forecast.evaluate import seeds_together  # noqa: E402
from samplecast.forecast.folds import held_out_folds  # noqa: E402

HERE = Path(__file__).resolve().parent
#: What the trial compares, in the words of its output.
QUESTION = ("Both parts are learned by absolute or pinball loss on every prefix of the real curves of the other image "
            "sets (`samplecast.forecast.folds.learn_parts`), each image set weighing the same, so a set of few curves "
            "(LGG: 3) counts as much as one of many (Kvasir-SEG: 15), and a set of one curve could move every other "
            "set's intervals. This trial learns them a second way, each curve weighing the same, and scores both held "
            "out by image set on the same curves (from the mean of each configuration's seeds, as "
            "`forecast_accuracy.py` does).")
LEARNED_BY_GROUP = ("learn_shift", "calibrate_surrogate")


@contextmanager
def each_curve_weighs_the_same() -> Iterator[None]:
    """Within the block, the surrogate's median shift and interval correction are learned with one group per curve
    (:func:`~samplecast.forecast.surrogate.calibrate.balanced_weights` then weighs each curve the same)."""
    originals: dict[str, Callable] = {name: getattr(surrogate_parts, name) for name in LEARNED_BY_GROUP}

    def per_curve(learn: Callable) -> Callable:
        return lambda surrogate, curves, *, groups=None, **kw: learn(
            surrogate, curves, groups=[f"{g}:{i}" for i, g in enumerate(groups or [""] * len(curves))], **kw)

    try:
        for name, learn in originals.items():
            setattr(surrogate_parts, name, per_curve(learn))
        yield
    finally:
        for name, learn in originals.items():
            setattr(surrogate_parts, name, learn)


def main() -> None:
    started = time.time()
    corpus = {name: seeds_together(curves) for name, curves in real_curves().items()}
    by_set, folds_set = held_out_folds(corpus, IMAGES, beside=("lstm",), progress=print)
    with each_curve_weighs_the_same():
        by_curve, folds_curve = held_out_folds(corpus, IMAGES, beside=("lstm",), progress=print)
    rows = pd.concat([by_set[by_set["method"] == "lstm"].assign(method="lstm (each image set)"),
                      by_curve[by_curve["method"] == "lstm"].assign(method="lstm (each curve)")], ignore_index=True)
    table = scored_summaries(rows)
    learned = [f"| {images} | {_parts(folds_set[images])} | {_parts(folds_curve[images])} |" for images in folds_set]
    lines = ["# The LSTM's learned parts: each image set or each curve weighing the same", "",
             f"Command: `nice python benchmarks/calibration_weighting.py`; {(time.time() - started) / 60:.1f} min on a "
             f"{os.cpu_count()}-core {platform.machine()} CPU shared with other work (Python "
             f"{platform.python_version()}), {time.strftime('%Y-%m-%d')}.", "", QUESTION,
             "", "Held out by image set, pooled over the five:", "",
             *grid(table[table["held_out"] == POOLED], PINBALL), "", "Learned without each image set "
             "(correction scale / floor / widening; shift rise / scale):", "",
             "| held out | each image set | each curve |", "|---|---|---|", *learned, ""]
    (HERE / "calibration_weighting.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'calibration_weighting.md'}")


def _parts(parts) -> str:
    c, s = parts.surrogate.calibration, parts.surrogate.shift
    return f"{c.scale:g} / {c.floor:g} / {c.widen:g}; {s.rise:g} / {s.scale:g}"


if __name__ == "__main__":
    main()
