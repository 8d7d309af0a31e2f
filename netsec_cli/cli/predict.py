"""`netsec predict FILE`: score flows and show the most suspicious ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import (
    EngineOption,
    JsonOption,
    ModelVersionOption,
    SyncOption,
    ThresholdOption,
    WaitOption,
)
from netsec_cli.cli.output import console, emit, key_value_table, rows_table


def _render(result: Any) -> None:
    share = f" ({result.intrusions / result.rows:.1%})" if result.rows else ""
    summary = [
        ("rows", result.rows),
        ("intrusions", f"{result.intrusions}{share}"),
        ("normal", result.normal),
        ("threshold", result.threshold),
        ("model version", result.model_version),
        ("output", result.output),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("predict", summary))
    if result.top:
        header = ["row", "probability", *result.top[0].values, "top features"]
        rows = [
            [str(item.row), f"{item.probability:.4f}", *item.values.values(), item.top_features.replace("; ", "\n")]
            for item in result.top
        ]
        keep = _fitting_values(header, rows, console.width)
        header, rows = header[: 2 + keep] + header[-1:], [row[: 2 + keep] + row[-1:] for row in rows]
        console.print(rows_table("most suspicious rows", header, rows))


def _fitting_values(header: list[str], rows: list[list[str]], width: int) -> int:
    """How many input-value columns fit beside row, probability and top features (one per line)."""

    def column_width(j: int) -> int:
        cells = [header[j], *(row[j] for row in rows)]
        return 3 + max(len(line) for cell in cells for line in cell.splitlines() or [""])

    widths = [column_width(j) for j in range(len(header))]
    keep = len(header) - 3
    while keep > 0 and sum(widths[: 2 + keep]) + widths[-1] + 1 > width:
        keep -= 1
    return keep


def predict(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Argument(metavar="FILE", help="Flows to score: .npy, .csv, .tsv, .txt or .parquet.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Predictions file (.csv, .json or .parquet); default artifacts/predict/predictions.csv."),
    ] = None,
    threshold: ThresholdOption = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add a top_features column: for each intrusion, the three inputs that raised its score most (empty for normal rows).",
        ),
    ] = False,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
    model_version: ModelVersionOption = None,
) -> None:
    """Predict normal (0) or intrusion (-1) for every row of FILE with the champion model (or --model VERSION)."""
    from netsec_cli.stages.predict import run_predict

    config = stage_config(ctx, engine)
    result = run_predict(
        config, input_file, output=output, threshold=threshold, explain=explain, model_version=model_version,
        options=run_options(json_output, sync, wait),
    )
    emit(result, json_output, _render)
