"""The planner's report: figures (matplotlib), tables read off the recommendation, the backtest numbers that say how
far to trust a forecast, and the PDF that puts them together (fpdf2).

Example:
    >>> from samplecast.report import write_report
    >>> write_report(plans, "ensemble", "report.pdf", source="curves.csv")  # doctest: +SKIP
"""

from samplecast.report.pdf import SECTIONS, default_title, write_report
from samplecast.report.trust import CAVEATS, BacktestSummary, summarize_backtest

__all__ = ["CAVEATS", "SECTIONS", "BacktestSummary", "default_title", "summarize_backtest", "write_report"]
