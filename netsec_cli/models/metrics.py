"""Binary detection metrics (1 = intrusion) at an operating threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def binary_metrics(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, Any]:
    """Accuracy, precision, recall (detection rate), F1, false-alarm rate, ROC-AUC, PR-AUC and the
    confusion matrix of `probability >= threshold` against `y_true`."""
    from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

    predicted = (probability >= threshold).astype(int)
    both = len(set(y_true.tolist())) == 2
    matrix = confusion_matrix(y_true, predicted, labels=[0, 1])
    tn, fp, fn, tp = (int(v) for v in matrix.ravel())
    rows = int(len(y_true))
    return {
        "accuracy": _ratio(tp + tn, rows),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "false_alarm_rate": _ratio(fp, fp + tn),
        "roc_auc": round(float(roc_auc_score(y_true, probability)), 6) if both else None,
        "pr_auc": round(float(average_precision_score(y_true, probability)), 6) if both else None,
        "threshold": threshold,
        "rows": rows,
        "confusion_matrix": {"labels": ["normal", "intrusion"], "matrix": matrix.tolist(), "tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def roc_auc(y_true: np.ndarray, probability: np.ndarray) -> float | None:
    """ROC-AUC of `probability` against `y_true`, or None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, probability)) if len(set(y_true.tolist())) == 2 else None


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0
