"""Backtests of the ensemble's members on a corpus, and the calibration and stacking weights learned from them.

Shared by ``forecast_accuracy.py`` (cross-fitted: learned without the dataset it is scored on) and
``fit_ensemble.py`` (the shipped assets: learned on the whole stacking corpus). Parametric backtests are slow
(bootstrap refits) and deterministic, so they are cached in ``benchmarks/cache/``.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pandas as pd

from samplecast.curves import Curve
from samplecast.forecast import backtest as backtest_module
from samplecast.forecast import parametric
from samplecast.forecast.backtest import DEFAULT_CUTOFFS, backtest
from samplecast.forecast.ensemble import ENSEMBLE_MEMBERS, StackingWeights
from samplecast.forecast.surrogate import (
    LSTMForecaster, Surrogate, TrainingConfig, calibrate_surrogate, train_on_curves,
)

CACHE = Path(__file__).resolve().parent / "cache"
#: The parametric families every backtest scores (the ensemble stacks those of ``ENSEMBLE_MEMBERS``).
PARAMETRIC = ("pow3", "pow2", "pow4", "mmf4", "wbl4", "exp3")


def parametric_results(name: str, curves: list[Curve], methods=PARAMETRIC, cutoffs=DEFAULT_CUTOFFS) -> pd.DataFrame:
    """Backtest rows of the parametric methods on ``curves`` (cached per dataset name, content, cutoffs, method and
    the source of the code that fits and scores them, so a change to the families is never read from a stale cache)."""
    CACHE.mkdir(exist_ok=True)
    code = "".join(inspect.getsource(module) for module in (parametric, backtest_module))
    key = repr([(c.label, c.n.tolist(), c.dice.tolist()) for c in curves]) + repr(tuple(cutoffs)) + code
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    frames = []
    for method in methods:
        path = CACHE / f"{name}__{digest}__{method}.csv"
        if not path.exists():
            backtest(curves, (method,), cutoffs).to_csv(path, index=False)
        frames.append(pd.read_csv(path))
    return pd.concat(frames, ignore_index=True)


def lstm_results(curves: list[Curve], surrogate: Surrogate, cutoffs=DEFAULT_CUTOFFS,
                 method: str = "lstm") -> pd.DataFrame:
    """Backtest rows of the surrogate (fast: no cache)."""
    return backtest(curves, (method,), cutoffs, factories={method: lambda: LSTMForecaster(surrogate)})


def fit_stack(corpus: dict[str, list[Curve]], raw: Surrogate) -> tuple[Surrogate, StackingWeights]:
    """Calibrate the surrogate on every curve of ``corpus`` and learn stacking weights from its backtests, each
    source of curves (a key of ``corpus``) weighing the same however many curves it has."""
    curves = [c for cs in corpus.values() for c in cs]
    curve_weights = [1.0 / len(cs) for cs in corpus.values() for _ in cs]
    calibrated = raw.with_calibration(calibrate_surrogate(raw, curves, curve_weights))
    families = tuple(m for m in ENSEMBLE_MEMBERS if m != "lstm")  # only the stacked ones: the others are not used
    results = pd.concat([pd.concat([parametric_results(name, cs, families), lstm_results(cs, calibrated)])
                         .assign(corpus=name) for name, cs in corpus.items()], ignore_index=True)
    weights = StackingWeights.fit(results, ENSEMBLE_MEMBERS, balance="corpus", source=", ".join(
        f"{name} ({len(cs)} curves)" for name, cs in corpus.items()))
    return calibrated, weights


def fine_tune(raw: Surrogate, corpus: dict[str, list[Curve]], epochs: int) -> Surrogate:
    """``raw`` fine-tuned on every curve of ``corpus``, mixed with 20 k prior curves so it keeps what it learned
    (:func:`samplecast.forecast.surrogate.train_on_curves`); ``raw`` itself when ``epochs`` is 0."""
    if epochs <= 0:
        return raw
    curves = [c for cs in corpus.values() for c in cs]
    return train_on_curves(curves, start=raw, settings=TrainingConfig(epochs=epochs, lr=1e-3), prior_curves=20_000)
