"""The estimator interface every forecaster follows, so the ensemble, backtest, planner and report treat them alike.

Like a scikit-learn estimator: ``__init__`` stores options, ``fit`` learns from one (partial) learning curve and
returns ``self``, learned state ends in ``_``, and ``predict_quantiles`` is pure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from samplecast.curves import Curve

#: The quantile levels every forecast reports (DESIGN.md, "Forecast").
QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


class NotFittedError(RuntimeError):
    """A forecaster was asked to predict before ``fit``."""


class CurveForecaster(ABC):
    """Forecasts Dice at any training-set size from the points of one learning curve.

    Subclasses implement :meth:`fit` and :meth:`predict_quantiles`; the returned quantiles must be non-decreasing
    along the quantile axis and lie in [0, 1].
    """

    #: Short method name used on the command line (``--method``) and in reports.
    name: ClassVar[str] = "forecaster"

    @abstractmethod
    def fit(self, n: Sequence[float], dice: Sequence[float], sd: Sequence[float] | None = None) -> CurveForecaster:
        """Learn from observed sizes ``n`` (strictly increasing) and mean Dice ``dice``; ``sd`` is the replicate
        spread at each size (``nan`` where unknown) and, where given, weights the fit. Returns ``self``."""

    @abstractmethod
    def predict_quantiles(self, n: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        """Quantiles of Dice at sizes ``n``: an array of shape ``(len(n), len(quantiles))``."""

    def fit_curve(self, curve: Curve) -> CurveForecaster:
        """Fit on a :class:`~samplecast.curves.Curve`, using its replicate spread where it has one."""
        return self.fit(curve.n, curve.dice, curve.noise_sd())

    def predict(self, n: Sequence[float]) -> np.ndarray:
        """The median forecast of Dice at sizes ``n``."""
        return self.predict_quantiles(n, (0.5,))[:, 0]

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless :meth:`fit` has run."""
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")


def as_sizes(n: Sequence[float] | float) -> np.ndarray:
    """Query sizes as a 1-D float array (a scalar becomes one size)."""
    return np.atleast_1d(np.asarray(n, dtype=float)).ravel()


def tidy_quantiles(values: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and sort along the quantile axis, so every forecaster returns valid, ordered quantiles."""
    return np.sort(np.clip(values, 0.0, 1.0), axis=-1)
