"""XGBoost as a `Detector`: fitted with early stopping, saved as UBJSON, never pickled.

Fitting is `xgboost.train` on `QuantileDMatrix`es (xgboost_matrix.py), in one piece or from
chunks of a memory-mapped matrix; `xgboost_dask.py` fits the same settings on a Dask cluster.

Columns the preprocessor encoded as native category codes are declared categorical
(`feature_types` "c", saved inside the model), so a split can group categories.
Fitting and scoring use `compute.threads` threads (`n_jobs`; `nthread` on a loaded booster).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ConfigError, InputError
from netsec_cli.models.base import FitResult
from netsec_cli.models.metrics import roc_auc
from netsec_cli.models.rows import row_chunks
from netsec_cli.models.split import early_stopping_rows
from netsec_cli.models.xgboost_matrix import MatrixOptions, quantile_matrices

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


@dataclass(frozen=True)
class BoosterSettings:
    """What `xgboost.train` is called with: booster parameters, rounds, early stopping, matrix options."""

    params: dict[str, Any]
    rounds: int
    early_stopping_rounds: int
    matrix: MatrixOptions


def booster_settings(options: ModelConfig, types: list[str], params: dict[str, Any] | None = None) -> BoosterSettings:
    """`model.hyperparameters` (or `params`) as booster parameters, translated by XGBClassifier
    itself (so `n_estimators`, `random_state`, `n_jobs` mean what they mean there)."""
    from xgboost import XGBClassifier

    settings = {"random_state": options.seed, "eval_metric": "logloss", **(options.hyperparameters if params is None else params)}
    if "nthread" not in settings:
        settings.setdefault("n_jobs", options.threads)
    categorical = "c" in types
    try:
        model = XGBClassifier(early_stopping_rounds=options.early_stopping_rounds, **settings)
        booster = {k: v for k, v in model.get_xgb_params().items() if v is not None}
        rounds = int(model.get_num_boosting_rounds())
    except (TypeError, ValueError) as exc:
        raise rejected(exc) from None
    threads = settings.get("n_jobs", settings.get("nthread"))
    matrix = MatrixOptions(types if categorical else None, categorical, booster.get("max_bin"), threads)
    return BoosterSettings(booster, rounds, options.early_stopping_rounds, matrix)


def rejected(exc: BaseException) -> ConfigError:
    """XGBoost's complaint about the configured hyperparameters, as one line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConfigError(f"XGBoost rejected model.hyperparameters: {first}", hint="fix model: in config.yaml")


def train_booster(settings: BoosterSettings, train: Any, validation: Any) -> Any:
    """`xgboost.train` with early stopping on the validation matrix (log loss), quiet."""
    import xgboost

    return xgboost.train(
        settings.params,
        train,
        settings.rounds,
        evals=[(validation, "validation")],
        early_stopping_rounds=settings.early_stopping_rounds,
        verbose_eval=False,
    )


def fitted(
    booster: Any,
    settings: BoosterSettings,
    types: list[str],
    data: tuple[np.ndarray, np.ndarray],
    rows: tuple[np.ndarray, np.ndarray],
    chunk_rows: int | None,
) -> FitResult:
    """The booster trimmed to its best iteration as a detector, with its ROC-AUC on the
    early-stopping rows of `data` (scored `chunk_rows` file rows at a time)."""
    import numpy as np

    x, y = data
    fit_rows, val_rows = rows
    best_attr = booster.attr("best_iteration")
    best = int(best_attr) if best_attr is not None else None
    booster = booster[: best + 1] if best is not None else booster
    detector = XGBoostDetector(booster, types, best, settings.matrix.threads)
    scores = [detector.predict_proba(block) for _, block in row_chunks(x, val_rows, chunk_rows or len(x))]
    probability = np.concatenate(scores) if scores else np.empty(0)
    return FitResult(detector, len(fit_rows), len(val_rows), roc_auc(y[val_rows], probability))


def fit_xgboost(
    options: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    types: list[str],
    params: dict[str, Any] | None = None,
    *,
    chunk_rows: int | None = None,
) -> FitResult:
    """XGBoost with early stopping on a stratified `validation_fraction` slice, fitted on quantised
    matrices built in one piece, or `chunk_rows` rows at a time (`x` may be a memmap)."""
    from xgboost.core import XGBoostError

    settings = booster_settings(options, types, params)
    rows = early_stopping_rows(y, options.validation_fraction, options.seed)
    try:
        train, validation = quantile_matrices(x, y, *rows, settings.matrix, chunk_rows)
        booster = train_booster(settings, train, validation)
    except (XGBoostError, TypeError, ValueError) as exc:
        raise rejected(exc) from None
    del train, validation
    return fitted(booster, settings, types, (x, y), rows, chunk_rows)


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
