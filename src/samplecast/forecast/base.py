"""The estimator interface every forecaster follows, so the ensemble, backtest, planner and report treat them alike.

Like a scikit-learn estimator: ``__init__`` stores options (and only stores them), ``get_params``/``set_params`` read
and change them, :func:`clone` makes a fresh unfitted copy, ``fit`` learns from one (partial) learning curve and
returns ``self``, learned state ends in ``_``, and ``predict_quantiles`` is pure. Meta-forecasters (the ensemble,
the model average) take member *instances* and clone them before fitting, so one forecaster object can be handed to
any number of fits.

Shapes every forecaster here is built to keep (DESIGN.md, "Forecast shapes"): the median is non-decreasing in ``n``
and, beyond the largest observed size, concave in ``log n`` (the gain per doubling never grows); upper quantiles never
fall as ``n`` grows; quantiles move continuously with ``n``. :func:`rising_envelope` is the shared piece that keeps an
interval's upper half from shrinking as the forecast reaches further.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

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

    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's keyword parameters, which are the estimator's parameters."""
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The parameters given to ``__init__``, by name (scikit-learn's ``get_params(deep=False)``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> CurveForecaster:
        """Change parameters by name; returns ``self``. Raises ``ValueError`` for a name ``__init__`` does not take."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; expected one of {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

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


F = TypeVar("F", bound=CurveForecaster)


def clone(forecaster: F) -> F:
    """A new, unfitted forecaster with the same parameters; member forecasters (in a list or tuple) are cloned too."""
    params = {name: _clone_value(value) for name, value in forecaster.get_params().items()}
    return type(forecaster)(**params)


def _clone_value(value: Any) -> Any:
    if isinstance(value, CurveForecaster):
        return clone(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, CurveForecaster) for v in value):
        return type(value)(_clone_value(v) for v in value)
    return value


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # arrays and the like: shown in the repr
        return False


def quantile_name(q: float) -> str:
    """Column name of a quantile level: 0.05 -> ``q05``, 0.5 -> ``q50``."""
    return f"q{round(q * 100):02d}"


def as_sizes(n: Sequence[float] | float) -> np.ndarray:
    """Query sizes as a 1-D float array (a scalar becomes one size)."""
    return np.atleast_1d(np.asarray(n, dtype=float)).ravel()


def tidy_quantiles(values: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and sort along the quantile axis, so every forecaster returns valid, ordered quantiles."""
    return np.sort(np.clip(values, 0.0, 1.0), axis=-1)


def rising_envelope(x: np.ndarray, x_start: float, deviation, step: float = 2.0 ** (1 / 16)) -> np.ndarray:
    """The smallest non-decreasing function above ``deviation`` from ``x_start`` on, read at ``x`` (shape ``(m, k)``).

    ``deviation(xs)`` returns an array ``(len(xs), k)`` (e.g. how far each upper quantile lies above the median). It is
    evaluated on a fixed geometric grid from ``x_start`` (``step`` apart, so the answer at one size never depends on
    which other sizes were asked for), its running maximum taken, and read at ``x`` by linear interpolation in
    ``log x``: continuous and non-decreasing. Below ``x_start`` the value at ``x_start`` holds. Added to a
    non-decreasing median, it gives upper quantiles that never fall as the size grows.
    """
    x = np.asarray(x, dtype=float)
    top = max(float(np.max(x, initial=x_start)), x_start)
    count = int(np.ceil(np.log(top / x_start) / np.log(step))) + 2
    grid = x_start * step ** np.arange(count)
    running = np.maximum.accumulate(np.asarray(deviation(grid), dtype=float), axis=0)
    where = np.log(np.clip(x, x_start, None))
    return np.stack([np.interp(where, np.log(grid), running[:, j]) for j in range(running.shape[1])], axis=-1)
