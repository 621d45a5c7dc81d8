"""Forecasting methods by name, as the command line and reports select them (``--method``)."""

from __future__ import annotations

from collections.abc import Callable

from samplecast.forecast.average import ModelAverage
from samplecast.forecast.base import CurveForecaster
from samplecast.forecast.parametric import FAMILY_NAMES, make_family

#: Method name -> factory of a fresh, unfitted forecaster. Extended by the learned forecasters when available.
METHODS: dict[str, Callable[[], CurveForecaster]] = {
    "average": ModelAverage,
    **{name: (lambda name=name: make_family(name)) for name in FAMILY_NAMES},
}

#: The method used when none is asked for.
DEFAULT_METHOD = "average"


def make_method(name: str) -> CurveForecaster:
    """A fresh forecaster for a method name; raises ``ValueError`` naming the known methods otherwise."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return METHODS[name]()
