"""Options shared by several commands, declared once."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class EngineChoice(str, Enum):
    """Where a stage runs its per-chunk work (`compute.engine`)."""

    local = "local"
    dask = "dask"


JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
SyncOption = Annotated[
    bool,
    typer.Option("--sync", help="Mirror this stage's artifacts to S3 when it finishes (or set aws.sync_after_stage)."),
]
SourceOption = Annotated[
    str | None,
    typer.Option("--source", "-s", help="synthetic | mongo | a .csv/.tsv/.txt/.parquet file (default: data.source)."),
]
TargetOption = Annotated[str | None, typer.Option("--target", help="Target column (default: data.target).")]
NormalValueOption = Annotated[
    str | None, typer.Option("--normal-value", help="Target value meaning normal traffic, e.g. normal or 1.")
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Run even when nothing the stage reads changed since it last ran (else it is skipped)."),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="Wait up to SECONDS for another netsec run to release the artifacts lock (default 0: exit 5 at once).",
    ),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        min=0.0,
        max=1.0,
        help="Probability at or above which a flow is an intrusion, for this run (default: the one train chose).",
    ),
]
EngineOption = Annotated[
    EngineChoice | None,
    typer.Option(
        "--engine",
        case_sensitive=False,
        help="local: this process; dask: a Dask cluster (compute.scheduler_address, or a LocalCluster). Default: compute.engine.",
    ),
]
ModelVersionOption = Annotated[
    str | None,
    typer.Option("--model", metavar="VERSION", help="Score with this registered model version (default: the champion; see `netsec models list`)."),
]
