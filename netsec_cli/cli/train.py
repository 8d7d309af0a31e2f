"""`netsec train`: XGBoost with early stopping, test-split metrics, MLflow run and model version;
`--tune` first runs a hyperparameter study cross-validated on the training split."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import EngineOption, ForceOption, JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, skipped_line
from netsec_cli.errors import InputError

TuneOption = Annotated[
    bool,
    typer.Option("--tune", help="Tune the hyperparameters first (Optuna, model.optimization; TPE unless it says random)."),
]
TrialsOption = Annotated[
    int | None,
    typer.Option("--trials", metavar="N", help="Tuning trials to run (default model.optimization.n_trials); implies --tune."),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", metavar="S", help="Start no new trial after S seconds (default model.optimization.timeout); implies --tune."
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option("--resume", help="Add the trials to the last study of the same data instead of a fresh one; implies --tune."),
]


def _render(result: Any) -> None:
    skipped_line("train", result)
    metrics = result.metrics
    matrix = metrics["confusion_matrix"]
    choice = result.threshold
    how = (
        f"alert budget {choice.alert_budget:.1%} of normal traffic, {choice.folds}-fold out-of-fold: "
        f"detection {choice.oof_recall:.1%}, false alarms {choice.oof_false_alarm_rate:.1%}"
        if choice.source == "alert_budget"
        else "predict.threshold in config"
    )
    rows = [
        ("threshold", f"{choice.threshold:.4g} ({how})"),
        ("accuracy", metrics["accuracy"]),
        ("precision", metrics["precision"]),
        ("recall (detection rate)", metrics["recall"]),
        ("false-alarm rate", metrics["false_alarm_rate"]),
        ("F1", metrics["f1"]),
        ("ROC-AUC / PR-AUC", f"{metrics['roc_auc']} / {metrics['pr_auc']}"),
        ("confusion (tn fp / fn tp)", f"{matrix['tn']} {matrix['fp']} / {matrix['fn']} {matrix['tp']}"),
        ("best iteration", result.best_iteration),
        ("rows (fit / validation / test)", f"{result.train_rows} / {result.validation_rows} / {result.test_rows}"),
        ("model", result.model_path),
        ("MLflow run", result.run_id or "tracking disabled"),
        ("MLflow model version", result.model_version or "-"),
        ("registry version", f"{result.registry_version} (champion: {result.champion})"),
        ("duration", f"{result.duration:.2f}s"),
    ]
    if result.tuning.tuned:
        rows[-1:-1] = _tuning_rows(result.tuning)
    console.print(key_value_table("train", rows))


def _tuning_rows(tuning: Any) -> list[tuple[str, Any]]:
    trials = f"{tuning.trials} trials ({tuning.pruned} pruned; {tuning.study_trials} in the study)"
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in tuning.best_params.items())
    return [
        ("tuning", f"{tuning.algorithm}, {trials}, {tuning.seconds:.1f}s"),
        (f"best CV {tuning.metric}", f"{tuning.best_score} ({tuning.folds}-fold on the training split)"),
        ("best parameters", params),
    ]


def _tune_request(tune: bool, trials: int | None, timeout: float | None, resume: bool) -> Any:
    """The stage's TuneRequest, or None when no tuning option was given (the config decides)."""
    from netsec_cli.stages.train import TuneRequest

    if trials is not None and trials < 1:
        raise InputError(f"--trials must be at least 1, got {trials}")
    if timeout is not None and timeout <= 0:
        raise InputError(f"--timeout must be more than 0 seconds, got {timeout:g}")
    if not (tune or resume or trials is not None or timeout is not None):
        return None
    return TuneRequest(trials=trials, timeout=timeout, resume=resume)


def train(
    ctx: typer.Context,
    tune: TuneOption = False,
    trials: TrialsOption = None,
    timeout: TimeoutOption = None,
    resume: ResumeOption = False,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    challenger: Annotated[
        bool,
        typer.Option("--challenger", help="Register the model as challenger only; the champion keeps serving (`netsec models promote`)."),
    ] = False,
    force: ForceOption = False,
) -> None:
    """Train the detector (tuning it first with --tune), choose its threshold from the alert budget,
    evaluate it, log it to MLflow and register it as a model version (the new champion unless --challenger)."""
    from netsec_cli.stages.train import run_train

    request = _tune_request(tune, trials, timeout, resume)
    config = stage_config(ctx, engine)
    result = run_train(config, tune=request, promote=not challenger, options=run_options(json_output, sync, wait, force))
    emit(result, json_output, _render)
