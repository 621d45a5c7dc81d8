"""Classical learning-curve families (power laws and kin) fitted by weighted least squares, with bootstrap quantiles.

Each family is a :class:`~samplecast.forecast.base.CurveForecaster`. Sizes are scaled by the largest observed size
before fitting, so one set of bounds and starting points serves curves of 50 or 50,000 cases. Bounds keep the
asymptote in [0, 1] and give every family the shapes of DESIGN.md by construction: each is non-decreasing in ``n``
and concave in ``log n`` beyond the largest observed size (for the sigmoid-like families, bounds that put the
inflection point at or before it). Several starts guard against local minima; where seeds repeat, points are weighted
by the inverse of their replicate variance (Figueroa et al. 2012 found weighted fits predict better).

The median forecast is the best fit itself. Uncertainty comes from a parametric bootstrap: refit on the fitted curve
plus resampled noise, add one run's noise to each refit, and read each quantile's distance from the bootstrap median;
the forecast is the best fit plus that distance. (The median of bounded refits is not the best fit: when the best
asymptote sits at its bound, refits can only fall below it, and a median of refits is biased low.) All refits run at
once, as one batched Levenberg-Marquardt over every replicate, so a forecast takes milliseconds.

Example:
    >>> from samplecast.forecast.parametric import ParametricForecaster
    >>> f = ParametricForecaster("pow3").fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])
    >>> f.predict_quantiles([800]).shape
    (1, 7)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from samplecast.curves import check_points
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, as_sizes, rising_envelope, tidy_quantiles
from samplecast.forecast.calibration import normal_scores


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
    a, b, c, e = _cols(p)
    return a - b * (x + c * e) ** (-c)


def _mmf4(x, p):
    a, b, r, d = _cols(p)
    xd = x**d
    return a + r * (1.0 - a) * xd / (b + xd)


def _wbl4(x, p):
    a, b, c, d = _cols(p)
    return c - b * np.exp(-a * x**d)


def _exp3(x, p):
    a, b, c = _cols(p)
    return a - b * np.exp(-c * x)


def _log2(x, p):
    a, b = _cols(p)
    return a + b * np.log(x)


#: The fitted families, by name. ``x`` is the size divided by the largest observed size. The bounds that keep a
#: family concave in ``log n`` beyond ``x = 1``: ``pow4``'s offset ``d = c·e`` is at most ``c``; ``mmf4`` (written
#: with its upper asymptote ``a + r·(1 - a)``, so it never falls) has ``b <= 1``; ``wbl4`` has ``a >= 1`` and
#: ``exp3`` has ``c >= 1``.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("pow3", "a - b·n^(-c)", _pow3, (0, 0, 0.01), (1, 10, 3),
               ((0.8, 0.1, 0.5), (0.95, 0.2, 0.3), (0.7, 0.05, 1.0), (1.0, 0.3, 0.1))),
        Family("pow4", "a - b·(n + d)^(-c), d = c·e, 0 <= e <= 1", _pow4, (0, 0, 0.01, 0), (1, 10, 5, 1),
               ((0.8, 0.1, 0.5, 0.0), (0.9, 0.2, 1.0, 0.1), (0.95, 0.3, 2.0, 0.25), (1.0, 0.3, 0.2, 0.05))),
        Family("mmf4", "a + (c - a)·n^d / (b + n^d), c = a + r·(1 - a)", _mmf4, (0, 1e-6, 0, 0.05), (1, 1, 1, 5),
               ((0.2, 0.1, 0.75, 1.0), (0.0, 0.01, 0.9, 0.5), (0.4, 0.05, 0.7, 2.0), (0.1, 1.0, 1.0, 0.3))),
        Family("wbl4", "c - b·exp(-a·n^d)", _wbl4, (1, 0, 0, 0.05), (1e3, 1.5, 1, 5),
               ((5.0, 0.5, 0.8, 0.5), (20.0, 0.8, 0.9, 0.3), (2.0, 0.5, 0.8, 1.0), (50.0, 1.0, 0.95, 0.2))),
        Family("exp3", "a - b·exp(-c·n)", _exp3, (0, 0, 1), (1, 2, 1e3),
               ((0.8, 0.5, 5.0), (0.9, 0.5, 20.0), (0.8, 0.5, 1.5), (0.95, 1.0, 50.0))),
        Family("log2", "a + b·log(n)", _log2, (-1, 0), (2, 1), ((0.7, 0.05), (0.8, 0.1))),
    )
}

#: Floor on the noise standard deviation of a Dice measurement: test sets are finite, so no curve is noise-free.
NOISE_FLOOR = 0.01
#: Levenberg-Marquardt iterations of the best fit (from every start) and of the bootstrap refits (from the best fit).
FIT_ITERATIONS = 120
BOOT_ITERATIONS = 40


def point_sigmas(sd: Sequence[float] | None, count: int, noise_floor: float) -> np.ndarray:
    """Per-point standard deviations for weighting: replicate spread where known, its median elsewhere, floored."""
    if sd is None:
        return np.full(count, noise_floor)
    sd = np.asarray(sd, dtype=float)
    known = np.isfinite(sd) & (sd > 0)
    fill = float(np.median(sd[known])) if np.any(known) else noise_floor
    return np.maximum(np.where(known, sd, fill), noise_floor)


class ParametricForecaster(CurveForecaster):
    """One parametric family fitted by weighted least squares; its best fit is the median, a bootstrap the spread.

    Args:
        family: the family name (a key of :data:`FAMILIES`).
        n_boot: bootstrap refits for the quantiles.
        noise_floor: smallest noise standard deviation assumed for a Dice measurement.
        random_state: seed of the bootstrap, so forecasts are reproducible.

    The spread includes one run's noise (the replicate spread at the largest size where seeds repeat, else the
    residual scatter about the fit, never below ``noise_floor``): an interval is for the Dice a new run would measure,
    so it holds another seed's result, not only the mean curve's.

    Attributes after ``fit``: ``params_`` (best parameters), ``boot_params_`` (``(n_boot, p)``), ``sigma_`` (one run's
    noise sd at the largest size), ``n_ref_`` (the size scale), ``n_first_`` (the smallest observed size), ``rss_``
    (weighted residual sum of squares).

    Example:
        >>> ParametricForecaster("pow3").fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72]).predict([400]).round(2)
        array([0.72])
    """

    def __init__(self, family: str = "pow3", n_boot: int = 200, noise_floor: float = NOISE_FLOOR,
                 random_state: int = 0):
        self.family = family
        self.n_boot = n_boot
        self.noise_floor = noise_floor
        self.random_state = random_state

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.family

    @property
    def n_params(self) -> int:
        """Free parameters of the family: a fit needs at least as many points to be determined."""
        return FAMILIES[self.family].n_params

    def fit(self, n, dice, sd=None) -> ParametricForecaster:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; expected one of {', '.join(FAMILIES)}")
        n, dice = check_points(n, dice, name=self.family)
        fam = FAMILIES[self.family]
        self.n_ref_, self.n_first_ = float(n[-1]), float(n[0])
        x = n / self.n_ref_
        sig = point_sigmas(sd, len(n), self.noise_floor)
        self.params_, self.rss_ = best_fit(fam, x, dice, sig)
        dof = max(len(n) - fam.n_params, 1)
        scale = max(np.sqrt(self.rss_ / dof), 1.0)  # residual excess over the assumed noise, never below it
        self.sigmas_ = sig * scale
        self.sigma_ = float(self.sigmas_[-1])
        rng = np.random.default_rng(self.random_state)
        fitted = fam.func(x, self.params_)
        if self.n_boot > 0:
            y_star = fitted[None, :] + rng.normal(0.0, 1.0, (self.n_boot, len(n))) * self.sigmas_
            start = np.repeat(self.params_[None, :], self.n_boot, axis=0)
            self.boot_params_ = levenberg_marquardt(fam, x, y_star, sig, start, BOOT_ITERATIONS)[0]
        else:
            self.boot_params_ = self.params_[None, :]
        self.noise_z_ = rng.standard_normal(len(self.boot_params_))
        self.is_fitted_ = True
        return self

    def predict_samples(self, n) -> np.ndarray:
        """Bootstrap samples of Dice at sizes ``n`` (a refit plus one run's noise): ``(n_boot, len(n))``, in [0, 1]."""
        self.check_is_fitted()
        x = as_sizes(n) / self.n_ref_
        curves = FAMILIES[self.family].func(x[None, :], self.boot_params_)
        return np.clip(curves + self.noise_z_[:, None] * self.sigma_, 0.0, 1.0)

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        levels = np.asarray(quantiles, dtype=float)
        upper = levels > 0.5

        def spread(sizes: np.ndarray) -> np.ndarray:
            samples = self.predict_samples(sizes)
            return (np.quantile(samples, levels, axis=0) - np.quantile(samples, 0.5, axis=0)).T

        sizes = as_sizes(n)
        deviation = spread(sizes)
        if upper.any():
            deviation[:, upper] = rising_envelope(sizes, self.n_first_, lambda s: spread(s)[:, upper])
        return tidy_quantiles(self.predict_mean(sizes)[:, None] + deviation)

    def predict(self, n) -> np.ndarray:
        """The median forecast: the best fit (see :meth:`predict_mean`)."""
        return self.predict_mean(n)

    def predict_mean(self, n) -> np.ndarray:
        """The best-fit curve at sizes ``n`` (no noise), clipped to [0, 1]: the median forecast."""
        self.check_is_fitted()
        return np.clip(FAMILIES[self.family].func(as_sizes(n) / self.n_ref_, self.params_), 0.0, 1.0)


def best_fit(fam: Family, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted least squares of ``fam`` from each of its starts at once; the best parameters and weighted RSS.

    Raises:
        InputError: when no start reaches a finite fit.
    """
    starts = np.array(fam.starts, dtype=float)
    params, cost = levenberg_marquardt(fam, x, np.repeat(np.asarray(y, float)[None, :], len(starts), 0), sigma,
                                       starts, FIT_ITERATIONS)
    if not np.any(np.isfinite(cost)):
        raise InputError(f"{fam.name}: the fit did not converge from any starting point")
    best = int(np.nanargmin(np.where(np.isfinite(cost), cost, np.inf)))
    return params[best], float(cost[best])


def levenberg_marquardt(fam: Family, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, start: np.ndarray,
                        iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``fam`` to every row of ``y`` (``(B, k)``) at once, from ``start`` (``(B, p)``), within the family's bounds.

    A projected Levenberg-Marquardt with a forward-difference Jacobian, batched over rows: one replicate of a bootstrap
    per row costs about what one scalar fit costs. Returns the parameters ``(B, p)`` and each row's weighted residual
    sum of squares (``inf`` where the curve is not finite).
    """
    lower, upper = np.array(fam.lower, float), np.array(fam.upper, float)
    params = np.clip(np.asarray(start, float), lower + 1e-9, upper - 1e-9)
    rows, count = params.shape
    damping = np.full(rows, 1e-2)

    def residuals(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            r = (fam.func(x[None, :], p) - y) / sigma
        cost = np.sum(r * r, axis=1)
        return r, np.where(np.isfinite(cost), cost, np.inf)

    r, cost = residuals(params)
    eye = np.eye(count)
    for _ in range(iterations):
        step = 1e-6 * np.maximum(np.abs(params), 1e-3)
        step = np.where(params + step > upper, -step, step)
        jac = np.empty((rows, x.size, count))
        for j in range(count):
            shifted = params.copy()
            shifted[:, j] += step[:, j]
            jac[:, :, j] = (residuals(shifted)[0] - r) / step[:, j, None]
        jac = np.where(np.isfinite(jac), jac, 0.0)
        gradient = np.einsum("bki,bk->bi", jac, np.where(np.isfinite(r), r, 0.0))
        # parameters held at a bound by the descent direction leave the step (active set)
        held = ((params <= lower + 1e-12) & (gradient > 0)) | ((params >= upper - 1e-12) & (gradient < 0))
        jac = np.where(held[:, None, :], 0.0, jac)
        gradient = np.where(held, 0.0, gradient)
        normal = np.einsum("bki,bkj->bij", jac, jac)
        diag = np.einsum("bii->bi", normal)
        system = normal + (damping[:, None] * np.maximum(diag, 1e-9))[:, :, None] * eye + 1e-12 * eye
        delta = np.linalg.solve(system, -gradient[:, :, None])[:, :, 0]
        trial = np.clip(params + delta, lower, upper)
        r_trial, cost_trial = residuals(trial)
        better = cost_trial < cost
        settled = np.where(better, cost - cost_trial <= 1e-9 * (1.0 + cost), damping >= 1e4)
        params = np.where(better[:, None], trial, params)
        r = np.where(better[:, None], r_trial, r)
        cost = np.where(better, cost_trial, cost)
        damping = np.clip(np.where(better, damping / 3.0, damping * 4.0), 1e-9, 1e9)
        if np.all(settled | ~np.isfinite(cost)):  # every row has stopped improving
            break
    return params, cost


class LastValue(CurveForecaster):
    """The ``last1`` baseline: the best Dice observed so far, unchanged at every larger size.

    Its spread is the noise of one measurement (replicate spread at the last size, or the noise floor). Between
    observed sizes it follows the running best, so its median never falls.
    """

    name = "last1"

    def __init__(self, noise_floor: float = NOISE_FLOOR):
        self.noise_floor = noise_floor

    def fit(self, n, dice, sd=None) -> LastValue:
        n, dice = check_points(n, dice, min_points=1, name=self.name)
        self.n_, self.dice_ = n, np.maximum.accumulate(dice)
        self.sigma_ = float(point_sigmas(sd, len(n), self.noise_floor)[-1])
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        centre = np.interp(np.log(as_sizes(n)), np.log(self.n_), self.dice_)
        return tidy_quantiles(centre[:, None] + self.sigma_ * normal_scores(quantiles)[None, :])


class LogLinearPowerLaw(CurveForecaster):
    """``pow2``: the error ``1 - Dice`` as a power law ``b·n^(-c)``, a straight line in log-log space.

    Fitted by weighted least squares, the slope held at or below 0 (a curve whose error grows is fitted as flat), so
    the median never falls and its gain per doubling shrinks. Its quantiles combine the regression line's confidence
    interval (Student t, in log space, mapped back to Dice) with the measurement noise of a single run, added in Dice
    units, so a forecast close to Dice 1 keeps a narrow interval below 1. It assumes Dice tends to 1, so it is
    optimistic on curves that plateau lower.

    Attributes after ``fit``: ``coef_`` (intercept and slope in log-log space), ``cov_`` (their covariance),
    ``scale_`` (residual variance factor), ``df_resid_``, ``sigma_`` (per-point noise sd), ``n_first_``.
    """

    name = "pow2"

    def __init__(self, noise_floor: float = NOISE_FLOOR):
        self.noise_floor = noise_floor

    def fit(self, n, dice, sd=None) -> LogLinearPowerLaw:
        n, dice = check_points(n, dice, name=self.name)
        err = np.clip(1.0 - dice, 1e-4, None)
        # delta method: sd of log(err) ~ sd(dice) / err; the variances are scale_ * (sigma / err)^2
        self.sigma_ = point_sigmas(sd, len(n), self.noise_floor)
        weight = (err / self.sigma_) ** 2
        design, target = np.column_stack([np.ones_like(n), np.log(n)]), np.log(err)
        normal = design.T @ (weight[:, None] * design)
        coef = np.linalg.solve(normal, design.T @ (weight * target))
        if coef[1] > 0:  # error growing with data: fit the flat line instead
            coef = np.array([np.sum(weight * target) / np.sum(weight), 0.0])
            inverse, self.df_resid_ = np.diag([1.0 / np.sum(weight), 0.0]), max(len(n) - 1, 1)
        else:
            inverse, self.df_resid_ = np.linalg.inv(normal), max(len(n) - 2, 1)
        self.scale_ = float(np.sum(weight * (target - design @ coef) ** 2) / self.df_resid_)
        self.coef_, self.cov_ = coef, self.scale_ * inverse
        self.n_first_ = float(n[0])
        self.is_fitted_ = True
        return self

    def predict_quantiles(self, n, quantiles=QUANTILES) -> np.ndarray:
        self.check_is_fitted()
        from scipy.special import stdtrit  # Student t quantiles; imported on use, as scipy is slow to import

        levels = np.asarray(quantiles, dtype=float)
        t = stdtrit(float(self.df_resid_), levels)[None, :]
        upper = levels > 0.5

        def spread(sizes: np.ndarray) -> np.ndarray:
            design = np.column_stack([np.ones_like(sizes), np.log(sizes)])
            mean = (design @ self.coef_)[:, None]
            mean_se = np.sqrt(np.einsum("mi,ij,mj->m", design, self.cov_, design))[:, None]
            line = (1.0 - np.exp(np.minimum(mean + mean_se * t, 0.0))) - (1.0 - np.exp(mean))  # in Dice
            noise = t * np.sqrt(self.scale_) * self.sigma_[-1]  # one run's noise, in Dice
            return np.sign(t) * np.hypot(line, noise)

        sizes = as_sizes(n)
        deviation = spread(sizes)
        if upper.any():
            deviation[:, upper] = rising_envelope(sizes, self.n_first_, lambda s: spread(s)[:, upper])
        median = 1.0 - np.exp(self.coef_[0] + self.coef_[1] * np.log(sizes))
        return tidy_quantiles(median[:, None] + deviation)
