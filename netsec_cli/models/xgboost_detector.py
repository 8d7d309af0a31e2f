"""XGBoost as a `Detector`: fitted with early stopping, saved as UBJSON, never pickled.

Columns the preprocessor encoded as native category codes are declared categorical
(`feature_types` "c", saved inside the model), so a split can group categories.
Fitting and scoring use `compute.threads` threads (`n_jobs`; `nthread` on a loaded booster).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ConfigError, InputError
from netsec_cli.models.base import FitResult
from netsec_cli.models.metrics import roc_auc
from netsec_cli.models.split import early_stopping_split

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import ModelConfig


class XGBoostDetector:
    """A trained booster (trimmed to its best iteration), its feature types and thread count."""

    kind = "xgboost"

    def __init__(
        self, booster: Any, feature_types: list[str], best_iteration: int | None = None, threads: int | None = None
    ) -> None:
        self.booster = booster
        self.feature_types = feature_types
        self.best_iteration = best_iteration
        self.threads = threads
        if threads is not None:
            booster.set_param({"nthread": threads})  # inplace_predict and predict use it

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.asarray(self.booster.inplace_predict(x), dtype=np.float64)

    def contributions(self, x: np.ndarray, *, approximate: bool = False) -> np.ndarray:
        import numpy as np
        from xgboost import DMatrix

        categorical = "c" in self.feature_types
        matrix = DMatrix(
            x, feature_types=self.feature_types if categorical else None, enable_categorical=categorical, nthread=self.threads
        )
        contributions = self.booster.predict(matrix, pred_contribs=True, approx_contribs=approximate)
        return np.asarray(contributions, dtype=np.float64)

    def importance(self) -> np.ndarray:
        import numpy as np

        gains = self.booster.get_score(importance_type="total_gain")
        names = self.booster.feature_names or [f"f{i}" for i in range(self.booster.num_features())]
        return np.array([float(gains.get(name, 0.0)) for name in names])

    def save(self, path: Path) -> None:
        self.booster.save_model(str(path))


def fit_xgboost(
    options: ModelConfig, x: np.ndarray, y: np.ndarray, types: list[str], params: dict[str, Any] | None = None
) -> FitResult:
    """XGBClassifier with early stopping on a stratified `validation_fraction` slice."""
    from xgboost import XGBClassifier
    from xgboost.core import XGBoostError

    x_fit, x_val, y_fit, y_val = early_stopping_split(x, y, options.validation_fraction, options.seed)
    settings = {"random_state": options.seed, "eval_metric": "logloss", **(options.hyperparameters if params is None else params)}
    if "nthread" not in settings:
        settings.setdefault("n_jobs", options.threads)
    if "c" in types:
        settings.update(feature_types=types, enable_categorical=True)
    try:
        model = XGBClassifier(early_stopping_rounds=options.early_stopping_rounds, **settings)
        model.fit(x_fit, y_fit, eval_set=[(x_val, y_val)], verbose=False)
    except (XGBoostError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"XGBoost rejected model.hyperparameters: {first}", hint="fix model: in config.yaml") from None
    best = getattr(model, "best_iteration", None)
    booster = model.get_booster()
    booster = booster[: best + 1] if best is not None else booster
    detector = XGBoostDetector(booster, types, best, settings.get("n_jobs", settings.get("nthread")))
    return FitResult(detector, len(y_fit), len(y_val), roc_auc(y_val, detector.predict_proba(x_val)))


def load_xgboost(path: Path, feature_types: list[str], threads: int | None = None) -> XGBoostDetector:
    """A saved booster (UBJSON) scoring with `threads` threads (None: all cores); InputError when
    the file is not a valid model."""
    from xgboost import Booster
    from xgboost.core import XGBoostError

    booster = Booster()
    try:
        booster.load_model(str(path))
    except XGBoostError:
        raise InputError(f"model {path} is corrupt", hint="run `netsec train` again") from None
    return XGBoostDetector(booster, feature_types, threads=threads)
