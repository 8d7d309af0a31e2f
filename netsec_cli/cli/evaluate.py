"""`netsec evaluate FILE`: detection quality of the trained model on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import EngineOption, JsonOption, ModelVersionOption, ThresholdOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, rows_table


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _render(result: Any) -> None:
    m = result.metrics
    matrix = m["confusion_matrix"]
    rows = [
        ("rows", f"{result.rows}" + (f" ({result.unlabelled} without a label left out)" if result.unlabelled else "")),
        ("target", f"{result.target} (normal = {result.normal_value})"),
        ("threshold", f"{result.threshold:.4g}"),
        ("model version", result.model_version),
        ("accuracy", _pct(m["accuracy"])),
        ("detection rate (recall)", _pct(m["recall"])),
        ("false-alarm rate", _pct(m["false_alarm_rate"])),
        ("precision", _pct(m["precision"])),
        ("F1", f"{m['f1']:.4f}"),
        ("ROC-AUC / PR-AUC", f"{m['roc_auc']} / {m['pr_auc']}"),
        ("confusion (tn fp / fn tp)", f"{matrix['tn']} {matrix['fp']} / {matrix['fn']} {matrix['tp']}"),
        ("report", result.report or "-"),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("evaluate", rows))
    if result.categories:
        lines = [[row.name, row.rows, row.detected, _pct(row.detection_rate)] for row in result.categories]
        console.print(rows_table("detection per category", ["category", "rows", "detected", "detection rate"], lines))
    if result.attacks:
        lines = [[row.name, row.category or "-", row.rows, row.detected, _pct(row.detection_rate)] for row in result.attacks]
        console.print(rows_table("detection per attack", ["attack", "category", "rows", "detected", "detection rate"], lines))


def evaluate(
    ctx: typer.Context,
    input_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Labelled flows: .npy, .csv, .tsv, .txt (NSL-KDD) or .parquet.")
    ],
    report: Annotated[
        Path | None,
        typer.Option("--report", "-r", help="Write a self-contained HTML report (charts, per-attack table) to this .html file."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Column holding the true labels (default: the model's target).")
    ] = None,
    normal_value: Annotated[
        str | None,
        typer.Option("--normal-value", help="Label meaning normal traffic (default: the model's, e.g. normal)."),
    ] = None,
    threshold: ThresholdOption = None,
    json_output: JsonOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    model_version: ModelVersionOption = None,
) -> None:
    """Score a labelled FILE with the trained model and report detection quality."""
    from netsec_cli.stages.evaluate import run_evaluate

    config = stage_config(ctx, engine)
    result = run_evaluate(
        config,
        input_file,
        report=report,
        target=target,
        normal_value=normal_value,
        threshold=threshold,
        model_version=model_version,
        options=run_options(json_output, wait=wait),
    )
    emit(result, json_output, _render)
