"""LC-PFN (Adriaensen et al., NeurIPS 2023) trained on samplecast's prior: an outside baseline for the LSTM.

LC-PFN is a prior-fitted transformer for learning-curve extrapolation (``pip install lcpfn``; its published weights
need a download, so it is trained here, with its own training loop, on the same synthetic curves as the LSTM).
The package pins torch<=1.11 but runs on current torch: install it with ``pip install --no-deps lcpfn`` (a
benchmark-only dependency, not one of samplecast's). Sizes enter as ``x = 100 * log(n) / log(10000)`` (LC-PFN expects
x in [0, 100]); Dice is the y it already expects.

    nice python benchmarks/lcpfn_baseline.py --epochs 60 -o /work/lcpfn/lcpfn.pt   # trains (prints LC-PFN's log)
    nice python benchmarks/forecast_accuracy.py --lcpfn /work/lcpfn/lcpfn.pt        # scores it on the real curves

60 epochs of the default 0.56 M-parameter model took 11 min of CPU on one core (x86_64, torch 2.13 CPU).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from samplecast.curves import check_points
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.prior import MAX_POINTS, CurveBank, sample_prior

SEQ_LEN = MAX_POINTS


def size_to_x(n: np.ndarray) -> np.ndarray:
    """LC-PFN's x for a training-set size."""
    return 100.0 * np.log(np.asarray(n, dtype=float)) / np.log(10_000.0)


def make_get_batch(bank: CurveBank):
    """An LC-PFN ``get_batch``: the first ``single_eval_pos`` points of each curve are context, its later points the
    targets; curves shorter than the sequence repeat their later points (a duplicate target only reweights the loss)."""
    rng = np.random.default_rng(0)

    def get_batch(batch_size, seq_len, num_features, single_eval_pos=None, **_):
        k = min(single_eval_pos or seq_len - 1, seq_len - 1)
        eligible = np.flatnonzero(bank.lengths > k)
        rows = rng.choice(eligible, batch_size)
        x = np.empty((seq_len, batch_size))
        y = np.empty((seq_len, batch_size))
        for b, row in enumerate(rows):
            length = bank.lengths[row]
            later = k + np.arange(seq_len - k) % (length - k)
            order = np.concatenate([np.arange(k), later])
            x[:, b], y[:, b] = size_to_x(bank.n[row, order]), bank.dice[row, order]
        x_t = torch.from_numpy(x).float().unsqueeze(-1)
        y_t = torch.from_numpy(y).float()
        return x_t, y_t, y_t

    return get_batch


def _patch_for_current_torch() -> None:
    """Two fixes for torch >= 2: LC-PFN's layer module star-imports names torch no longer exports, and torch's
    encoder now passes ``is_causal`` to its layers."""
    import lcpfn.layer

    for name in ("Dropout", "LayerNorm", "Linear", "MultiheadAttention"):
        setattr(lcpfn.layer, name, getattr(torch.nn, name))
    layer = lcpfn.layer.TransformerEncoderLayer
    if not getattr(layer, "_accepts_is_causal", False):
        original = layer.forward
        layer.forward = lambda self, src, src_mask=None, src_key_padding_mask=None, is_causal=False: original(
            self, src, src_mask, src_key_padding_mask)
        layer._accepts_is_causal = True


def train(bank: CurveBank, epochs: int, emsize: int = 128, nlayers: int = 3, borders: int = 500) -> torch.nn.Module:
    """Train LC-PFN with its own loop (100 steps of 100 curves per epoch) on ``bank``."""
    _patch_for_current_torch()
    from lcpfn.train_lcpfn import train_lcpfn

    _, _, model, _ = train_lcpfn(make_get_batch(bank), seq_len=SEQ_LEN, emsize=emsize, nlayers=nlayers,
                                 num_borders=borders, lr=1e-3, batch_size=100, epochs=epochs)
    return model.eval()


def load(path: str | Path) -> torch.nn.Module:
    """A model written by this script's ``main`` (the whole module, pickled by ``torch.save``), ready to forecast."""
    _patch_for_current_torch()
    return torch.load(path, weights_only=False).eval()


class LCPFNForecaster(CurveForecaster):
    """A trained LC-PFN as a :class:`CurveForecaster` (quantiles from its bar distribution)."""

    name = "lcpfn"

    def __init__(self, model: torch.nn.Module):
        self.model = model

    def fit(self, n, dice, sd=None) -> LCPFNForecaster:
        self.n_, self.dice_ = check_points(n, dice, min_points=1, name=self.name)
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        x = torch.from_numpy(size_to_x(np.concatenate([self.n_, as_sizes(n)]))).float()[:, None, None]
        y = torch.from_numpy(self.dice_).float()[:, None]
        with torch.inference_mode():
            logits = self.model((x, y), single_eval_pos=len(self.n_))  # (m, 1, borders)
            out = torch.cat([self.model.criterion.icdf(logits, float(q)) for q in quantiles], dim=1)
        return tidy_quantiles(out.double().numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--curves", type=int, default=150_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    started = time.time()
    model = train(sample_prior(args.curves, seed=0), args.epochs)
    torch.save(model, args.output)
    print(f"wrote {args.output} after {time.time() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
