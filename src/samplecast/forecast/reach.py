"""The smallest training-set size at which a forecast reaches a level: one search for the planner and the backtest.

Every "how many cases" answer of samplecast is read off a fitted forecaster here, over a stated horizon (the pool of
cases that exist, or a multiple of the largest observed size), so the recommendation, the report's target table and
the backtest's data-needed ratio cannot disagree about the same question.

A search asks the model twice: once on a geometric grid of sizes, and once on every whole size inside the grid step
where the answer lies, so it is exact to the case and costs two vectorised predictions however many questions are
asked at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from samplecast.forecast.base import CurveForecaster

#: Sizes of the coarse geometric scan.
GRID_POINTS = 400
#: Most whole sizes checked inside one grid step; wider steps (horizons of millions) are checked geometrically.
MAX_BRACKET = 4096


def _grid(lo: int, hi: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(lo, hi, GRID_POINTS)).astype(int)).astype(float)


def _inside(bad: float, good: float) -> np.ndarray:
    """Sizes strictly between two neighbouring grid sizes: every whole one, or a fine geometric grid if too many."""
    if good - bad - 1 <= MAX_BRACKET:
        return np.arange(bad + 1, good, dtype=float)
    return np.unique(np.round(np.geomspace(bad + 1, good - 1, MAX_BRACKET)))


def _bounds(lo: float, hi: float) -> tuple[int, int] | None:
    lo_i, hi_i = max(1, math.ceil(lo)), math.floor(hi)
    return (lo_i, hi_i) if hi_i >= lo_i else None


def _resolve(hit: np.ndarray, grid: np.ndarray) -> tuple[int | None, tuple[float, float] | None]:
    """The answer when the first grid size already holds (or none does), else the bracket to refine."""
    where = np.flatnonzero(hit)
    if where.size == 0:
        return None, None
    k = int(where[0])
    if k == 0:
        return int(grid[0]), None
    return None, (float(grid[k - 1]), float(grid[k]))


def first_size(condition: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> int | None:
    """Smallest whole size in ``[lo, hi]`` where the vectorised ``condition`` holds, or ``None`` if none does
    (assuming it does not flip back within one grid step)."""
    bounds = _bounds(lo, hi)
    if bounds is None:
        return None
    grid = _grid(*bounds)
    answer, bracket = _resolve(condition(grid), grid)
    if bracket is None:
        return answer
    inside = _inside(*bracket)
    hits = np.flatnonzero(condition(inside)) if inside.size else np.array([], dtype=int)
    return int(inside[hits[0]]) if hits.size else int(bracket[1])


def sizes_reaching(model: CurveForecaster, questions: Sequence[tuple[float, float]], lo: float,
                   hi: float) -> list[int | None]:
    """For each ``(level, quantile)``, the smallest whole size in ``[lo, hi]`` whose forecast ``quantile`` of Dice is
    at least ``level`` (``None`` where it is not reached by ``hi``, the horizon searched).

    With ``quantile = 1 - confidence`` the answer is the size at which Dice reaches ``level`` with that confidence;
    with 0.5, where the median forecast reaches it. All questions share two calls of the model.
    """
    bounds = _bounds(lo, hi)
    if bounds is None or not questions:
        return [None] * len(questions)
    levels = sorted({float(q) for _, q in questions})
    column = {q: j for j, q in enumerate(levels)}
    grid = _grid(*bounds)
    values = model.predict_quantiles(grid, levels)
    answers: list[int | None] = []
    brackets: list[tuple[int, float, float, np.ndarray]] = []
    for i, (level, q) in enumerate(questions):
        answer, bracket = _resolve(values[:, column[float(q)]] >= level, grid)
        answers.append(answer)
        if bracket is not None:
            answers[i] = int(bracket[1])
            brackets.append((i, level, column[float(q)], _inside(*bracket)))
    sizes = np.unique(np.concatenate([b[3] for b in brackets])) if brackets else np.array([])
    if sizes.size:
        refined = model.predict_quantiles(sizes, levels)
        for i, level, j, inside in brackets:
            reached = refined[np.searchsorted(sizes, inside), j] >= level
            if reached.any():
                answers[i] = int(inside[np.flatnonzero(reached)[0]])
    return answers


def size_reaching(model: CurveForecaster, level: float, quantile: float, lo: float, hi: float) -> int | None:
    """The smallest whole size in ``[lo, hi]`` whose forecast ``quantile`` reaches ``level`` (see
    :func:`sizes_reaching`)."""
    return sizes_reaching(model, [(level, quantile)], lo, hi)[0]


def plateau_size(model: CurveForecaster, gain: float, lo: float, hi: float) -> int | None:
    """Smallest whole size in ``[lo, hi]`` from which doubling the data gains less than ``gain`` Dice by the median
    forecast (the doubled size may lie beyond ``hi``: it is the return at ``n`` that is judged)."""

    def small(n: np.ndarray) -> np.ndarray:
        median = model.predict_quantiles(np.concatenate([n, 2 * n]), (0.5,))[:, 0]
        return median[len(n):] - median[: len(n)] < gain

    return first_size(small, lo, hi)
