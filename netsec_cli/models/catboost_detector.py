"""CatBoost as a `Detector`: fitted with early stopping, saved in CatBoost's own .cbm format, never pickled.

Columns the preprocessor encoded as native category codes (`feature_types` "c") are CatBoost
`cat_features`: CatBoost wants integers or strings there, so each code column goes in as int64
(a missing code, which the preprocessor never produces, as -1: the unknown-category code). The
categorical columns are recorded inside the saved model, so loading needs nothing else.
Fitting and scoring use `compute.threads` threads (`thread_count`).
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

UNKNOWN_CODE = -1


class CatBoostDetector:
    """A trained CatBoostClassifier (shrunk to its best iteration) and its categorical columns."""

    kind = "catboost"

    def __init__(self, model: Any, best_iteration: int | None = None, threads: int | None = None) -> None:
        self.model = model
        self.categorical = [int(i) for i in model.get_cat_feature_indices()]
        self.best_iteration = best_iteration
        self.threads = threads  # None: CatBoost's default (all cores)

    def pool(self, x: np.ndarray, y: np.ndarray | None = None) -> Any:
        """A CatBoost Pool of `x` with the categorical columns as integer codes."""
        from catboost import Pool

        return Pool(_data(x, self.categorical), label=y, cat_features=self.categorical or None)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.asarray(self.model.predict_proba(self.pool(x), thread_count=self.threads or -1)[:, 1], dtype=np.float64)

    def contributions(self, x: np.ndarray, *, approximate: bool = False) -> np.ndarray:
        import numpy as np

        kind = "Approximate" if approximate else "Regular"
        shap = self.model.get_feature_importance(
            data=self.pool(x), type="ShapValues", shap_calc_type=kind, thread_count=self.threads or -1, verbose=False
        )
        return np.asarray(shap, dtype=np.float64)

    def importance(self) -> np.ndarray:
        import numpy as np

        return np.asarray(self.model.get_feature_importance(type="PredictionValuesChange"), dtype=np.float64)

    def save(self, path: Path) -> None:
        self.model.save_model(str(path), format="cbm")


def _data(x: np.ndarray, categorical: list[int]) -> Any:
    """`x` itself when every column is numeric, else a DataFrame with int64 code columns."""
    import numpy as np
    import pandas as pd

    if not categorical:
        return x
    frame = pd.DataFrame(x)
    for j in categorical:
        column = x[:, j]
        frame[j] = np.where(np.isnan(column), UNKNOWN_CODE, column).astype(np.int64)
    return frame


def fit_catboost(
    options: ModelConfig, x: np.ndarray, y: np.ndarray, types: list[str], params: dict[str, Any] | None = None
) -> FitResult:
    """CatBoostClassifier (`model.catboost`, or `params`) with early stopping on a stratified
    `validation_fraction` slice, seeded with `model.seed`, quiet, writing no files."""
    from catboost import CatBoostClassifier, CatBoostError, Pool

    x_fit, x_val, y_fit, y_val = early_stopping_split(x, y, options.validation_fraction, options.seed)
    categorical = [j for j, kind in enumerate(types) if kind == "c"]
    settings = {"random_seed": options.seed, **(options.catboost if params is None else params)}
    settings.update(allow_writing_files=False, verbose=False)
    settings.setdefault("thread_count", options.threads)
    try:
        model = CatBoostClassifier(early_stopping_rounds=options.early_stopping_rounds, **settings)
        model.fit(
            Pool(_data(x_fit, categorical), y_fit, cat_features=categorical or None),
            eval_set=Pool(_data(x_val, categorical), y_val, cat_features=categorical or None),
            use_best_model=True,
        )
    except (CatBoostError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"CatBoost rejected model.catboost: {first}", hint="fix model.catboost in config.yaml") from None
    detector = CatBoostDetector(model, model.get_best_iteration(), settings["thread_count"])
    return FitResult(detector, len(y_fit), len(y_val), roc_auc(y_val, detector.predict_proba(x_val)))


def load_catboost(path: Path, threads: int | None = None) -> CatBoostDetector:
    """A saved model (.cbm) scoring with `threads` threads (None: all cores); InputError when the
    file is not a valid CatBoost model."""
    from catboost import CatBoostClassifier, CatBoostError

    model = CatBoostClassifier()
    try:
        model.load_model(str(path), format="cbm")
    except CatBoostError:
        raise InputError(f"model {path} is corrupt", hint="run `netsec train` again") from None
    return CatBoostDetector(model, model.get_best_iteration(), threads)
