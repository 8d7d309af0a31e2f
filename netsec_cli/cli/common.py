"""Helpers shared by stage commands: how a stage runs (progress bars, S3 mirror, lock wait)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from netsec_cli.progress import Progress, RichProgress

if TYPE_CHECKING:
    import typer

    from netsec_cli.cli.options import EngineChoice
    from netsec_cli.config import Config
    from netsec_cli.runner import RunOptions


def progress_for(json_output: bool = False) -> Progress:
    """Rich bars on an interactive stderr; nothing under --json, cron or CI pipes."""
    return RichProgress(enabled=sys.stderr.isatty() and not json_output)


def run_options(json_output: bool = False, sync: bool = False, wait: float = 0.0, force: bool = False) -> RunOptions:
    """The RunOptions of a stage command from its --json, --sync, --wait and --force options."""
    from netsec_cli.runner import RunOptions

    return RunOptions(progress=progress_for(json_output), sync=sync, lock_wait=wait, force=force)


def stage_config(ctx: typer.Context, engine: EngineChoice | None = None) -> Config:
    """The command's config, with `--engine` (when given) as its `compute.engine`."""
    from netsec_cli.cli.state import get_state

    config = get_state(ctx).config
    if engine is not None:
        config.compute.engine = engine.value
    return config
