"""What every model type provides: the `Detector` protocol and the result of fitting one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class Detector(Protocol):
    """A fitted binary intrusion model."""

    kind: str
    best_iteration: int | None

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Intrusion probability per row (float64)."""
        ...

    def contributions(self, x: np.ndarray, *, approximate: bool = False) -> np.ndarray:
        """Per-row contributions to the margin: one column per feature, then the bias (they sum to the margin).

        Exact SHAP values by default; `approximate` gives the library's cheaper per-path
        attribution (Saabas), which also sums to the margin, for explaining many rows."""
        ...

    def importance(self) -> np.ndarray:
        """Total gain (or the library's equivalent) per feature, in feature order."""
        ...

    def save(self, path: Path) -> None:
        """Write the model in its library's own format."""
        ...


@dataclass
class FitResult:
    """A fitted detector, how many rows it was fitted and early-stopped on, and its ROC-AUC on that
    early-stopping (validation) slice (None when the slice holds one class only)."""

    detector: Detector
    fit_rows: int
    validation_rows: int
    validation_roc_auc: float | None = None
