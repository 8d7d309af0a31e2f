"""`netsec train`: the detector on the transformed training split, evaluated on the test split.

Reads artifacts/transform; writes artifacts/train/:
  model.ubj        the model in its library's own format (XGBoost UBJSON; never pickle)
  model_info.json  model type, feature names and types, best iteration, the operating threshold
                   and how it was chosen, and the sha256 of the preprocessor it was trained with
                   (predict refuses a model/preprocessor mismatch)
  metrics.json     accuracy, precision, recall, F1, false-alarm rate, ROC-AUC, PR-AUC and the
                   confusion matrix on the test split, at the operating threshold
  tracking.json    the MLflow run id and registered model version (or why tracking failed)

The threshold (`predict.threshold: auto`) comes from the alert budget on out-of-fold scores of
the training split (netsec_cli.models.threshold); the test split is only ever evaluated.
If MLflow fails the folder is still published (the new model is usable) and a ServiceError
(exit 4) is raised afterwards. A failure before publishing leaves the previous model in place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    TrainFiles,
    TransformFiles,
    open_stage,
    stage_dir,
    write_json_atomic,
)
from netsec_cli.errors import InputError, NetsecError
from netsec_cli.models import FitResult, ThresholdChoice, binary_metrics, choose_threshold, fit_detector
from netsec_cli.preprocessing import feature_types, load_preprocessor
from netsec_cli.runner import RunOptions, run_stage

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config


@dataclass
class TrainResult:
    """What `netsec train` produced."""

    metrics: dict[str, Any]
    threshold: ThresholdChoice
    model_path: Path
    run_id: str | None
    model_version: str | None
    best_iteration: int | None
    train_rows: int
    validation_rows: int
    test_rows: int
    duration: float


def run_train(config: Config, *, options: RunOptions = RunOptions()) -> TrainResult:
    """Choose the threshold, fit, evaluate, log the run to MLflow (if enabled) and publish artifacts/train.

    A tracking failure is raised (exit 4) only after the new model is published."""
    tracked, tracking_error = None, None
    stage = run_stage(config, "train", options, type=config.model.type, hyperparameters=config.model.hyperparameters)
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
        choice = _threshold(config, x_train, y_train, types)
        bar.advance()
        fitted = fit_detector(config.model, x_train, y_train, types)
        metrics = binary_metrics(y_test, fitted.detector.predict_proba(x_test), choice.threshold)
        bar.advance()
        files = TrainFiles(run.folder)
        fitted.detector.save(files.model_path(config.model.type))
        write_json_atomic(files.model_info, _model_info(config, transform, types, fitted.detector.best_iteration, choice))
        write_json_atomic(files.metrics, metrics)
        if config.tracking.enabled:
            tracked, tracking_error = _track(config, files, transform, metrics, fitted, choice)
        write_json_atomic(files.tracking, _tracking_record(config, tracked, tracking_error))
        bar.advance()
        run.summary.update(
            threshold=choice.threshold, accuracy=metrics["accuracy"], f1=metrics["f1"], run_id=tracked.run_id if tracked else None
        )
    if tracking_error is not None:
        raise tracking_error
    return TrainResult(
        metrics=metrics,
        threshold=choice,
        model_path=TrainFiles(stage_dir(config.artifacts_dir, "train")).model_path(config.model.type),
        run_id=tracked.run_id if tracked else None,
        model_version=tracked.model_version if tracked else None,
        best_iteration=fitted.detector.best_iteration,
        train_rows=fitted.fit_rows,
        validation_rows=fitted.validation_rows,
        test_rows=int(len(y_test)),
        duration=run.elapsed(),
    )


def _threshold(config: Config, x: np.ndarray, y: np.ndarray, types: list[str]) -> ThresholdChoice:
    """The operating threshold: predict.threshold as given, or from the alert budget (cross-validated)."""
    return choose_threshold(
        lambda xs, ys: fit_detector(config.model, xs, ys, types).detector,
        x,
        y,
        configured=config.predict.threshold,
        budget=config.model.alert_budget,
        folds=config.model.cv_folds,
        seed=config.model.seed,
    )


def _model_info(
    config: Config, transform: TransformFiles, types: list[str], best: int | None, choice: ThresholdChoice
) -> dict[str, Any]:
    """What predict needs besides the model file, and what the model was trained with."""
    return {
        "type": config.model.type,
        "feature_names": transform.feature_names(),
        "feature_types": types,
        "best_iteration": best,
        "threshold": choice.threshold,
        "threshold_choice": asdict(choice),
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
    config: Config,
    files: TrainFiles,
    transform: TransformFiles,
    metrics: dict[str, Any],
    fitted: FitResult,
    choice: ThresholdChoice,
) -> tuple[Any, NetsecError | None]:
    """Log the run; a tracking failure is returned (raised after publishing), not raised here."""
    from netsec_cli.tracking import log_training_run

    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}
    scalars.update({f"oof_{k}": v for k, v in (("recall", choice.oof_recall), ("false_alarm_rate", choice.oof_false_alarm_rate)) if v is not None})
    params: dict[str, Any] = {f"model.{k}": v for k, v in config.model.hyperparameters.items()}
    params.update(
        {
            "model.type": config.model.type,
            "model.early_stopping_rounds": config.model.early_stopping_rounds,
            "model.validation_fraction": config.model.validation_fraction,
            "model.best_iteration": fitted.detector.best_iteration,
            "model.alert_budget": choice.alert_budget,
            "threshold.source": choice.source,
            "train_rows": fitted.fit_rows,
            **{f"transform.{k}": v for k, v in config.transform.model_dump().items()},
        }
    )
    try:
        tracked = log_training_run(
            config,
            params=params,
            metrics=scalars,
            model_files=[files.model_path(config.model.type), files.model_info],
            artifact_files=[files.metrics, transform.preprocessor, transform.schema],
            tags={"netsec.stage": "train"},
        )
    except NetsecError as exc:
        return None, exc
    return tracked, None
