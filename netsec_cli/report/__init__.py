"""The evaluation report: one self-contained HTML page for `netsec evaluate --report` and train.

- `breakdown`: detection rate per attack name and per NSL-KDD category (`AttackTally`).
- `curves`: ROC, precision-recall and rates against threshold, thinned to a few hundred points.
- `svg`: inline SVG line charts, bars and the confusion matrix, drawn from numbers.
- `charts`: the report's charts; `html`: the page (`ReportData`, `render_report`, `write_report`).
- `histograms`: reference vs current shares on common bins; `drift_page`: the drift report page
  of validate and monitor (`DriftPage`, `render_drift_page`, `write_drift_page`).
"""

from netsec_cli.report.breakdown import (
    AttackRow,
    AttackTally,
    Breakdown,
    attack_categories,
    category_of,
)
from netsec_cli.report.charts import named_importance
from netsec_cli.report.drift_page import DriftPage, render_drift_page, write_drift_page
from netsec_cli.report.histograms import (
    Histogram,
    categorical_histogram,
    numeric_histogram,
)
from netsec_cli.report.html import (
    ReportData,
    check_report_path,
    render_report,
    write_report,
)

__all__ = [
    "AttackRow",
    "AttackTally",
    "Breakdown",
    "DriftPage",
    "Histogram",
    "ReportData",
    "attack_categories",
    "categorical_histogram",
    "category_of",
    "check_report_path",
    "named_importance",
    "numeric_histogram",
    "render_drift_page",
    "render_report",
    "write_drift_page",
    "write_report",
]
