"""`netsec predict FILE`: score flows and show the most suspicious ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options
from netsec_cli.cli.options import JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, rows_table
from netsec_cli.cli.state import get_state


def _render(result: Any) -> None:
    share = f" ({result.intrusions / result.rows:.1%})" if result.rows else ""
    summary = [
        ("rows", result.rows),
        ("intrusions", f"{result.intrusions}{share}"),
        ("normal", result.normal),
        ("threshold", result.threshold),
        ("output", result.output),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("predict", summary))
    if result.top:
        columns = list(result.top[0].values)
        rows = [[item.row, f"{item.probability:.4f}", *item.values.values()] for item in result.top]
        console.print(rows_table("most suspicious rows", ["row", "probability", *columns], rows))


def predict(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Argument(metavar="FILE", help="Flows to score: .npy, .csv, .tsv, .txt or .parquet.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Predictions file (.csv, .json or .parquet); default artifacts/predict/predictions.csv."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Probability at or above which a flow is an intrusion, for this run (default: the one train chose).",
        ),
    ] = None,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Predict normal (0) or intrusion (-1) for every row of FILE with the trained model."""
    from netsec_cli.stages.predict import run_predict

    config = get_state(ctx).config
    result = run_predict(config, input_file, output=output, threshold=threshold, options=run_options(json_output, sync, wait))
    emit(result, json_output, _render)
