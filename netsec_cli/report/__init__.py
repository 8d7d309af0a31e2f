"""The evaluation report: one self-contained HTML page for `netsec evaluate --report` and train.

- `breakdown`: detection rate per attack name and per NSL-KDD category (`AttackTally`).
- `curves`: ROC, precision-recall and rates against threshold, thinned to a few hundred points.
- `svg`: inline SVG line charts, bars and the confusion matrix, drawn from numbers.
- `charts`: the report's charts; `html`: the page (`ReportData`, `render_report`, `write_report`).
"""

from netsec_cli.report.breakdown import (
    AttackRow,
    AttackTally,
    Breakdown,
    attack_categories,
    category_of,
)
from netsec_cli.report.charts import named_importance
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
    "ReportData",
    "attack_categories",
    "category_of",
    "check_report_path",
    "named_importance",
    "render_report",
    "write_report",
]
