"""`netsec run`: every stage in order (etl → validate → transform → train)."""

from __future__ import annotations

from typing import Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import (
    EngineOption,
    ForceOption,
    JsonOption,
    NormalValueOption,
    SourceOption,
    SyncOption,
    TargetOption,
    WaitOption,
)
from netsec_cli.cli.output import console, emit, key_value_table
from netsec_cli.cli.validate import render_validation
from netsec_cli.errors import ValidationFailed


def _render(result: Any) -> None:
    metrics = result.train.metrics
    rows = [
        *((name, "skipped (unchanged)" if status == "skipped" else "ran") for name, status in result.stages.items()),
        ("source", result.etl.source),
        ("rows (train / test)", f"{result.etl.train_rows} / {result.etl.test_rows}"),
        ("validation", "passed" if result.validate.passed else "FAILED"),
        ("features", result.transform.output_features),
        ("accuracy / F1", f"{metrics['accuracy']:.4f} / {metrics['f1']:.4f}"),
        ("ROC-AUC", metrics["roc_auc"]),
        ("model", result.train.model_path),
        ("MLflow run", result.train.run_id or "tracking disabled"),
        ("model version", result.train.model_version or "-"),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("run", rows))


def run(
    ctx: typer.Context,
    source: SourceOption = None,
    target: TargetOption = None,
    normal_value: NormalValueOption = None,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    force: ForceOption = False,
) -> None:
    """Run etl, validate, transform and train in order; stop at the first failure with its exit code."""
    from netsec_cli.stages.run import run_pipeline

    config = stage_config(ctx, engine)
    try:
        options = run_options(json_output, sync, wait, force)
        result = run_pipeline(config, source=source, target=target, normal_value=normal_value, options=options)
    except ValidationFailed as failed:
        if failed.result is not None:
            emit(failed.result, json_output, render_validation)
        raise
    emit(result, json_output, _render)
