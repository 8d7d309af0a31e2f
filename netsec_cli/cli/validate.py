"""`netsec validate`: schema and drift checks on the ETL splits; exit 3 when they fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import EngineOption, ForceOption, JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, rows_table, skipped_line

if TYPE_CHECKING:
    from netsec_cli.stages.validate import ValidateResult


def validate(
    ctx: typer.Context,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    force: ForceOption = False,
) -> None:
    """Check train/test against the schema and for drift; write artifacts/validate/report.json and report.html (exit 3 on failure)."""
    from netsec_cli.stages.validate import run_validate, validation_error

    config = stage_config(ctx, engine)
    result = run_validate(config, options=run_options(json_output, sync, wait, force))
    emit(result, json_output, render_validation)
    if not result.passed:
        raise validation_error(result)


def render_validation(result: ValidateResult) -> None:
    skipped_line("validate", result)
    if result.failures:
        rows = [(f["column"], f["check"], f["detail"]) for f in result.failures]
        console.print(rows_table("failing columns", ("column", "check", "detail"), rows))
    if result.warnings:
        rows = [(w["column"], w["check"], w["detail"]) for w in result.warnings]
        console.print(rows_table("warnings", ("column", "check", "detail"), rows))
    summary = [
        ("result", "passed" if result.passed else "FAILED"),
        ("schema", "ok" if result.schema_ok else "failed"),
        ("rows", f"{result.train_rows:,} train / {result.test_rows:,} test"),
        ("drifted columns", f"{len(result.drifted_columns)} of {result.columns_tested} ({result.drift_share:.1%})"),
        ("data set drifted", "yes" if result.drifted else "no"),
        ("retrain recommended", "yes" if result.retrain_recommended else "no"),
        ("report", result.report_path),
        ("drift page", result.report_html or "-"),
    ]
    console.print(key_value_table("validate", summary))
