"""Helpers shared by stage commands: the progress reporter and the optional S3 mirror."""

from __future__ import annotations

import sys

import typer

from netsec_cli.cli.state import get_state
from netsec_cli.progress import Progress, RichProgress


def progress_for(json_output: bool = False) -> Progress:
    """Rich bars on an interactive stderr; nothing under --json, cron or CI pipes."""
    return RichProgress(enabled=sys.stderr.isatty() and not json_output)


def after_stage(ctx: typer.Context, stage: str, sync: bool) -> None:
    """Mirror `artifacts/<stage>` to S3 when `--sync` or `aws.sync_after_stage` asks for it."""
    config = get_state(ctx).config
    if not (sync or config.aws.sync_after_stage):
        return
    from netsec_cli.stages.sync_s3 import sync_stage_outputs

    sync_stage_outputs(config, stage)
