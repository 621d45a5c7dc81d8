"""Forecasting methods by name: the one place where a name from the command line (``--method``) becomes a forecaster.

Everything else in samplecast takes forecaster objects (:class:`~samplecast.forecast.base.CurveForecaster`); a name is
read off an object with ``forecaster.name``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samplecast.forecast.base import CurveForecaster

if TYPE_CHECKING:
    from samplecast.forecast.folder import ForecasterFolder

#: Every method a user can name, in the order help texts and reports list them.
METHOD_NAMES: tuple[str, ...] = ("ensemble", "average", "last1", "pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3",
                                 "log2", "lstm")
#: The method used when none is asked for.
DEFAULT_METHOD = "lstm"


def make_forecaster(name: str, folder: ForecasterFolder | None = None) -> CurveForecaster:
    """A fresh, unfitted forecaster for a method name, using the learned files (ensemble weights, surrogate) of the
    forecaster ``folder`` (default: the one shipped with samplecast); methods that learn nothing from a corpus are the
    same whatever the folder.

    Learned methods are imported on use, so torch loads only when one is asked for.

    Raises:
        ValueError: for an unknown name.
    """
    if name not in METHOD_NAMES:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHOD_NAMES)}")
    if name == "lstm":
        from samplecast.forecast.surrogate import LSTMForecaster

        return LSTMForecaster(folder.surrogate if folder is not None else None)
    if name == "ensemble":
        from samplecast.forecast.ensemble import EnsembleForecaster

        return EnsembleForecaster(weights=folder.ensemble if folder is not None else None)
    if name == "average":
        from samplecast.forecast.average import ModelAverage

        return ModelAverage()
    from samplecast.forecast.parametric import LastValue, LogLinearPowerLaw, ParametricForecaster

    if name == "last1":
        return LastValue()
    if name == "pow2":
        return LogLinearPowerLaw()
    return ParametricForecaster(name)
