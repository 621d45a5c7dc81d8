"""Batches the surrogate learns from: complete curves cut at random prefixes, every size a target.

A prefix is what a planner has observed; the sizes after it are the forecasts the network is scored on, and its
last size (where the network predicts the spread of one run's Dice) weighs less. Earlier sizes are not scored: below
the last size the network only continues its forecast (:class:`~samplecast.forecast.surrogate.network.SurrogateNet`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from samplecast.forecast.prior import CurveBank
from samplecast.forecast.surrogate.features import MIN_POINTS, encode_points

#: Weight in the loss of the target at the last observed size, relative to forecasts beyond it.
INSIDE_WEIGHT = 0.25
#: Curves per batch when scoring (no gradients, so batches can be large).
EVAL_BATCH = 4096

Batch = dict[str, torch.Tensor]


def sample_batch(bank: CurveBank, rows: np.ndarray, rng: np.random.Generator) -> Batch:
    """A training batch: each curve cut at a random prefix of at least :data:`MIN_POINTS` points, every point a target.

    Points beyond the prefix are forecasts (weight 1); its last point weighs :data:`INSIDE_WEIGHT`, earlier ones 0.
    """
    n, dice, lengths = bank.n[rows], bank.dice[rows], bank.lengths[rows]
    keep = rng.integers(MIN_POINTS, np.maximum(lengths, MIN_POINTS + 1))  # in [2, length - 1]
    keep = np.minimum(keep, lengths)
    cols = np.arange(n.shape[1])[None, :]
    observed = cols < keep[:, None]
    features, last = encode_points(np.where(observed, n, np.nan), np.where(observed, dice, np.nan), keep)
    valid = cols < lengths[:, None]
    log_ratio = np.where(valid, np.log(np.where(valid, n, 1.0)) - last[:, :1], 0.0)
    weight = np.where(valid & ~observed, 1.0, np.where(cols == keep[:, None] - 1, INSIDE_WEIGHT, 0.0))
    return {
        "features": torch.from_numpy(features), "lengths": torch.from_numpy(keep.astype(np.int64)),
        "last": torch.from_numpy(last), "query": torch.from_numpy(log_ratio.astype(np.float32)),
        "target": torch.from_numpy(np.nan_to_num(dice).astype(np.float32)),
        "weight": torch.from_numpy(weight.astype(np.float32)),
    }


class PrefixBatches:
    """Training batches, one pass over ``bank`` per iteration: the curves shuffled, each cut at a fresh prefix.

    One generator serves every pass, so each epoch draws new orders and prefixes; the whole stream depends only on
    ``seed``.

    Args:
        bank: the training curves.
        batch_size: curves per batch.
        seed: seed of the shuffling and the prefixes.
    """

    def __init__(self, bank: CurveBank, batch_size: int, seed: int):
        self.bank, self.batch_size = bank, batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return max(1, math.ceil(len(self.bank) / self.batch_size))

    def __iter__(self) -> Iterator[Batch]:
        order = self.rng.permutation(len(self.bank))
        for step in range(len(self)):
            yield sample_batch(self.bank, order[step * self.batch_size:(step + 1) * self.batch_size], self.rng)


class EvaluationBatches:
    """Fixed batches covering ``bank`` in order, each curve cut at a seeded random prefix: the same on every pass,
    so losses measured on them compare across models and epochs.

    One iterable (not a list), so Lightning reads it as one data loader.
    """

    def __init__(self, bank: CurveBank, seed: int = 12345):
        rng = np.random.default_rng(seed)
        self.batches = [sample_batch(bank, np.arange(start, min(start + EVAL_BATCH, len(bank))), rng)
                        for start in range(0, len(bank), EVAL_BATCH)]

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Batch]:
        return iter(self.batches)
