"""Numbers in words, the same in every sentence and table: sizes measured are exact, sizes a forecast estimates beyond
the data are rounded to three significant figures (a forecast is not precise to the case that far out), and costs
name their unit."""

from __future__ import annotations

import math

#: The unit costs are given in: the currency of the cost per case, which samplecast is not told.
COST_UNIT = "cost units"
#: Significant figures of a size or cost estimated beyond the data.
FIGURES = 3


def estimate(value: float) -> str:
    """A number to :data:`FIGURES` significant figures with thousands separators: 12,487 -> ``12,500``, 841 ->
    ``841``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:,.0f}"
    places = FIGURES - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, min(places, 0)):,.0f}"


def size_text(n: int, measured: float | None) -> str:
    """A size: exact up to ``measured`` (the largest size measured, ``None`` for exact always), an
    :func:`estimate` beyond it."""
    return f"{n:,}" if measured is None or n <= measured else estimate(n)


def cost_amount(value: float, estimated: bool) -> str:
    """A cost's amount: an :func:`estimate` when it prices cases beyond the data, else to the unit."""
    return estimate(value) if estimated else f"{value:,.0f}"


def cost_words(value: float, estimated: bool = False) -> str:
    """A cost with its unit: ``1,000 cost units``."""
    return f"{cost_amount(value, estimated)} {COST_UNIT}"
