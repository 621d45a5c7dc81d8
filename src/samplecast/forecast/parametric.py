"""Classical learning-curve families (power laws and kin) fitted by weighted least squares, with bootstrap quantiles.

Each family is a :class:`~samplecast.forecast.base.CurveForecaster`. Sizes are scaled by the largest observed size
before fitting, so one set of bounds and starting points serves curves of 50 or 50,000 cases. Bounds keep the
asymptote in [0, 1]; several starts guard against local minima; where seeds repeat, points are weighted by the
inverse of their replicate variance (Figueroa et al. 2012 found weighted fits predict better). Uncertainty comes
from a parametric bootstrap: refit on the fitted curve plus resampled noise, then add that noise to the forecast.

Example:
    >>> from samplecast.forecast.parametric import make_family
    >>> f = make_family("pow3").fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])
    >>> f.predict_quantiles([800]).shape
    (1, 7)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from statsmodels.regression.linear_model import WLS
from statsmodels.tools import add_constant

from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, tidy_quantiles


@dataclass(frozen=True)
class Family:
    """A parametric curve family ``y = func(x, *params)`` in scaled size ``x = n / n_max``.

    Args:
        name: short name, e.g. ``"pow3"``.
        formula: the formula in words, for reports.
        func: vectorised curve, ``func(x, params)`` with ``params`` of shape ``(p,)`` or ``(B, p)`` broadcast
            against ``x``.
        lower, upper: parameter bounds.
        starts: starting points tried by the fit.
    """

    name: str
    formula: str
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    starts: tuple[tuple[float, ...], ...]

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.lower)


def _cols(params: np.ndarray) -> list[np.ndarray]:
    """Split parameters into columns that broadcast against ``x`` (``(p,)`` -> scalars, ``(B, p)`` -> ``(B, 1)``)."""
    params = np.asarray(params, dtype=float)
    return [params[..., i, None] if params.ndim == 2 else params[i] for i in range(params.shape[-1])]


def _pow3(x, p):
    a, b, c = _cols(p)
    return a - b * x ** (-c)


def _pow4(x, p):
    a, b, c, d = _cols(p)
    return a - b * (x + d) ** (-c)


def _mmf4(x, p):
    a, b, c, d = _cols(p)
    xd = x**d
    return (a * b + c * xd) / (b + xd)


def _wbl4(x, p):
    a, b, c, d = _cols(p)
    return c - b * np.exp(-a * x**d)


def _exp3(x, p):
    a, b, c = _cols(p)
    return a - b * np.exp(-c * x)


def _log2(x, p):
    a, b = _cols(p)
    return a + b * np.log(x)


#: The fitted families, by name. ``x`` is the size divided by the largest observed size.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("pow3", "a - b·n^(-c)", _pow3, (0, 0, 0.01), (1, 10, 3),
               ((0.8, 0.1, 0.5), (0.95, 0.2, 0.3), (0.7, 0.05, 1.0), (1.0, 0.3, 0.1))),
        Family("pow4", "a - b·(n + d)^(-c)", _pow4, (0, 0, 0.01, 0), (1, 10, 5, 5),
               ((0.8, 0.1, 0.5, 0.0), (0.9, 0.2, 1.0, 0.1), (0.95, 0.3, 2.0, 0.5), (1.0, 0.3, 0.2, 0.01))),
        Family("mmf4", "(a·b + c·n^d) / (b + n^d)", _mmf4, (0, 1e-6, 0, 0.05), (1, 1e3, 1, 5),
               ((0.2, 0.1, 0.8, 1.0), (0.0, 0.01, 0.9, 0.5), (0.4, 0.05, 0.8, 2.0), (0.1, 1.0, 1.0, 0.3))),
        Family("wbl4", "c - b·exp(-a·n^d)", _wbl4, (1e-6, 0, 0, 0.05), (1e3, 1.5, 1, 5),
               ((5.0, 0.5, 0.8, 0.5), (20.0, 0.8, 0.9, 0.3), (2.0, 0.5, 0.8, 1.0), (50.0, 1.0, 0.95, 0.2))),
        Family("exp3", "a - b·exp(-c·n)", _exp3, (0, 0, 1e-6), (1, 2, 1e3),
               ((0.8, 0.5, 5.0), (0.9, 0.5, 20.0), (0.8, 0.5, 1.0), (0.95, 1.0, 50.0))),
        Family("log2", "a + b·log(n)", _log2, (-1, 0), (2, 1), ((0.7, 0.05), (0.8, 0.1))),
    )
}

#: Floor on the noise standard deviation of a Dice measurement: test sets are finite, so no curve is noise-free.
NOISE_FLOOR = 0.01
#: Evaluations allowed to a bootstrap refit: it starts at the best fit, so a short polish suffices.
BOOT_NFEV = 40


def point_sigmas(sd: Sequence[float] | None, count: int, noise_floor: float) -> np.ndarray:
    """Per-point standard deviations for weighting: replicate spread where known, its median elsewhere, floored."""
    if sd is None:
        return np.full(count, noise_floor)
    sd = np.asarray(sd, dtype=float)
    known = np.isfinite(sd) & (sd > 0)
    fill = float(np.median(sd[known])) if np.any(known) else noise_floor
    return np.maximum(np.where(known, sd, fill), noise_floor)


class ParametricForecaster(CurveForecaster):
    """One parametric family fitted by weighted least squares, with parametric-bootstrap quantiles.

    Args:
        family: the family name (a key of :data:`FAMILIES`).
        n_boot: bootstrap refits for the quantiles.
        noise_floor: smallest noise standard deviation assumed for a Dice measurement.
        random_state: seed of the bootstrap, so forecasts are reproducible.

    Attributes after ``fit``: ``params_`` (best parameters), ``boot_params_`` (``(n_boot, p)``), ``sigma_`` (noise
    sd at the largest size), ``n_ref_`` (the size scale), ``rss_`` (weighted residual sum of squares).
    """

    def __init__(self, family: str = "pow3", n_boot: int = 64, noise_floor: float = NOISE_FLOOR,
                 random_state: int = 0):
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        self.family = family
        self.n_boot = n_boot
        self.noise_floor = noise_floor
        self.random_state = random_state

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.family

    def fit(self, n, dice, sd=None) -> ParametricForecaster:
        n, dice = check_points(n, dice, name=self.family)
        fam = FAMILIES[self.family]
        self.n_ref_ = float(n[-1])
        x = n / self.n_ref_
        sig = point_sigmas(sd, len(n), self.noise_floor)
        self.params_, self.rss_ = _best_fit(fam, x, dice, sig, fam.starts)
        dof = max(len(n) - fam.n_params, 1)
        scale = max(np.sqrt(self.rss_ / dof), 1.0)  # residual excess over the assumed noise, never below it
        self.sigmas_ = sig * scale
        self.sigma_ = float(self.sigmas_[-1])
        rng = np.random.default_rng(self.random_state)
        fitted = fam.func(x, self.params_)
        boot = []
        for _ in range(self.n_boot):
            y_star = fitted + rng.normal(0.0, self.sigmas_)
            boot.append(_best_fit(fam, x, y_star, sig, (tuple(self.params_),), max_nfev=BOOT_NFEV)[0])
        self.boot_params_ = np.array(boot)
        self.noise_z_ = rng.standard_normal(self.n_boot)
        self.is_fitted_ = True
        return self

    def predict_samples(self, n) -> np.ndarray:
        """Bootstrap samples of Dice at sizes ``n``: shape ``(n_boot, len(n))``, in [0, 1]."""
        self.check_is_fitted()
        x = as_sizes(n) / self.n_ref_
        curves = FAMILIES[self.family].func(x[None, :], self.boot_params_)
        return np.clip(curves + self.noise_z_[:, None] * self.sigma_, 0.0, 1.0)

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        return tidy_quantiles(np.quantile(self.predict_samples(n), quantiles, axis=0).T)

    def predict_mean(self, n) -> np.ndarray:
        """The best-fit curve at sizes ``n`` (no noise), clipped to [0, 1]."""
        self.check_is_fitted()
        return np.clip(FAMILIES[self.family].func(as_sizes(n) / self.n_ref_, self.params_), 0.0, 1.0)


def _best_fit(fam: Family, x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
              starts: Sequence[Sequence[float]], max_nfev: int = 400) -> tuple[np.ndarray, float]:
    """Weighted least squares from several starts; returns the best parameters and weighted RSS."""
    lower, upper = np.array(fam.lower, float), np.array(fam.upper, float)
    best, best_cost = None, np.inf
    for start in starts:
        p0 = np.clip(np.asarray(start, float), lower + 1e-9, upper - 1e-9)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                res = optimize.least_squares(lambda p: (fam.func(x, p) - y) / sigma, p0, bounds=(lower, upper),
                                             method="trf", max_nfev=max_nfev)
            except ValueError:  # non-finite residuals at a start: try the next one
                continue
        if np.isfinite(res.cost) and res.cost < best_cost:
            best, best_cost = res.x, res.cost
    if best is None:
        raise InputError(f"{fam.name}: the fit did not converge from any starting point")
    return best, 2.0 * best_cost


class LastValue(CurveForecaster):
    """The ``last1`` baseline: the last observed Dice, unchanged at every larger size.

    Its spread is the noise of one measurement (replicate spread at the last size, or the noise floor).
    """

    name = "last1"

    def __init__(self, noise_floor: float = NOISE_FLOOR):
        self.noise_floor = noise_floor

    def fit(self, n, dice, sd=None) -> LastValue:
        n, dice = check_points(n, dice, min_points=1, name=self.name)
        self.n_, self.dice_ = n, dice
        self.sigma_ = float(point_sigmas(sd, len(n), self.noise_floor)[-1])
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        centre = np.interp(np.log(as_sizes(n)), np.log(self.n_), self.dice_)
        z = stats.norm.ppf(np.asarray(quantiles, dtype=float))
        return tidy_quantiles(centre[:, None] + self.sigma_ * z[None, :])


class LogLinearPowerLaw(CurveForecaster):
    """``pow2``: the error ``1 - Dice`` as a power law ``b·n^(-c)``, a straight line in log-log space.

    Fitted by weighted least squares with statsmodels. Its quantiles combine the regression line's confidence
    interval (Student t, in log space, mapped back to Dice) with the measurement noise of a single run, added in Dice
    units, so a forecast close to Dice 1 keeps a narrow interval below 1. It assumes Dice tends to 1, so it is
    optimistic on curves that plateau lower.
    """

    name = "pow2"

    def __init__(self, noise_floor: float = NOISE_FLOOR):
        self.noise_floor = noise_floor

    def fit(self, n, dice, sd=None) -> LogLinearPowerLaw:
        n, dice = check_points(n, dice, name=self.name)
        err = np.clip(1.0 - dice, 1e-4, None)
        # delta method: sd of log(err) ~ sd(dice) / err; WLS variances are scale_ * (sigma / err)^2
        self.sigma_ = point_sigmas(sd, len(n), self.noise_floor)
        self.result_ = WLS(np.log(err), add_constant(np.log(n)), weights=(err / self.sigma_) ** 2).fit()
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        frame = self.result_.get_prediction(add_constant(np.log(as_sizes(n)), has_constant="add")).summary_frame()
        mean, mean_se = frame["mean"].to_numpy()[:, None], frame["mean_se"].to_numpy()[:, None]
        t = stats.t.ppf(np.asarray(quantiles, dtype=float), max(self.result_.df_resid, 1.0))[None, :]
        median = 1.0 - np.exp(mean)
        line = (1.0 - np.exp(np.minimum(mean + mean_se * t, 0.0))) - median  # the line's uncertainty, in Dice
        noise = t * np.sqrt(self.result_.scale) * self.sigma_[-1]  # one run's noise, in Dice
        return tidy_quantiles(median + np.sign(t) * np.hypot(line, noise))


def make_family(name: str, *, random_state: int = 0, **options) -> CurveForecaster:
    """A fresh, unfitted forecaster for a classical family: ``last1``, ``pow2`` or a key of :data:`FAMILIES`.

    ``random_state`` seeds the bootstrap of the families that have one; ``last1`` and ``pow2`` need no seed.
    """
    if name == "last1":
        return LastValue(**options)
    if name == "pow2":
        return LogLinearPowerLaw(**options)
    return ParametricForecaster(name, random_state=random_state, **options)


#: Every classical method name, in the order reports list them.
FAMILY_NAMES: tuple[str, ...] = ("last1", "pow2", *FAMILIES)
