"""The ``lstm`` method: the surrogate as a scikit-learn-style :class:`~samplecast.forecast.base.CurveForecaster`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samplecast.curves import check_points
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles
from samplecast.forecast.surrogate.features import MIN_POINTS
from samplecast.forecast.surrogate.model import Surrogate
from samplecast.forecast.surrogate.persistence import load_surrogate


class LSTMForecaster(CurveForecaster):
    """The ``lstm`` method: forecasts a curve with a pre-trained surrogate.

    ``fit`` stores the observed curve and resolves the surrogate (loading files through the cache of
    :func:`load_surrogate`, which re-reads a file rewritten since); ``predict_quantiles`` runs the network. Works from
    two points on, at any sizes and any quantile levels in (0, 1).

    Args:
        surrogate: a loaded :class:`Surrogate`, a path to a ``.npz`` file, or ``None`` for the shipped model.

    Attributes after ``fit``: ``n_``, ``dice_`` (the observed points), ``model_`` (the :class:`Surrogate` used).

    Example:
        >>> f = LSTMForecaster().fit([16, 80, 160], [0.45, 0.61, 0.68])
        >>> f.predict_quantiles([400, 800]).shape
        (2, 7)
    """

    name = "lstm"

    def __init__(self, surrogate: Surrogate | str | Path | None = None):
        self.surrogate = surrogate

    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> LSTMForecaster:
        self.n_, self.dice_ = check_points(n, dice, min_points=MIN_POINTS, name=self.name)
        self.model_ = self.surrogate if isinstance(self.surrogate, Surrogate) else load_surrogate(self.surrogate)
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``n``: the network's forecast from the last observed size on; below it, the
        observed curve (its running best, linear in log n) shifted to meet the forecast at the last size, so a figure
        or a plateau search over the observed range follows the measurements."""
        self.check_is_fitted()
        n = as_sizes(n)
        values = self.model_.quantiles(self.n_, self.dice_, np.maximum(n, self.n_[-1]), quantiles)
        below = n < self.n_[-1]
        if below.any():
            seen = np.maximum.accumulate(self.dice_)
            values[below] += (np.interp(np.log(n[below]), np.log(self.n_), seen) - seen[-1])[:, None]
        return tidy_quantiles(values)
