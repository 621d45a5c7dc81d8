"""Numbers in words, the same in every sentence and table: sizes measured are exact, sizes a forecast estimates beyond
the data are rounded to three significant figures (a forecast is not precise to the case that far out), the cases
more than today and their cost follow from the size as shown (so the page adds up), and costs name their unit."""

from __future__ import annotations

import math

#: The unit costs are given in: the currency of the cost per case, which samplecast is not told.
COST_UNIT = "cost units"
#: Significant figures of a size estimated beyond the data.
FIGURES = 3


def rounded(value: float) -> int:
    """``value`` to :data:`FIGURES` significant figures (whole numbers kept whole): 12,487 -> 12,500, 841 -> 841."""
    if value == 0 or not math.isfinite(value):
        return int(value) if math.isfinite(value) else 0
    places = FIGURES - 1 - math.floor(math.log10(abs(value)))
    return int(round(value, min(places, 0)))


def estimate(value: float) -> str:
    """An estimated number as text: :func:`rounded`, with thousands separators."""
    return f"{rounded(value):,}"


def shown_size(n: int, measured: float) -> int:
    """A size as a report shows it: exact up to ``measured`` (the largest size measured), :func:`rounded` beyond."""
    return n if n <= measured else rounded(n)


def size_text(n: int, measured: float) -> str:
    """:func:`shown_size` as text."""
    return f"{shown_size(n, measured):,}"


def more_than(n: int, measured: int) -> int:
    """Cases beyond the ``measured`` used so far to reach the size ``n`` as shown."""
    return max(0, shown_size(n, measured) - measured)


def cost_of(n: int, measured: int, per_case: float) -> float:
    """The cost of annotating up to the size ``n`` as shown, at ``per_case`` a case."""
    return more_than(n, measured) * per_case


def cost_words(value: float) -> str:
    """A cost with its unit: ``1,000 cost units``."""
    return f"{value:,.0f} {COST_UNIT}"
