"""Learn the shipped ensemble's weights and interval correction (``src/samplecast/assets/ensemble.json``); run by hand.

    nice python benchmarks/fit_ensemble.py          # about 30 s on 2 CPU cores

The stacking corpus (``corpora.stacking_corpus``) is every real segmentation dataset in ``data/``; each image set
(Kvasir-SEG, LA-2018) weighs the same. The figures a report quotes for these weights come from
``backtest_summary.py``, which learns them again without each image set in turn.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import IMAGES, ROOT, stacking_corpus  # noqa: E402

from samplecast.forecast.build import learn_weights, scored  # noqa: E402
from samplecast.forecast.ensemble import default_members, shipped_weights_path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    members = default_members()
    weights = learn_weights(scored(stacking_corpus(), IMAGES, members), members)
    weights.save(shipped_weights_path())
    print("weights:", dict(zip(weights.members, [round(w, 3) for w in weights.weights])))
    print("interval correction:", weights.calibration)
    print(f"wrote {shipped_weights_path().relative_to(ROOT)}")


if __name__ == "__main__":
    main()
