"""The operating threshold, chosen from training data only.

With `predict.threshold: auto`, train scores every training row by k-fold cross-validation
(stratified, `model.cv_folds` folds, seeded): each row's out-of-fold probability comes from a
model that never saw it. The threshold is then the (1 − `model.alert_budget`) quantile of the
out-of-fold scores of the *normal* rows, taken so that at most `alert_budget` of them score at
or above it: about that share of normal training traffic raises an alert. No test file is looked
at. The out-of-fold detection rate and false-alarm rate at the threshold are reported with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.models.base import Detector


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold and how it was chosen."""

    threshold: float
    source: str  # "alert_budget" (cross-validated) or "config" (predict.threshold as given)
    alert_budget: float | None = None
    folds: int | None = None
    oof_recall: float | None = None
    oof_false_alarm_rate: float | None = None


def alert_threshold(oof: np.ndarray, y: np.ndarray, budget: float) -> float:
    """The smallest threshold at which at most `budget` of the normal rows (y == 0) score at or above it."""
    import numpy as np

    normal = np.sort(np.asarray(oof, dtype=np.float64)[np.asarray(y) == 0])[::-1]
    if len(normal) == 0:
        return 0.5
    allowed = math.floor(budget * len(normal))
    if allowed >= len(normal):
        return float(normal[-1])
    return float(min(1.0, np.nextafter(normal[allowed], np.inf)))


def out_of_fold(
    fit: Callable[[np.ndarray, np.ndarray], Detector], x: np.ndarray, y: np.ndarray, folds: int, seed: int
) -> np.ndarray:
    """Each row's probability from a model fitted on the other folds (stratified, seeded)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    folds = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    scores = np.empty(len(y), dtype=np.float64)
    for train_rows, held_out in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y):
        scores[held_out] = fit(x[train_rows], y[train_rows]).predict_proba(x[held_out])
    return scores


def choose_threshold(
    fit: Callable[[np.ndarray, np.ndarray], Detector],
    x: np.ndarray,
    y: np.ndarray,
    *,
    configured: float | str,
    budget: float,
    folds: int,
    seed: int,
) -> ThresholdChoice:
    """`configured` as given when it is a number; for "auto", the alert-budget threshold on out-of-fold scores."""
    if configured != "auto":
        return ThresholdChoice(threshold=float(configured), source="config")
    oof = out_of_fold(fit, x, y, folds, seed)
    threshold = alert_threshold(oof, y, budget)
    flagged = oof >= threshold
    attacks, normal = y == 1, y == 0
    return ThresholdChoice(
        threshold=threshold,
        source="alert_budget",
        alert_budget=budget,
        folds=folds,
        oof_recall=round(float(flagged[attacks].mean()), 6) if attacks.any() else None,
        oof_false_alarm_rate=round(float(flagged[normal].mean()), 6) if normal.any() else None,
    )
