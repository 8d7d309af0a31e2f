"""`netsec etl load FILE`: push a flow file into the configured MongoDB collection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netsec_cli.cli.common import run_options
from netsec_cli.cli.options import JsonOption
from netsec_cli.cli.output import console, emit, key_value_table
from netsec_cli.cli.state import get_state

if TYPE_CHECKING:
    from netsec_cli.stages.etl_load import LoadResult


def _render(result: LoadResult) -> None:
    console.print(
        key_value_table(
            f"etl load → {result.collection} on {result.host}",
            [
                ("file", result.file),
                ("rows in file", result.rows),
                ("inserted", result.inserted),
                ("already present", result.already_present),
                ("rejected", result.rejected),
                ("documents in collection", result.documents),
            ],
        )
    )


def load(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="Flow file: .csv, .tsv, .txt (NSL-KDD, header-less) or .parquet.", show_default=False),
    ],
    json_output: JsonOption = False,
) -> None:
    """Insert FILE into the MongoDB collection from config (URI in MONGODB_URI); re-loading is a no-op."""
    from netsec_cli.stages.etl_load import load_file

    config = get_state(ctx).config
    result = load_file(config, file, options=run_options(json_output))
    emit(result, json_output, _render)
