"""The detector: one interface over XGBoost (and CatBoost), the alert-budget threshold, metrics.

- `base`: the `Detector` protocol; `detector`: `fit_detector` / `load_detector`, by `model.type`.
- `xgboost_detector`: XGBoost, saved in its own UBJSON format (never pickle), fitted on
  `xgboost_matrix`'s quantised matrices (in one piece, or chunk by chunk from a memmap).
- `xgboost_dask`: the same XGBoost fit on a Dask cluster (the caller passes the `Client`).
- `catboost_detector`: CatBoost, saved in its own .cbm format (never pickle).
- `split`: the stratified early-stopping slice both are fitted with, and the seeded CV sample.
- `rows`: rows of a (memory-mapped) matrix read one bounded chunk at a time.
- `threshold`: the operating threshold from out-of-fold scores of normal training rows.
- `metrics`: binary metrics at a threshold.
- `search_space`: the tuned hyperparameters and their ranges, per model type.
- `tuning`: the Optuna study scored by cross-validation on the training split.
"""

from netsec_cli.models.base import Detector, FitResult
from netsec_cli.models.detector import MODEL_TYPES, fit_detector, load_detector
from netsec_cli.models.metrics import binary_metrics
from netsec_cli.models.threshold import (
    ThresholdChoice,
    alert_threshold,
    choose_threshold,
)
from netsec_cli.models.tuning import TrialRecord, TuneRequest, TuningSummary, tune, tuning_plan

__all__ = [
    "MODEL_TYPES",
    "Detector",
    "FitResult",
    "ThresholdChoice",
    "TrialRecord",
    "TuneRequest",
    "TuningSummary",
    "alert_threshold",
    "binary_metrics",
    "choose_threshold",
    "fit_detector",
    "load_detector",
    "tune",
    "tuning_plan",
]
