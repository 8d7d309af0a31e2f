"""The curves a report draws, computed from labels and probabilities and thinned to a few hundred
points (a chart cannot show more, and the page stays small)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Point = tuple[float, float]
_LOGIT_SPAN = 13.8155  # log-odds of 1 - 1e-6


@dataclass
class Curves:
    """ROC (false-alarm rate, detection rate), PR (recall, precision) and, per threshold on a grid
    even in log-odds from 1e-6 to 1 - 1e-6, (threshold, detection rate, false-alarm rate);
    `prevalence` is the intrusion share."""

    roc: list[Point]
    pr: list[Point]
    by_threshold: list[tuple[float, float, float]]
    prevalence: float


def compute_curves(y_true: np.ndarray, probability: np.ndarray, points: int = 300) -> Curves:
    """The curves of `probability` against `y_true` (1 = intrusion; both classes present)."""
    import numpy as np
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = np.asarray(y_true).astype(bool)
    p = np.asarray(probability, dtype=np.float64)
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    grid = 1.0 / (1.0 + np.exp(-np.linspace(-_LOGIT_SPAN, _LOGIT_SPAN, 2 * points + 1)))
    return Curves(
        roc=thin(fpr, tpr, points),
        pr=thin(recall[::-1], precision[::-1], points),
        by_threshold=list(zip(grid.tolist(), _share_at_least(p[y], grid).tolist(), _share_at_least(p[~y], grid).tolist())),
        prevalence=float(y.mean()),
    )


def _share_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the share of `values` at or above it."""
    import numpy as np

    ordered = np.sort(values)
    return (len(ordered) - np.searchsorted(ordered, thresholds, side="left")) / max(len(ordered), 1)


def thin(xs: np.ndarray, ys: np.ndarray, points: int) -> list[Point]:
    """The polyline through (xs, ys) keeping the first point of every 1/`points` of its length
    (L1) and the last point; at most 3×`points` points."""
    import numpy as np

    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    travelled = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(xs)) + np.abs(np.diff(ys)))])
    kept = np.flatnonzero(np.diff(np.floor(travelled * points), prepend=-1.0) != 0)
    if kept[-1] != len(xs) - 1:
        kept = np.append(kept, len(xs) - 1)
    if len(kept) > 3 * points:
        kept = kept[np.linspace(0, len(kept) - 1, 3 * points).astype(int)]
    return [(round(float(xs[i]), 5), round(float(ys[i]), 5)) for i in kept]
