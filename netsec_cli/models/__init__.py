"""The detector: one interface over XGBoost (and CatBoost), the alert-budget threshold, metrics.

- `base`: the `Detector` protocol; `detector`: `fit_detector` / `load_detector`, by `model.type`.
- `xgboost_detector`: XGBoost, saved in its own UBJSON format (never pickle).
- `threshold`: the operating threshold from out-of-fold scores of normal training rows.
- `metrics`: binary metrics at a threshold.
"""

from netsec_cli.models.base import Detector, FitResult
from netsec_cli.models.detector import MODEL_TYPES, fit_detector, load_detector
from netsec_cli.models.metrics import binary_metrics
from netsec_cli.models.threshold import (
    ThresholdChoice,
    alert_threshold,
    choose_threshold,
)

__all__ = [
    "MODEL_TYPES",
    "Detector",
    "FitResult",
    "ThresholdChoice",
    "alert_threshold",
    "binary_metrics",
    "choose_threshold",
    "fit_detector",
    "load_detector",
]
