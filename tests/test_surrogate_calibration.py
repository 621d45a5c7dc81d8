"""Reading quantiles at other levels (used by the surrogate, the ensemble and the backtest)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from samplecast.forecast.calibration import interpolate_levels

LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def gaussian_quantiles(centre: np.ndarray, sd: float, levels=LEVELS) -> np.ndarray:
    return centre[:, None] + sd * stats.norm.ppf(levels)[None, :]


def test_interpolation_is_exact_for_gaussian_quantiles():
    q = gaussian_quantiles(np.array([0.3, 0.7]), 0.05)
    new = (0.01, 0.2, 0.5, 0.66, 0.99)
    np.testing.assert_allclose(interpolate_levels(LEVELS, q, new), gaussian_quantiles(np.array([0.3, 0.7]), 0.05, new),
                               atol=1e-12)


def test_interpolation_rejects_levels_outside_the_open_unit_interval():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        interpolate_levels(LEVELS, gaussian_quantiles(np.array([0.5]), 0.1), (0.5, 1.0))
