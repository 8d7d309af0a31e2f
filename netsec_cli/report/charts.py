"""The report's charts: ROC, precision-recall, rates against threshold, confusion matrix, feature
importance, each one inline SVG built from the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netsec_cli.report.curves import Curves
from netsec_cli.report.svg import (
    BLUE,
    GREY,
    INK,
    ORANGE,
    LineChart,
    Marker,
    Scale,
    Series,
    bar_chart,
    confusion_chart,
    line_chart,
    logit_scale,
)

TOP_FEATURES = 15
_FAR_SCALES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _auc(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def roc_chart(curves: Curves, metrics: dict[str, Any]) -> str:
    """Detection rate against false-alarm rate, the chance line and the operating point."""
    return line_chart(
        LineChart(
            label="ROC curve",
            x_label="false-alarm rate",
            y_label="detection rate (recall)",
            series=[
                Series(f"ROC (AUC {_auc(metrics.get('roc_auc'))})", curves.roc, BLUE),
                Series("chance", [(0.0, 0.0), (1.0, 1.0)], GREY, dashed=True),
            ],
            markers=[Marker(metrics["false_alarm_rate"], metrics["recall"], f"threshold {metrics['threshold']:.3g}")],
        )
    )


def pr_chart(curves: Curves, metrics: dict[str, Any]) -> str:
    """Precision against recall, the no-skill line (the intrusion share) and the operating point."""
    base = curves.prevalence
    return line_chart(
        LineChart(
            label="precision-recall curve",
            x_label="recall (detection rate)",
            y_label="precision",
            series=[
                Series(f"PR (AUC {_auc(metrics.get('pr_auc'))})", curves.pr, ORANGE),
                Series(f"no skill ({base:.1%} intrusions)", [(0.0, base), (1.0, base)], GREY, dashed=True),
            ],
            markers=[Marker(metrics["recall"], metrics["precision"], f"threshold {metrics['threshold']:.3g}")],
        )
    )


def threshold_chart(curves: Curves, metrics: dict[str, Any]) -> str:
    """Detection rate (left axis) and false-alarm rate (right axis, zoomed around the operating
    point) against the threshold (log-odds axis), the chosen threshold marked."""
    threshold = float(metrics["threshold"])
    far = float(metrics["false_alarm_rate"])
    high = next((s for s in _FAR_SCALES if s >= 4 * far), 1.0)
    fmt = "{:.0%}" if high >= 0.1 else "{:.1%}"
    right = Scale(0.0, high, [high * i / 5 for i in range(6)], fmt)
    return line_chart(
        LineChart(
            label="detection and false-alarm rate against threshold",
            x_label="threshold (intrusion when probability ≥ threshold)",
            y_label="detection rate",
            x=logit_scale(min(threshold, 1.0 - threshold)),
            series=[
                Series("detection rate", [(t, r) for t, r, _ in curves.by_threshold], BLUE),
                Series(f"false-alarm rate (right axis, 0–{fmt.format(high)})", [(t, f) for t, _, f in curves.by_threshold], ORANGE, right=True),
            ],
            y2=right,
            y2_label="false-alarm rate",
            markers=[
                Marker(threshold, metrics["recall"], f"{metrics['recall']:.2%}", BLUE),
                Marker(threshold, far, f"{far:.2%}", ORANGE, right=True),
            ],
            vline=(threshold, f"threshold {threshold:.3g}"),
        )
    )


def matrix_chart(metrics: dict[str, Any]) -> str:
    """The confusion matrix at the operating threshold."""
    m = metrics["confusion_matrix"]
    return confusion_chart(m["tn"], m["fp"], m["fn"], m["tp"])


def importance_chart(importance: Sequence[tuple[str, float]]) -> str:
    """The features with the highest importance, as bars."""
    top = sorted(importance, key=lambda item: -item[1])[:TOP_FEATURES]
    return bar_chart("feature importance", [(name, float(value)) for name, value in top], _amount, INK)


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def named_importance(names: Sequence[str], values: Any) -> list[tuple[str, float]]:
    """(feature name, importance) pairs; features are f0, f1, … when the names do not fit."""
    scores = [float(v) for v in values]
    labels = list(names) if len(names) == len(scores) else [f"f{i}" for i in range(len(scores))]
    return list(zip(labels, scores))
