"""The smallest training-set size at which a forecast reaches a level: one search for the planner and the backtest.

Every "how many cases" answer of samplecast is read off a fitted forecaster here, over a stated horizon (the pool of
cases that exist, or a multiple of the largest observed size), so the recommendation, the report's target table and
the backtest's data-needed ratio cannot disagree about the same question.

A search asks the model twice: once on a geometric grid of sizes, and once on every whole size inside the grid steps
where the answers lie, so it is exact to the case (for horizons up to a few hundred thousand cases) and costs two
vectorised predictions however many questions are asked at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def search(model: CurveForecaster, questions: Sequence[tuple[float, float]], lo: float, hi: float, *,
           plateau_gain: float | None = None) -> tuple[list[int | None], int | None]:
    """Smallest whole sizes in ``[lo, hi]`` answering several questions at once, in two calls of the model.

    Args:
        model: a fitted forecaster.
        questions: ``(level, quantile)`` pairs: where does the forecast ``quantile`` of Dice first reach ``level``?
            With ``quantile = 1 - confidence`` that is the size reaching ``level`` with that confidence.
        lo, hi: the sizes searched; ``hi`` is the horizon (the pool, or a stated multiple of the data).
        plateau_gain: also ask from which size on doubling the data gains less than this by the median forecast,
            at that size and every larger one up to ``hi`` (a curve that starts flat and rises later has not
            flattened; the doubled size may lie beyond ``hi``: it is the return at ``n`` that is judged).

    Returns:
        One answer per question, and the plateau size (``None`` where a question is not answered by ``hi``, or
        no plateau was asked). Answers assume a condition does not flip back within one grid step.
    """
    bounds = _bounds(lo, hi)
    if bounds is None:
        return [None] * len(questions), None
    levels = sorted({float(q) for _, q in questions} | ({0.5} if plateau_gain is not None else set()))
    if not levels:
        return [], None
    column = {q: j for j, q in enumerate(levels)}
    grid = _grid(*bounds)
    values = model.predict_quantiles(np.concatenate([grid, 2 * grid]) if plateau_gain is not None else grid, levels)

    def reached(table: np.ndarray, rows: np.ndarray, doubled: np.ndarray | None, level: float, j: int) -> np.ndarray:
        if doubled is None:
            return table[rows, j] >= level
        median = table[:, column[0.5]]
        flat = median[doubled] - median[rows] < plateau_gain
        return np.logical_and.accumulate(flat[::-1])[::-1]  # flat here and at every larger size

    asked = [(level, column[float(q)], False) for level, q in questions]
    if plateau_gain is not None:
        asked.append((0.0, column[0.5], True))
    g = np.arange(grid.size)
    answers: list[int | None] = []
    brackets: list[tuple[int, float, int, bool, np.ndarray]] = []
    for i, (level, j, plateau) in enumerate(asked):
        answer, bracket = _resolve(reached(values, g, g + grid.size if plateau else None, level, j), grid)
        answers.append(answer if bracket is None else int(bracket[1]))
        if bracket is not None:
            brackets.append((i, level, j, plateau, _inside(*bracket)))
    if brackets:
        sizes = np.unique(np.concatenate([b[4] for b in brackets] + [2 * b[4] for b in brackets if b[3]]))
        refined = model.predict_quantiles(sizes, levels)
        for i, level, j, plateau, inside in brackets:
            rows = np.searchsorted(sizes, inside)
            hit = np.flatnonzero(reached(refined, rows, np.searchsorted(sizes, 2 * inside) if plateau else None,
                                         level, j))
            if hit.size:
                answers[i] = int(inside[hit[0]])
    if plateau_gain is not None:
        return answers[:-1], answers[-1]
    return answers, None


def sizes_reaching(model: CurveForecaster, questions: Sequence[tuple[float, float]], lo: float,
                   hi: float) -> list[int | None]:
    """For each ``(level, quantile)``, the smallest whole size in ``[lo, hi]`` whose forecast ``quantile`` of Dice is
    at least ``level`` (``None`` where it is not reached by ``hi``); see :func:`search`."""
    return search(model, questions, lo, hi)[0]


def size_reaching(model: CurveForecaster, level: float, quantile: float, lo: float, hi: float) -> int | None:
    """The smallest whole size in ``[lo, hi]`` whose forecast ``quantile`` reaches ``level`` (see :func:`search`)."""
    return sizes_reaching(model, [(level, quantile)], lo, hi)[0]
