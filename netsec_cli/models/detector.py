"""One interface over the model types netsec trains (`model.type`).

A `Detector` scores rows (intrusion probability), explains them (per-feature contributions to the
margin, from the model itself) and saves itself in its library's own format; `load_detector`
reads that format back without unpickling anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ConfigError, InputError
from netsec_cli.models.base import Detector, FitResult

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import ModelConfig

MODEL_TYPES = ("xgboost", "catboost")


def fit_detector(
    options: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    types: list[str],
    params: dict[str, Any] | None = None,
    *,
    chunk_rows: int | None = None,
) -> FitResult:
    """Fit `options.type` on (x, y) with early stopping on a stratified validation slice.

    `types` gives each column's kind ("q" numeric, "c" categorical code); `params` overrides the
    configured hyperparameters (`model.hyperparameters` or `model.catboost`; tuning). With
    `chunk_rows` (XGBoost only), `x` may be a memmap: it is read that many rows at a time."""
    if options.type == "xgboost":
        from netsec_cli.models.xgboost_detector import fit_xgboost

        return fit_xgboost(options, x, y, types, params, chunk_rows=chunk_rows)
    if chunk_rows is not None:
        raise InputError("CatBoost trains in memory only", hint="use model.type: xgboost for a training split this large")
    if options.type == "catboost":
        from netsec_cli.models.catboost_detector import fit_catboost

        return fit_catboost(options, x, y, types, params)
    raise ConfigError(f"unknown model.type {options.type!r}", hint=f"use one of {', '.join(MODEL_TYPES)}")


def load_detector(kind: str, path: Path, feature_types: list[str], *, threads: int | None = None) -> Detector:
    """Load a saved detector of `kind` from `path` (InputError naming it when it is corrupt),
    scoring with `threads` threads (`compute.threads`; None: the library's default, all cores)."""
    try:
        if kind == "xgboost":
            from netsec_cli.models.xgboost_detector import load_xgboost

            return load_xgboost(path, feature_types, threads)
        if kind == "catboost":
            from netsec_cli.models.catboost_detector import load_catboost

            return load_catboost(path, threads)
    except (InputError, ImportError):
        raise
    except Exception:  # noqa: BLE001  (a damaged file makes the native loaders raise unrelated types, e.g. UnicodeDecodeError)
        raise InputError(f"model {path} is corrupt", hint="run `netsec train` again") from None
    raise ConfigError(f"unknown model type {kind!r} in the trained model", hint="run `netsec train` again")

