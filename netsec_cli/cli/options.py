"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
SyncOption = Annotated[
    bool,
    typer.Option("--sync", help="Mirror this stage's artifacts to S3 when it finishes (or set aws.sync_after_stage)."),
]
