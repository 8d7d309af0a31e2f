"""`netsec train`: the detector on the transformed training split, evaluated on the test split.

Reads artifacts/transform; writes artifacts/train/:
  model.ubj        the model in its library's own format (XGBoost UBJSON, or model.cbm for
                   CatBoost; never pickle)
  model_info.json  model type, feature names and types, best iteration, the operating threshold
                   and how it was chosen, the sha256 of the preprocessor it was trained with, and
                   how it was fitted: `engine` (local|dask), `external_memory`,
                   `threshold_sample_rows` (the CV sample's rows above the limit, else null)
  preprocessor.skops, schema.yaml
                   copies of artifacts/transform's, the ones this model was trained with: the
                   model unit predict, evaluate and serve read (artifacts/train only), so a newer
                   transform never changes what the published model scores
  metrics.json     accuracy, precision, recall, F1, false-alarm rate, ROC-AUC, PR-AUC and the
                   confusion matrix on the test split, at the operating threshold
  report.html      the evaluation report of the test split (netsec_cli.report): curves, confusion
                   matrix, feature importance
  tracking.json    the MLflow run id and registered model version (or why tracking failed)
  best_params.yaml the tuned hyperparameters (only when train tuned)
With tracking on, the MLflow run gets the metrics, report and, as its `model/`, the model unit
as a pyfunc model (netsec_cli.tracking), registered as a version of `tracking.registered_model`.

Tuning (`run_train(tune=TuneRequest(...))`, `netsec train --tune`, or `model.optimization.algorithm:
tpe|random`) runs an Optuna study scored by cross-validation on the training split
(netsec_cli.models.tuning) before anything else; its best parameters are used for the threshold's
out-of-fold fits and the final fit. Each trial is a child run of the train run in MLflow; the
study is kept in artifacts/.tuning/ (never published or mirrored) so `--resume` can continue it.

The threshold (`predict.threshold: auto`) comes from the alert budget on out-of-fold scores of
the training split (netsec_cli.models.threshold); the test split is only ever evaluated.

Up to `model.max_in_memory_rows` training rows, X_train is loaded whole. Above it (XGBoost only:
CatBoost trains in memory only, an InputError, exit 2), X_train is opened as a read-only memmap and
never held whole: the final model is fitted on an XGBoost `QuantileDMatrix` built from
`predict.chunk_size`-row chunks (the early-stopping slice likewise, on the same cuts), so memory is
the quantised matrix (about one byte per value) plus one chunk; tuning and the threshold's
out-of-fold fits run on a seeded (`model.seed`) stratified sample of `model.max_in_memory_rows`
training rows, recorded as `threshold_sample_rows`. On small data both paths fit the same model.
The test split is always scored in `predict.chunk_size`-row chunks from its memmap.
With `compute.engine: dask`, the final XGBoost model is fitted by `xgboost.dask` on the cluster of
`netsec_cli.compute.open_engine` (netsec_cli.models.xgboost_dask; chunks scattered from here), the
threshold and tuning still here on the same rows as the local engine; the booster is saved as a
local one is. A worker leaving mid-training is a ServiceError (exit 4) naming the scheduler.
CatBoost has no Dask path and is fitted here. See netsec_cli.stages.train_data.
If MLflow fails the folder is still published (the new model is usable) and a ServiceError
(exit 4) is raised afterwards. A failure before publishing leaves the previous model in place.
A model no better than chance on its early-stopping (validation) slice - ROC-AUC at most
`CHANCE_ROC_AUC` (0.55), e.g. from `n_estimators: 0` or hyperparameters that allow no split - is
refused (InputError, exit 2) before anything is published or logged to MLflow.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    TrainFiles,
    TransformFiles,
    open_stage,
    stage_dir,
    tuning_storage,
    write_json_atomic,
    write_text_atomic,
)
from netsec_cli.errors import InputError, NetsecError
from netsec_cli.models import (
    FitResult,
    ThresholdChoice,
    TrialRecord,
    TuneRequest,
    TuningSummary,
    binary_metrics,
    choose_threshold,
    fit_detector,
    tune,
    tuning_plan,
)
from netsec_cli.models.rows import score_in_chunks
from netsec_cli.report import ReportData, named_importance, write_report
from netsec_cli.runner import RunOptions, run_stage, unchanged
from netsec_cli.stages.registry import register as register_version
from netsec_cli.stages.train_data import cv_rows, fit_final, training_data

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from netsec_cli.config import Config
    from netsec_cli.models.tuning import TuningPlan
    from netsec_cli.progress import Progress
    from netsec_cli.tracking import TrainingRun

__all__ = ["CHANCE_ROC_AUC", "TrainResult", "TuneRequest", "run_train"]

CHANCE_ROC_AUC = 0.55  # a validation ROC-AUC at or below this is no better than chance (0.5) plus a margin


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
    tuning: TuningSummary = field(default_factory=TuningSummary)
    engine: str = "local"  # where the final model was fitted: "local" or "dask"
    external_memory: bool = False  # fitted from chunks of the memory-mapped training split
    threshold_sample_rows: int | None = None  # the CV sample's rows, when the training split is larger
    registry_version: str | None = None  # the model's version in artifacts/models
    champion: str | None = None  # the registry's champion afterwards
    skipped: bool = False  # unchanged inputs: the published folder's recorded result (`runner.unchanged`)


def run_train(
    config: Config,
    *,
    tune: TuneRequest | None = None,
    promote: bool = True,
    register: bool = True,
    options: RunOptions = RunOptions(),
) -> TrainResult:
    """Tune (when `tune` or `model.optimization.algorithm` asks), choose the threshold, fit, evaluate,
    log the run to MLflow (if enabled) and publish artifacts/train.

    A tracking failure is raised (exit 4) only after the new model is published. Skipped, returning
    the published result, when nothing it reads changed (`runner.unchanged`; never with `resume`)."""
    recorded = None if tune is not None and tune.resume else unchanged(config, "train", options, {"tune": tune})
    if recorded is not None:
        return TrainResult(**_recorded(recorded.result), model_path=_model_path(config), duration=recorded.seconds, skipped=True)
    tracked, tracking_error = None, None
    plan = tuning_plan(config.model.optimization, tune)
    inputs = {"type": config.model.type, "hyperparameters": config.model.parameters}
    stage = run_stage(config, "train", options, fingerprint={"tune": tune}, **inputs)
    with stage as run, _tracker(config) as mlflow_run, contextlib.ExitStack() as later:
        transform = open_stage(config.artifacts_dir, "transform", "train")
        data = training_data(config, transform)
        types = data.types
        x_cv, y_cv = cv_rows(config, data)
        tuning = _tune(config, plan, x_cv, y_cv, types, options.progress, mlflow_run)
        params = {**config.model.parameters, **tuning.best_params}
        bar = later.enter_context(options.progress.task("train", total=3))
        choice = _threshold(config, x_cv, y_cv, types, params)
        del x_cv, y_cv
        bar.advance()
        fitted, engine = fit_final(config, data, params)
        _refuse_chance(config, fitted)
        y_test = transform.load_array("y_test")
        probability = score_in_chunks(fitted.detector.predict_proba, transform.load_array("X_test", mmap=True), config.predict.chunk_size)
        metrics = binary_metrics(y_test, probability, choice.threshold)
        bar.advance()
        files = TrainFiles(run.folder)
        files.keep_preprocessor(transform)
        fitted.detector.save(files.model_path(config.model.type))
        info = _model_info(config, transform, types, fitted.detector.best_iteration, choice, params, tuning)
        info.update(engine=engine, external_memory=data.external, threshold_sample_rows=data.sample_rows)
        write_json_atomic(files.model_info, info)
        if tuning.tuned:
            write_text_atomic(files.best_params, _yaml(tuning.best_params))
        write_json_atomic(files.metrics, metrics)
        write_report(files.report, _report(config, transform, y_test, probability, metrics, fitted))
        data_sha256 = _write_reference(config, transform, files)
        if mlflow_run is not None:
            facts = {"train.engine": engine, "train.external_memory": data.external, "threshold_sample_rows": data.sample_rows}
            tracked, tracking_error = _track(config, mlflow_run, files, metrics, fitted, choice, params, tuning, facts)
        write_json_atomic(files.tracking, _tracking_record(config, tracked, tracking_error))
        bar.advance()
        run.summary.update(
            threshold=choice.threshold, accuracy=metrics["accuracy"], f1=metrics["f1"], run_id=tracked.run_id if tracked else None
        )
        if tuning.tuned:
            run.summary.update(trials=tuning.trials, **{f"cv_{tuning.metric}": tuning.best_score})
        reported: dict[str, Any] = {
            "metrics": metrics, "threshold": choice, "run_id": tracked.run_id if tracked else None,
            "model_version": tracked.model_version if tracked else None, "best_iteration": fitted.detector.best_iteration,
            "train_rows": fitted.fit_rows, "validation_rows": fitted.validation_rows, "test_rows": int(len(y_test)),
            "tuning": tuning, "engine": engine, "external_memory": data.external, "threshold_sample_rows": data.sample_rows,
        }
        run.record = reported
    published = TrainFiles(stage_dir(config.artifacts_dir, "train"))
    change = register_version(config, published, source="train", promote=promote, data_sha256=data_sha256, options=options) if register else None
    if tracking_error is not None:
        raise tracking_error
    return TrainResult(
        **reported, model_path=_model_path(config), duration=run.elapsed(), registry_version=change.version if change else None,
        champion=change.champion if change else None,
    )


def _model_path(config: Config) -> Path:
    """Where artifacts/train holds the model of `model.type`."""
    return TrainFiles(stage_dir(config.artifacts_dir, "train")).model_path(config.model.type)


def _recorded(facts: dict[str, Any]) -> dict[str, Any]:
    """The result fields train recorded in fingerprint.json, with their dataclasses rebuilt."""
    return {**facts, "threshold": ThresholdChoice(**facts["threshold"]), "tuning": TuningSummary(**facts["tuning"])}


def _write_reference(config: Config, transform: TransformFiles, files: TrainFiles) -> str | None:
    """The drift reference of artifacts/etl's training split (the rows transform fitted on) into
    `files`; returns that split's sha256 (the model's data identity)."""
    from netsec_cli.compute import open_engine
    from netsec_cli.stages.drift_reference import write_reference

    etl = open_stage(config.artifacts_dir, "etl", "train")
    with open_engine(config) as engine:
        write_reference(config, transform.load_schema(), etl.train, files, engine)
    entry = etl.manifest().entry(etl.train.name)
    return entry.sha256 if entry is not None else None


def _refuse_chance(config: Config, fitted: FitResult) -> None:
    """InputError (exit 2) when the model is no better than chance on its validation slice."""
    auc = fitted.validation_roc_auc
    if auc is not None and auc <= CHANCE_ROC_AUC:
        where = "model.catboost" if config.model.type == "catboost" else "model.hyperparameters"
        raise InputError(
            f"the trained model is no better than chance on its validation slice (ROC-AUC {auc:.2f}); the previous model is kept",
            hint=f"check {where}",
        )


@contextlib.contextmanager
def _tracker(config: Config) -> Iterator[TrainingRun | None]:
    """The MLflow run of this train (its tuning trials are children), or None when tracking is off;
    the stored MLFLOW_TRACKING_* credentials are in the environment for the run only."""
    if not config.tracking.enabled:
        yield None
        return
    from netsec_cli.secrets.runtime import mlflow_environment
    from netsec_cli.tracking import training_run

    with mlflow_environment(config), training_run(config, tags={"netsec.stage": "train"}) as run:
        yield run


def _tune(
    config: Config,
    plan: TuningPlan | None,
    x: np.ndarray,
    y: np.ndarray,
    types: list[str],
    progress: Progress,
    mlflow_run: TrainingRun | None,
) -> TuningSummary:
    """The study's best parameters and scores on the training split, or an untuned summary."""
    if plan is None:
        return TuningSummary()
    storage = tuning_storage(config.artifacts_dir)
    on_trial = _trial_logger(mlflow_run, plan.metric)
    return tune(config.model, x, y, types, plan=plan, storage=storage, progress=progress, on_trial=on_trial)


def _trial_logger(mlflow_run: TrainingRun | None, metric: str) -> Any:
    """The per-trial callback: each tuning trial as a child run of the train run."""
    if mlflow_run is None:
        return None

    def log_trial(trial: TrialRecord) -> None:
        params: dict[str, Any] = {f"model.{k}": v for k, v in trial.params.items()}
        params["best_iterations"] = trial.best_iterations
        metrics = {f"cv_{metric}": trial.score, "trial_seconds": trial.seconds}
        metrics.update({f"cv_{metric}_fold{i}": score for i, score in enumerate(trial.fold_scores)})
        tags = {"netsec.stage": "train-trial", "netsec.trial_state": trial.state}
        logged = {k: v for k, v in metrics.items() if v is not None}
        mlflow_run.log_child(f"trial-{trial.number}", params=params, metrics=logged, tags=tags)

    return log_trial


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=True))


def _threshold(config: Config, x: np.ndarray, y: np.ndarray, types: list[str], params: dict[str, Any]) -> ThresholdChoice:
    """The operating threshold: predict.threshold as given, or from the alert budget (cross-validated)."""
    return choose_threshold(
        lambda xs, ys: fit_detector(config.model, xs, ys, types, params).detector,
        x,
        y,
        configured=config.predict.threshold,
        budget=config.model.alert_budget,
        folds=config.model.cv_folds,
        seed=config.model.seed,
    )


def _model_info(
    config: Config,
    transform: TransformFiles,
    types: list[str],
    best: int | None,
    choice: ThresholdChoice,
    params: dict[str, Any],
    tuning: TuningSummary,
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
        "hyperparameters": params,
        "tuning": asdict(tuning),
    }


def _report(
    config: Config, transform: TransformFiles, y_test: np.ndarray, probability: np.ndarray, metrics: dict[str, Any], fitted: FitResult
) -> ReportData:
    """report.html: the test split's evaluation (no attack names here: `netsec evaluate` has them)."""
    facts = [("data", "the test split of artifacts/etl"), ("model", config.model.type), ("threshold", f"{metrics['threshold']:.4g}")]
    note = "Detection per attack and per category: run `netsec evaluate FILE --report report.html` on a labelled file."
    importance = named_importance(transform.feature_names(), fitted.detector.importance())
    return ReportData("netsec train: test split", facts, y_test, probability, metrics, importance, note=note)


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
    mlflow_run: TrainingRun,
    files: TrainFiles,
    metrics: dict[str, Any],
    fitted: FitResult,
    choice: ThresholdChoice,
    hyperparameters: dict[str, Any],
    tuning: TuningSummary,
    facts: dict[str, Any],
) -> tuple[Any, NetsecError | None]:
    """Log the run; a tracking failure is returned (raised after publishing), not raised here."""
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}
    scalars.update({f"oof_{k}": v for k, v in (("recall", choice.oof_recall), ("false_alarm_rate", choice.oof_false_alarm_rate)) if v is not None})
    params: dict[str, Any] = {f"model.{k}": v for k, v in hyperparameters.items()}
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
            "tuning.tuned": tuning.tuned,
            **facts,
        }
    )
    if tuning.tuned:
        keys = ("algorithm", "metric", "folds", "trials", "study_trials", "study")
        params.update({f"tuning.{k}": getattr(tuning, k) for k in keys})
        scalars.update({f"cv_{tuning.metric}": tuning.best_score, "tuning_seconds": tuning.seconds})
    try:
        tracked = mlflow_run.finish(
            params=params,
            metrics=scalars,
            model_files=files.unit_files(config.model.type),
            artifact_files=[files.metrics, files.report] + ([files.best_params] if tuning.tuned else []),
        )
    except NetsecError as exc:
        return None, exc
    return tracked, None
