"""Forecasting methods by name, as the command line and reports select them (``--method``)."""

from __future__ import annotations

from collections.abc import Callable

from samplecast.forecast.average import ModelAverage
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.parametric import FAMILY_NAMES, make_family


def _lstm(surrogate=None) -> CurveForecaster:
    """The LSTM surrogate (imported on use: torch loads only when a learned method is asked for)."""
    from samplecast.forecast.surrogate import LSTMForecaster

    return LSTMForecaster(surrogate)


def _ensemble(surrogate=None) -> CurveForecaster:
    """The surrogate stacked with the parametric families (imported on use, as :func:`_lstm`)."""
    from samplecast.forecast.ensemble import EnsembleForecaster

    return EnsembleForecaster(surrogate=surrogate)


#: Methods that run the LSTM surrogate, and so accept user-trained surrogate weights.
LEARNED_METHODS = ("lstm", "ensemble")

#: Method name -> factory of a fresh, unfitted forecaster (learned methods take an optional ``surrogate``).
METHODS: dict[str, Callable[..., CurveForecaster]] = {
    "average": ModelAverage,
    **{name: (lambda name=name: make_family(name)) for name in FAMILY_NAMES},
    "lstm": _lstm,
    "ensemble": _ensemble,
}

#: The method used when none is asked for.
DEFAULT_METHOD = "ensemble"


def make_method(name: str, surrogate=None) -> CurveForecaster:
    """A fresh forecaster for a method name; ``surrogate`` (a loaded surrogate or a ``.pt`` path) replaces the
    shipped weights of a learned method. Raises ``ValueError`` for an unknown name or a surrogate it cannot use."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    if surrogate is None:
        return METHODS[name]()
    if name not in LEARNED_METHODS:
        raise ValueError(f"a surrogate applies to the methods {' and '.join(LEARNED_METHODS)}, not {name!r}")
    return METHODS[name](surrogate)
