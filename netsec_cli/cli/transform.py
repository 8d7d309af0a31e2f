"""`netsec transform`: fit the preprocessor on the training split and transform both splits."""

from __future__ import annotations

from typing import Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import EngineOption, ForceOption, JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, skipped_line


def _render(result: Any) -> None:
    skipped_line("transform", result)
    rows = [
        ("train rows", result.train_rows),
        ("test rows", result.test_rows),
        ("features in → out", f"{result.input_features} → {result.output_features}"),
        ("SMOTE rows added", result.smote_added),
        ("intrusion share (train)", result.intrusion_share_train),
        ("output", result.output_dir),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("transform", rows))


def transform(
    ctx: typer.Context,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    force: ForceOption = False,
) -> None:
    """Impute, scale and encode categories of the ETL split (fitted on train only); optional SMOTE."""
    from netsec_cli.stages.transform import run_transform

    config = stage_config(ctx, engine)
    result = run_transform(config, options=run_options(json_output, sync, wait, force))
    emit(result, json_output, _render)
