"""Backtest: how wrong each method has been on complete curves, forecasting their final size from a prefix.

A complete curve is cut where its sizes reach a cutoff fraction of its largest size (what a planner would have had
after annotating that much); each method forecasts the largest size from the prefix and is scored against the
measured Dice there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from samplecast.curves import GROUP_COLUMNS, MIN_SIZES, Curve
from samplecast.errors import InputError
from samplecast.forecast.base import QUANTILES, CurveForecaster, clone, quantile_name
from samplecast.forecast.methods import DEFAULT_METHOD
from samplecast.forecast.reach import size_reaching
from samplecast.forecast.together import pool_fitted, sweep_groups

DEFAULT_CUTOFFS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
#: The flat baseline, the classical families and the default method (names for :func:`~samplecast.forecast.methods.
#: make_forecaster`).
DEFAULT_METHODS: tuple[str, ...] = ("last1", "pow3", "pow2", "pow4", "mmf4", "wbl4", "exp3", DEFAULT_METHOD)
_TOLERANCE = 1e-9
#: Bootstrap draws of :func:`configuration_interval`.
DRAWS = 4000
#: How far beyond the largest size the data-needed search looks, as a multiple of it.
NEEDED_REACH = 64.0


def data_needed(model: CurveForecaster, n_cut: float, n_final: float, target: float) -> float:
    """The smallest whole size at which a fitted model's median forecast reaches ``target``, searched from ``n_cut``
    to ``NEEDED_REACH * n_final`` by :func:`~samplecast.forecast.reach.size_reaching` (``inf`` if it never does).

    With ``target`` the Dice measured at ``n_final``, ``data_needed / n_final`` is how much data the forecast would
    have told a planner to annotate for that Dice, relative to what it really took: 1 is exact, 2 twice too much.
    """
    n = size_reaching(model, target, 0.5, n_cut, NEEDED_REACH * n_final)
    return float("inf") if n is None else float(n)


def backtest(
    curves: Sequence[Curve],
    forecasters: Sequence[CurveForecaster],
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    *,
    depths_together: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """One row per (curve, cutoff, forecaster): the forecast quantiles at the final size, the truth and the errors.

    Each forecaster is cloned for every prefix; its ``name`` fills the ``method`` column. Cutoffs that leave fewer
    than three points, or the whole curve, are skipped. With ``depths_together`` a curve is forecast with the other
    depths of its sweep cut at the same size (:class:`~samplecast.forecast.together.SweepMean`), as the planner
    forecasts a table when told to; the column ``depths`` counts the curves pooled. ``progress(done, total)`` is called
    after each curve.

    Raises:
        InputError: for a cutoff outside (0, 1) or when no curve gives a usable prefix at any cutoff.
    """
    bad = [c for c in cutoffs if not 0 < c < 1]
    if bad:
        raise InputError(f"cutoffs must lie strictly between 0 and 1 (got {', '.join(f'{c:g}' for c in bad)})")
    prefixes = {cutoff: [backtest_prefix(curve, cutoff) for curve in curves] for cutoff in cutoffs}
    groups = {cutoff: sweep_groups(cut, together=depths_together) for cutoff, cut in prefixes.items()}
    fitted: dict[tuple[float, int, int], CurveForecaster] = {}

    def fit(cutoff: float, j: int, i: int) -> CurveForecaster:  # a partner's fit serves its own rows too
        if (cutoff, j, i) not in fitted:
            fitted[cutoff, j, i] = clone(forecasters[j]).fit_curve(prefixes[cutoff][i])
        return fitted[cutoff, j, i]

    rows = []
    for done, curve in enumerate(curves, start=1):
        i = done - 1
        for cutoff in cutoffs:
            prefix, group = prefixes[cutoff][i], groups[cutoff][i]
            if prefix is None:
                continue
            truth = float(curve.dice[-1])
            for j, forecaster in enumerate(forecasters):
                model = pool_fitted(forecaster, [fit(cutoff, j, k) for k in group],
                                    [prefixes[cutoff][k].dice[-1] for k in group])
                q = model.predict_quantiles([curve.n_max], QUANTILES)[0]
                qd = dict(zip(QUANTILES, q))
                rows.append({
                    **curve.key, "curve": curve.label, "method": model.name, "cutoff": cutoff,
                    "n_cut": prefix.n_max, "points": len(prefix.n), "n_final": curve.n_max, "truth": truth,
                    "depths": len(group), **{quantile_name(level): float(v) for level, v in qd.items()},
                    **_scores(qd, truth),
                    "needed_ratio": data_needed(model, prefix.n_max, curve.n_max, truth) / curve.n_max,
                })
        if progress is not None:
            progress(done, len(curves))
    if not rows:
        raise InputError("no curve has at least 3 sizes below any cutoff and a larger size to forecast; "
                         "backtest needs complete curves with more points (or larger cutoffs)")
    return pd.DataFrame(rows)


def seeds_together(curves: Sequence[Curve]) -> list[Curve]:
    """Each seed's curve with every point but its last replaced by its configuration's mean over seeds, their spread
    and count (as ``average_seeds`` forecasts it), its last point its own: a backtest of these scores forecasts made
    from all seeds' prefixes together against what each seed measured at its largest size.

    Seeds of a configuration are the curves whose keys differ only in ``seed``; a size some seeds lack is averaged
    over those that have it. Curves without a ``seed`` in their key, or alone in their configuration, are unchanged.
    """
    configurations: dict[tuple, list[Curve]] = {}
    for curve in curves:
        configurations.setdefault(_without_seed(curve), []).append(curve)
    together = []
    for curve in curves:
        seeds = configurations[_without_seed(curve)]
        if "seed" not in curve.key or len(seeds) < 2:
            together.append(curve)
            continue
        measured = [[s.dice[s.n == n] for s in seeds if np.any(s.n == n)] for n in curve.n[:-1]]
        values = [np.concatenate(m) for m in measured]
        count = np.array([len(v) for v in values] + [1])
        dice = np.array([v.mean() for v in values] + [curve.dice[-1]])
        sd = np.array([v.std(ddof=1) if len(v) > 1 else np.nan for v in values] + [np.nan])
        together.append(Curve(curve.key, curve.n, dice, sd, count, curve.n_test, curve.dice_sd))
    return together


def _without_seed(curve: Curve) -> tuple:
    return tuple((k, v) for k, v in curve.key.items() if k != "seed")


def backtest_prefix(curve: Curve, cutoff: float) -> Curve | None:
    """The part of ``curve`` a backtest keeps at ``cutoff``, or ``None`` when it has fewer than three sizes or is the
    whole curve."""
    prefix = curve.up_to(cutoff * curve.n_max * (1 + _TOLERANCE))
    return None if len(prefix.n) < MIN_SIZES or len(prefix.n) == len(curve.n) else prefix


def cutoff_coverage(curves: Sequence[Curve], cutoffs: Sequence[float]) -> list[tuple[float, int, float | None]]:
    """Per cutoff: how many ``curves`` it backtests (a prefix of at least three sizes), and the smaller cutoff whose
    prefixes it repeats size for size on every curve (no size measured between them), or ``None``; so a summary can
    say why a cutoff has no row, or a row identical to another."""
    found = []
    kept: dict[float, list[tuple[float, ...] | None]] = {}
    for cutoff in sorted(cutoffs):
        prefixes = [None if (p := backtest_prefix(c, cutoff)) is None else tuple(p.n) for c in curves]
        same = next((earlier for earlier, seen in kept.items() if seen == prefixes), None)
        kept[cutoff] = prefixes
        found.append((cutoff, sum(p is not None for p in prefixes), same))
    return found


def _scores(qd: dict[float, float], truth: float) -> dict:
    """Error of the median, whether the 80% and 90% intervals hold the truth, and their widths."""
    return {
        "error": float(qd[0.5] - truth),
        "in80": bool(qd[0.1] <= truth <= qd[0.9]),
        "in90": bool(qd[0.05] <= truth <= qd[0.95]),
        "width80": float(qd[0.9] - qd[0.1]),
        "width90": float(qd[0.95] - qd[0.05]),
    }


def summarize(results: pd.DataFrame, by: Sequence[str] = ("method", "cutoff")) -> pd.DataFrame:
    """Per method and cutoff: curves scored, MAE, bias (mean signed error), 80%/90% coverage, mean 80%/90% widths, the
    median data-needed ratio and the share of forecasts whose data-needed ratio is within a factor 2 of the truth."""
    grouped = results.groupby(list(by), sort=False)
    table = grouped.agg(
        curves=("error", "size"),
        mae=("error", lambda e: float(np.mean(np.abs(e)))),
        bias=("error", "mean"),
        coverage80=("in80", "mean"),
        coverage90=("in90", "mean"),
        width80=("width80", "mean"),
        width90=("width90", "mean"),
        needed_ratio=("needed_ratio", "median"),
        needed_within2x=("needed_ratio", lambda r: float(np.mean((r >= 0.5) & (r <= 2.0)))),
    )
    return table.reset_index()


def configuration_interval(rows: pd.DataFrame, values: Sequence[float], *, draws: int = DRAWS,
                           seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the mean of ``values`` (one per backtest row of ``rows``), resampling configurations:
    how far another backtest of as many configurations could put it. A configuration is a curve's key without its
    seed (and its ``source`` file, where rows name one); its seeds share one forecast, so they are drawn together.
    ``(nan, nan)`` with fewer than two configurations."""
    by = [c for c in ("source", *GROUP_COLUMNS) if c in rows and c != "seed"] or ["curve"]
    grouped = rows.assign(_value=np.asarray(values, dtype=float)).groupby(by, dropna=False, sort=False)["_value"]
    sums = grouped.agg(["sum", "size"]).to_numpy(dtype=float)
    if len(sums) < 2:
        return np.nan, np.nan
    picks = np.random.default_rng(seed).integers(len(sums), size=(draws, len(sums)))
    means = sums[picks, 0].sum(axis=1) / sums[picks, 1].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def mae_intervals(results: pd.DataFrame, by: Sequence[str] = ("method", "cutoff")) -> pd.DataFrame:
    """Per group of ``by``: the 95% interval of the MAE over configurations (:func:`configuration_interval`), as
    columns ``mae_low`` and ``mae_high``: a backtest of few sweeps measures its MAE only roughly."""
    rows = [(*(key if isinstance(key, tuple) else (key,)), *configuration_interval(part, part["error"].abs()))
            for key, part in results.groupby(list(by), sort=False)]
    return pd.DataFrame(rows, columns=[*by, "mae_low", "mae_high"])
