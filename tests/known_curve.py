"""A forecaster whose answers are closed-form, for tests of what is read off a forecast (the planner, the rounds)."""

import numpy as np
from scipy import stats

from samplecast.curves import Curve
from samplecast.forecast.base import CurveForecaster, as_sizes, tidy_quantiles


class KnownCurve(CurveForecaster):
    """Dice(n) = ``a - b n^-c`` as the median with a normal spread ``sd`` that does not change with n."""

    name = "known"

    def __init__(self, a: float = 0.9, b: float = 2.0, c: float = 0.5, sd: float = 0.02):
        self.a, self.b, self.c, self.sd = a, b, c, sd

    def fit(self, n, dice, sd=None):
        self.is_fitted_ = True
        return self

    def mean(self, n) -> np.ndarray:
        return self.a - self.b * as_sizes(n) ** (-self.c)

    def predict_quantiles(self, n, quantiles=(0.5,)):
        return tidy_quantiles(self.mean(n)[:, None] + self.sd * stats.norm.ppf(np.asarray(quantiles))[None, :])

    def curve(self, sizes=(25, 50, 100)) -> Curve:
        """The curve this forecaster's median passes through at ``sizes``."""
        return Curve({"dataset": "x"}, list(sizes), self.mean(sizes))
