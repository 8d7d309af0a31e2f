"""`netsec train`: XGBoost on the transformed training split, evaluated on the test split.

Reads artifacts/transform; writes artifacts/train/:
  model.ubj        the booster in XGBoost's own UBJSON format (never pickle)
  model_info.json  feature names and types, best iteration, threshold, and the sha256 of the
                   preprocessor it was trained with (predict refuses a model/preprocessor mismatch)
  metrics.json     accuracy, precision, recall, F1, ROC-AUC and the confusion matrix on the test split
  tracking.json    the MLflow run id and registered model version (or why tracking failed)

Order: fit, write the files into the staging folder, log the run to MLflow, publish the folder.
Columns the preprocessor encoded as native category codes (`transform.categorical_encoding:
native`) are declared categorical to XGBoost (`feature_types` "c", saved inside the model), so
its splits group categories instead of testing one at a time.

If MLflow fails the folder is still published (the new model is usable) and a ServiceError
(exit 4) is raised afterwards. A failure before publishing leaves the previous model in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    TrainFiles,
    TransformFiles,
    open_stage,
    stage_dir,
    write_json_atomic,
)
from netsec_cli.errors import ConfigError, InputError, NetsecError
from netsec_cli.preprocessing import feature_types, load_preprocessor
from netsec_cli.runner import RunOptions, run_stage

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config


@dataclass
class TrainResult:
    """What `netsec train` produced."""

    metrics: dict[str, Any]
    model_path: Path
    run_id: str | None
    model_version: str | None
    best_iteration: int | None
    train_rows: int
    validation_rows: int
    test_rows: int
    duration: float


def evaluate(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, Any]:
    """Binary metrics (1 = intrusion) at `threshold`."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    predicted = (probability >= threshold).astype(int)
    both = len(set(y_true.tolist())) == 2
    matrix = confusion_matrix(y_true, predicted, labels=[0, 1])
    return {
        "accuracy": round(float(accuracy_score(y_true, predicted)), 6),
        "precision": round(float(precision_score(y_true, predicted, zero_division=0)), 6),
        "recall": round(float(recall_score(y_true, predicted, zero_division=0)), 6),
        "f1": round(float(f1_score(y_true, predicted, zero_division=0)), 6),
        "roc_auc": round(float(roc_auc_score(y_true, probability)), 6) if both else None,
        "threshold": threshold,
        "rows": int(len(y_true)),
        "confusion_matrix": {
            "labels": ["normal", "intrusion"],
            "matrix": matrix.tolist(),
            "tn": int(matrix[0, 0]),
            "fp": int(matrix[0, 1]),
            "fn": int(matrix[1, 0]),
            "tp": int(matrix[1, 1]),
        },
    }


def fit_model(config: Config, x: np.ndarray, y: np.ndarray, types: list[str] | None = None) -> tuple[Any, int, int]:
    """Fit XGBClassifier with early stopping on a stratified validation slice; (model, fit rows, val rows).

    `types` gives XGBoost's type per column ("q" numeric, "c" categorical code); any "c" switches
    on XGBoost's native categorical splits."""
    import numpy as np
    from sklearn.model_selection import train_test_split
    from xgboost import XGBClassifier
    from xgboost.core import XGBoostError

    options = config.model
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        raise InputError("the training split has only one class", hint="check data.target and data.normal_value")
    stratify = y if counts.min() >= 2 else None
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=options.validation_fraction, stratify=stratify, random_state=options.seed
    )
    params = {"random_state": options.seed, "eval_metric": "logloss", **options.hyperparameters}
    if types and "c" in types:
        params.update(feature_types=types, enable_categorical=True)
    try:
        model = XGBClassifier(early_stopping_rounds=options.early_stopping_rounds, **params)
        model.fit(x_fit, y_fit, eval_set=[(x_val, y_val)], verbose=False)
    except (XGBoostError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"XGBoost rejected model.hyperparameters: {first}", hint="fix model: in config.yaml") from None
    return model, len(y_fit), len(y_val)


def run_train(config: Config, *, options: RunOptions = RunOptions()) -> TrainResult:
    """Train, evaluate, log the run to MLflow (if enabled) and publish artifacts/train.

    A tracking failure is raised (exit 4) only after the new model is published."""
    tracked, tracking_error = None, None
    stage = run_stage(config, "train", options, hyperparameters=config.model.hyperparameters)
    with stage as run, options.progress.task("train", total=3) as bar:
        transform = open_stage(config.artifacts_dir, "transform", "train")
        x_train, y_train = transform.load_array("X_train"), transform.load_array("y_train")
        x_test, y_test = transform.load_array("X_test"), transform.load_array("y_test")
        types = feature_types(load_preprocessor(transform.preprocessor))
        if len(types) != x_train.shape[1]:
            raise InputError(
                f"{transform.folder} is inconsistent: the preprocessor gives {len(types)} columns, X_train has {x_train.shape[1]}",
                hint="re-run `netsec transform`",
            )
        model, fit_rows, val_rows = fit_model(config, x_train, y_train, types)
        bar.advance()
        metrics = evaluate(y_test, model.predict_proba(x_test)[:, 1], config.predict.threshold)
        best = getattr(model, "best_iteration", None)
        bar.advance()
        files = TrainFiles(run.folder)
        booster = model.get_booster()
        booster = booster[: best + 1] if best is not None else booster
        booster.save_model(str(files.model))
        write_json_atomic(files.model_info, _model_info(config, transform, types, best))
        write_json_atomic(files.metrics, metrics)
        if config.tracking.enabled:
            tracked, tracking_error = _track(config, files, transform, metrics, best, fit_rows)
        write_json_atomic(files.tracking, _tracking_record(config, tracked, tracking_error))
        bar.advance()
        run.summary.update(accuracy=metrics["accuracy"], f1=metrics["f1"], best_iteration=best, run_id=tracked.run_id if tracked else None)
    if tracking_error is not None:
        raise tracking_error
    return TrainResult(
        metrics=metrics,
        model_path=TrainFiles(stage_dir(config.artifacts_dir, "train")).model,
        run_id=tracked.run_id if tracked else None,
        model_version=tracked.model_version if tracked else None,
        best_iteration=best,
        train_rows=fit_rows,
        validation_rows=val_rows,
        test_rows=int(len(y_test)),
        duration=run.elapsed(),
    )


def _model_info(config: Config, transform: TransformFiles, types: list[str], best: int | None) -> dict[str, Any]:
    """What predict needs besides the booster, and what the model was trained with."""
    return {
        "format": "xgboost-ubj",
        "feature_names": transform.feature_names(),
        "feature_types": types,
        "best_iteration": best,
        "threshold": config.predict.threshold,
        "preprocessor_sha256": transform.preprocessor_sha256(),
        "hyperparameters": config.model.hyperparameters,
    }


def _tracking_record(config: Config, tracked: Any, error: NetsecError | None) -> dict[str, Any]:
    """tracking.json: the MLflow run and model version, or why tracking failed."""
    return {
        "enabled": config.tracking.enabled,
        "run_id": tracked.run_id if tracked else None,
        "model_version": tracked.model_version if tracked else None,
        "tracking_uri": tracked.tracking_uri if tracked else None,
        "error": str(error) if error else None,
    }


def _track(
    config: Config, files: TrainFiles, transform: TransformFiles, metrics: dict[str, Any], best: int | None, fit_rows: int
) -> tuple[Any, NetsecError | None]:
    """Log the run; a tracking failure is returned (raised after publishing), not raised here."""
    from netsec_cli.tracking import log_training_run

    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None and k != "threshold"}
    params: dict[str, Any] = {f"model.{k}": v for k, v in config.model.hyperparameters.items()}
    params.update(
        {
            "model.early_stopping_rounds": config.model.early_stopping_rounds,
            "model.validation_fraction": config.model.validation_fraction,
            "model.best_iteration": best,
            "train_rows": fit_rows,
            **{f"transform.{k}": v for k, v in config.transform.model_dump().items()},
        }
    )
    try:
        tracked = log_training_run(
            config,
            params=params,
            metrics=scalars,
            model_files=[files.model, files.model_info],
            artifact_files=[files.metrics, transform.preprocessor, transform.schema],
            tags={"netsec.stage": "train"},
        )
    except NetsecError as exc:
        return None, exc
    return tracked, None
