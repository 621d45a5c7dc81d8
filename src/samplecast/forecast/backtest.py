"""Backtest: how wrong each method has been on complete curves, forecasting their final size from a prefix.

A complete curve is cut where its sizes reach a cutoff fraction of its largest size (what a planner would have had
after annotating that much); each method forecasts the largest size from the prefix and is scored against the
measured Dice there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from samplecast.curves import MIN_SIZES, Curve
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster
from samplecast.forecast.predict import quantile_name
from samplecast.forecast.registry import make_method

DEFAULT_CUTOFFS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
DEFAULT_METHODS: tuple[str, ...] = ("last1", "pow3", "pow4", "mmf4", "wbl4", "exp3", "average")
_TOLERANCE = 1e-9


def backtest(
    curves: Sequence[Curve],
    methods: Sequence[str] = DEFAULT_METHODS,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    *,
    factories: dict[str, Callable[[], CurveForecaster]] | None = None,
) -> pd.DataFrame:
    """One row per (curve, cutoff, method): the forecast quantiles at the final size, the truth and the errors.

    Cutoffs that leave fewer than three points, or the whole curve, are skipped. ``factories`` overrides how a method
    is built (e.g. a user's own surrogate); other names come from the method registry.

    Raises:
        InputError: for a cutoff outside (0, 1) or when no curve gives a usable prefix at any cutoff.
    """
    bad = [c for c in cutoffs if not 0 < c < 1]
    if bad:
        raise InputError(f"cutoffs must lie strictly between 0 and 1 (got {', '.join(f'{c:g}' for c in bad)})")
    factories = factories or {}
    rows = []
    for curve in curves:
        for cutoff in cutoffs:
            prefix = curve.up_to(cutoff * curve.n_max * (1 + _TOLERANCE))
            if len(prefix.n) < MIN_SIZES or len(prefix.n) == len(curve.n):
                continue
            truth = float(curve.dice[-1])
            for method in methods:
                model = factories[method]() if method in factories else make_method(method)
                q = model.fit_curve(prefix).predict_quantiles([curve.n_max], QUANTILES)[0]
                qd = dict(zip(QUANTILES, q))
                rows.append({
                    **curve.key, "curve": curve.label, "method": method, "cutoff": cutoff,
                    "n_cut": prefix.n_max, "points": len(prefix.n), "n_final": curve.n_max, "truth": truth,
                    **{quantile_name(level): float(v) for level, v in qd.items()},
                    "error": float(qd[0.5] - truth),
                    "in80": bool(qd[0.1] <= truth <= qd[0.9]),
                    "in90": bool(qd[0.05] <= truth <= qd[0.95]),
                    "width80": float(qd[0.9] - qd[0.1]),
                })
    if not rows:
        raise InputError("no curve has at least 3 sizes below any cutoff and a larger size to forecast; "
                         "backtest needs complete curves with more points (or larger cutoffs)")
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame, by: Sequence[str] = ("method", "cutoff")) -> pd.DataFrame:
    """Per method and cutoff: curves scored, MAE, bias (mean signed error), 80%/90% coverage, mean 80% width."""
    grouped = results.groupby(list(by), sort=False)
    table = grouped.agg(
        curves=("error", "size"),
        mae=("error", lambda e: float(np.mean(np.abs(e)))),
        bias=("error", "mean"),
        coverage80=("in80", "mean"),
        coverage90=("in90", "mean"),
        width80=("width80", "mean"),
    )
    return table.reset_index()
