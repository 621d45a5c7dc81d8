"""The typed rows of a backtest summary (``backtest_summary.json``, :mod:`samplecast.forecast.evaluate.summary`): the
schema its reader checks every row against, and the rows a plan quotes. Apart from the summary's reader, so a plan
can hold them without importing pandas."""

from __future__ import annotations

from dataclasses import dataclass, field

from samplecast import schema

#: A mean signed error of Dice lies in [-1, 1].
SIGNED_UNIT = {"range": (-1.0, 1.0)}


@dataclass(frozen=True)
class TrustRow:
    """Backtest figures at one cutoff (and, for the forecaster's backtest, one held-out image set or ``"all"``; for
    the backtest on curves of several scenarios, one scenario): forecasts scored, mean absolute and signed error of
    the median, share inside the 80% and 90% intervals, and the mean width of the 80% interval; ``mae_low`` and
    ``mae_high``, where known, bound the MAE's 95% interval over the configurations scored."""

    cutoff: float = field(metadata=schema.FRACTION)
    curves: int = field(metadata=schema.SIZE)
    mae: float = field(metadata=schema.SIZE)
    bias: float = field(metadata=SIGNED_UNIT)
    coverage80: float = field(metadata=schema.UNIT)
    coverage90: float = field(metadata=schema.UNIT)
    width80: float = field(metadata=schema.UNIT)
    held_out: str | None = None
    scenario: str | None = field(default=None, metadata=schema.OMIT_EMPTY)
    mae_low: float | None = field(default=None, metadata={**schema.SIZE, **schema.OMIT_EMPTY})
    mae_high: float | None = field(default=None, metadata={**schema.SIZE, **schema.OMIT_EMPTY})


@dataclass(frozen=True, kw_only=True)
class SummaryRow(TrustRow):
    """A row of a backtest summary file: the figures of one method and held-out image set (:data:`ROW_FIELDS`)."""

    method: str
    held_out: str = field()  # required here (a field(), as the base's default would otherwise be inherited)


@dataclass(frozen=True)
class DecisionRow:
    """The backtest of one planning policy, pooled over the held-out image sets: decisions replayed, share of
    targets reached, cases annotated against the fewest that sufficed (median and 90th percentile, over decisions
    that reached the target), share of "not reachable" answers or stops, mean rounds used, mean cost in pools."""

    policy: str
    held_out: str
    decisions: int = field(metadata=schema.SIZE)
    reached: float = field(metadata=schema.UNIT)
    cases_ratio_median: float | None = field(metadata=schema.SIZE)
    cases_ratio_p90: float | None = field(metadata=schema.SIZE)
    said_unreachable: float = field(metadata=schema.UNIT)
    rounds_used: float = field(metadata=schema.SIZE)
    cost_share: float = field(metadata=schema.SIZE)


@dataclass(frozen=True)
class BacktestSet:
    """An image set of the forecaster's backtest: its name, curves files and number of curves."""

    name: str
    files: tuple[str, ...]
    curves: int = field(metadata=schema.SIZE)
