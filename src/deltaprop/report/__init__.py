"""Self-contained HTML reports: text, tables and figures in one file that opens anywhere."""

from deltaprop._api import publish
from deltaprop.report._report import (
    Report,
    decision_regions,
    figure_png,
    trace_html,
    training_report,
)

__all__ = [
    "Report",
    "decision_regions",
    "figure_png",
    "trace_html",
    "training_report",
]

publish(__name__, Report)
