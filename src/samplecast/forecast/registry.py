"""Forecasting methods by name, as the command line and reports select them (``--method``)."""

from __future__ import annotations

from collections.abc import Callable

from samplecast.forecast.average import ModelAverage
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.parametric import FAMILY_NAMES, make_family


def _lstm() -> CurveForecaster:
    """The LSTM surrogate (imported on use: torch loads only when a learned method is asked for)."""
    from samplecast.forecast.surrogate import LSTMForecaster

    return LSTMForecaster()


def _ensemble() -> CurveForecaster:
    """The surrogate stacked with the parametric families (imported on use, as :func:`_lstm`)."""
    from samplecast.forecast.ensemble import EnsembleForecaster

    return EnsembleForecaster()


#: Method name -> factory of a fresh, unfitted forecaster.
METHODS: dict[str, Callable[[], CurveForecaster]] = {
    "average": ModelAverage,
    **{name: (lambda name=name: make_family(name)) for name in FAMILY_NAMES},
    "lstm": _lstm,
    "ensemble": _ensemble,
}

#: The method used when none is asked for.
DEFAULT_METHOD = "average"


def make_method(name: str) -> CurveForecaster:
    """A fresh forecaster for a method name; raises ``ValueError`` naming the known methods otherwise."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return METHODS[name]()
