"""Forecasting methods by name: the one place where a name from the command line (``--method``) becomes a forecaster.

Everything else in samplecast takes forecaster objects (:class:`~samplecast.forecast.base.CurveForecaster`); a name is
read off an object with ``forecaster.name``.
"""

from __future__ import annotations

from pathlib import Path

from samplecast.forecast.base import CurveForecaster

#: Every method a user can name, in the order help texts and reports list them.
METHOD_NAMES: tuple[str, ...] = ("ensemble", "average", "last1", "pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3",
                                 "log2", "lstm")
#: Methods that run the LSTM surrogate, and so accept user-trained surrogate weights.
LEARNED_METHODS: tuple[str, ...] = ("lstm",)
#: The method used when none is asked for.
DEFAULT_METHOD = "ensemble"


def make_forecaster(name: str, surrogate: object | str | Path | None = None) -> CurveForecaster:
    """A fresh, unfitted forecaster for a method name; ``surrogate`` (a loaded surrogate or a ``.pt`` path) replaces
    the shipped weights of a learned method.

    Learned methods are imported on use, so torch loads only when one is asked for.

    Raises:
        ValueError: for an unknown name, or a surrogate given to a method that does not use one.
    """
    if name not in METHOD_NAMES:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHOD_NAMES)}")
    if surrogate is not None and name not in LEARNED_METHODS:
        raise ValueError(f"a surrogate applies to the method{'s' if len(LEARNED_METHODS) > 1 else ''} "
                         f"{' and '.join(LEARNED_METHODS)}, not {name!r}")
    if name == "lstm":
        from samplecast.forecast.surrogate import LSTMForecaster

        return LSTMForecaster(surrogate)
    if name == "ensemble":
        from samplecast.forecast.ensemble import EnsembleForecaster

        return EnsembleForecaster()
    if name == "average":
        from samplecast.forecast.average import ModelAverage

        return ModelAverage()
    from samplecast.forecast.parametric import LastValue, LogLinearPowerLaw, ParametricForecaster

    if name == "last1":
        return LastValue()
    if name == "pow2":
        return LogLinearPowerLaw()
    return ParametricForecaster(name)
