"""How wrong forecasts have been: backtests of forecasts on complete curves cut short (:mod:`.forecasts`) and the one
summary type of a backtest with its one reader (:mod:`.summary`). May import curves, errors and the rest of forecast.
"""

from samplecast.forecast.evaluate.forecasts import (
    DEFAULT_CUTOFFS,
    DEFAULT_METHODS,
    backtest,
    cutoff_coverage,
    data_needed,
    seeds_together,
    summarize,
)
from samplecast.forecast.evaluate.summary import (
    FORMAT,
    POOLED,
    PROTOCOL,
    ROW_FIELDS,
    BacktestSummary,
    read_summary,
    summarize_backtest,
)

__all__ = ["DEFAULT_CUTOFFS", "DEFAULT_METHODS", "FORMAT", "POOLED", "PROTOCOL", "ROW_FIELDS", "BacktestSummary",
           "backtest", "cutoff_coverage", "data_needed", "read_summary", "seeds_together", "summarize",
           "summarize_backtest"]
