"""Calibrate the shipped surrogate's intervals and learn the shipped ensemble weights (run by hand after training).

    nice python benchmarks/fit_ensemble.py

The stacking corpus (``corpora.stacking_corpus``) is every real segmentation dataset in ``data/``, each weighing the
same. Rewrites the calibration in ``assets/surrogate.json`` and writes ``assets/ensemble.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import ROOT, stacking_corpus  # noqa: E402
from stacking import fit_stack  # noqa: E402

from samplecast.forecast.ensemble import shipped_weights_path  # noqa: E402
from samplecast.forecast.surrogate import load_surrogate, save_surrogate, shipped_weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    raw = load_surrogate().with_calibration(None)
    calibrated, weights = fit_stack(stacking_corpus(), raw)
    calibrated.training["calibrated_on"] = weights.source
    save_surrogate(calibrated, shipped_weights())
    weights.save(shipped_weights_path())
    print("surrogate calibration factors (bins x 50/80/90%):", np.round(calibrated.calibration.factors, 3).tolist())
    print("ensemble weights per bin:", dict(zip(weights.members, np.round(np.asarray(weights.weights).T, 3).tolist())))
    print("ensemble calibration factors:", np.round(weights.calibration.factors, 3).tolist())
    print(f"wrote {shipped_weights().relative_to(ROOT)} (+ .json) and {shipped_weights_path().relative_to(ROOT)}")


if __name__ == "__main__":
    main()
