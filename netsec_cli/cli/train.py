"""`netsec train`: XGBoost with early stopping, test-split metrics, MLflow run and model version."""

from __future__ import annotations

from typing import Any

import typer

from netsec_cli.cli.common import run_options
from netsec_cli.cli.options import JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table
from netsec_cli.cli.state import get_state


def _render(result: Any) -> None:
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
        ("model version", result.model_version or "-"),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("train", rows))


def train(
    ctx: typer.Context, json_output: JsonOption = False, sync: SyncOption = False, wait: WaitOption = 0.0
) -> None:
    """Train the detector, choose its threshold from the alert budget, evaluate it and log it to MLflow."""
    from netsec_cli.stages.train import run_train

    config = get_state(ctx).config
    result = run_train(config, options=run_options(json_output, sync, wait))
    emit(result, json_output, _render)
