"""The planner's report: renders a plan document (:class:`samplecast.plan.PlanDocument`) into a PDF with figures
(matplotlib) and tables (fpdf2), and nothing else. May import plan (its document types) and errors; never forecast.

Example:
    >>> from samplecast.report import render_report
    >>> render_report(PlanDocument.read("forecast.json"), "report.pdf")  # doctest: +SKIP
"""

from samplecast.report.pdf import MAX_CURVES, SECTIONS, check_curve_count, render_report

__all__ = ["MAX_CURVES", "SECTIONS", "check_curve_count", "render_report"]
