"""What the surrogate learns from: a user's curves tables, thinned and mixed with synthetic curves from the prior."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from samplecast.curves import Curve, load_curves
from samplecast.errors import InputError
from samplecast.forecast.prior import CurveBank, bank_from_curves, sample_prior
from samplecast.forecast.surrogate.features import MIN_POINTS, thin_curve


def load_corpus(paths: Sequence[str | Path], *, average_seeds: bool = False) -> dict[str, list[Curve]]:
    """Read several curves tables, by path as given, reporting the problems of every file in one :class:`InputError`."""
    corpus, problems = {}, []
    for path in paths:
        try:
            corpus[str(path)] = load_curves(path, average_seeds=average_seeds)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return corpus


def load_training_curves(paths: Sequence[str | Path], *, average_seeds: bool = False) -> list[Curve]:
    """Read several curves tables into one list, reporting the problems of every file in one :class:`InputError`."""
    return [c for curves in load_corpus(paths, average_seeds=average_seeds).values() for c in curves]


def mixed_corpus(curves: Sequence[Curve], prior_curves: int, seed: int) -> tuple[CurveBank, str]:
    """The training bank for a user's complete curves, and its description for the training record.

    The user's curves are repeated so they make up about a quarter of the bank, the rest being ``prior_curves``
    synthetic curves that keep a fine-tuned model from forgetting what it learned. Curves with more than
    :data:`~samplecast.forecast.surrogate.features.MAX_CURVE_POINTS` sizes are thinned to that many
    (:func:`~samplecast.forecast.surrogate.features.thin_curve`), so the padded bank stays small.

    Raises:
        InputError: when no curve has more than :data:`MIN_POINTS` sizes (nothing to learn a forecast from).
    """
    usable = [thin_curve(c) for c in curves if len(c.n) > MIN_POINTS]
    if not usable:
        raise InputError(f"training curves: none has more than {MIN_POINTS} sizes; a curve teaches the surrogate "
                         "only where it continues beyond a prefix")
    bank = bank_from_curves(usable)
    if prior_curves > 0:
        repeats = max(1, math.ceil(prior_curves / (3 * len(usable))))
        bank = sample_prior(prior_curves, seed=seed).concat(bank_from_curves(list(usable) * repeats))
    described = f"{len(usable)} user curves" + (f" + prior: {prior_curves} synthetic curves" if prior_curves else "")
    return bank, described
