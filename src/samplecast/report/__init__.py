"""The planner's report: a renderer of plan documents (:func:`samplecast.plan.plan_document`) into a PDF with
figures (matplotlib) and tables (fpdf2); the backtest numbers that say how far to trust a forecast.

Example:
    >>> from samplecast.report import write_report
    >>> write_report(plans, "ensemble", "report.pdf", source="curves.csv")  # doctest: +SKIP
    >>> render_report(json.loads(Path("forecast.json").read_text()), "report.pdf")  # doctest: +SKIP
"""

from samplecast.report.pdf import SECTIONS, check_document, render_report, write_report
from samplecast.report.trust import CAVEATS, BacktestSummary, summarize_backtest

__all__ = ["CAVEATS", "SECTIONS", "BacktestSummary", "check_document", "render_report", "summarize_backtest",
           "write_report"]
