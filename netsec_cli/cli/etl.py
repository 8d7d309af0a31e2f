"""`netsec etl`: read a source, split it, write artifacts/etl (and `netsec etl load` to fill MongoDB)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netsec_cli.cli import etl_load
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
from netsec_cli.cli.output import console, emit, key_value_table, skipped_line, warning_line

if TYPE_CHECKING:
    from netsec_cli.stages.etl import EtlResult

app = typer.Typer(
    help="Read flows, split train/test and write artifacts/etl. `netsec etl load FILE` fills MongoDB.",
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def etl(
    ctx: typer.Context,
    source: SourceOption = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="Schema YAML naming and typing the columns (default: data.schema).")
    ] = None,
    target: TargetOption = None,
    normal_value: NormalValueOption = None,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    force: ForceOption = False,
) -> None:
    """Read flows, split them into train and test, write artifacts/etl (exit 2 on bad input)."""
    if ctx.invoked_subcommand:
        return
    from netsec_cli.stages.etl import run_etl

    config = stage_config(ctx, engine)
    result = run_etl(
        config,
        source=source,
        schema_path=schema,
        target=target,
        normal_value=normal_value,
        options=run_options(json_output, sync, wait, force),
    )
    emit(result, json_output, _render)


def _render(result: EtlResult) -> None:
    skipped_line("etl", result)
    rows = [
        ("source", result.source),
        ("schema", result.schema_origin),
        ("target", result.target),
        ("rows", f"{result.rows:,}"),
        ("split", f"{result.train_rows:,} train / {result.test_rows:,} test"),
        ("intrusion share", f"{result.intrusion_share:.1%}"),
        ("columns", result.columns),
        *((name, path) for name, path in result.outputs.items()),
        ("duration", f"{result.duration_s:.2f}s"),
    ]
    console.print(key_value_table("etl", rows))
    for warning in result.warnings:
        warning_line(warning)


app.command("load")(etl_load.load)
