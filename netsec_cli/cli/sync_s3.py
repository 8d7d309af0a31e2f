"""`netsec sync-s3`: mirror the artifacts to S3 (push) or restore them (`--pull`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from netsec_cli.cli.common import run_options
from netsec_cli.cli.options import JsonOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, rows_table
from netsec_cli.cli.state import get_state

if TYPE_CHECKING:
    from netsec_cli.runner.mirror import SyncResult

MAX_ROWS = 50


def sync_s3(
    ctx: typer.Context,
    pull: Annotated[bool, typer.Option("--pull", help="Restore the folders from S3 instead of pushing them.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would move; change nothing.")] = False,
    delete: Annotated[
        bool,
        typer.Option("--delete", help="Also remove remote files deleted locally (push), or local files not on S3 (pull)."),
    ] = False,
    create_bucket: Annotated[
        bool, typer.Option("--create-bucket", help="Create aws.bucket_name first if it does not exist.")
    ] = False,
    json_output: JsonOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Mirror aws.sync_folders (default: artifacts/) to s3://<aws.bucket_name>/<aws.prefix>/, incrementally."""
    from netsec_cli.stages.sync_s3 import sync

    config = get_state(ctx).config
    result = sync(
        config,
        pull=pull,
        dry_run=dry_run,
        delete=delete,
        create_bucket=create_bucket,
        options=run_options(json_output, wait=wait),
    )
    emit(result, json_output, _render)


def _render(result: SyncResult) -> None:
    verb = "would move" if result.dry_run else "moved"
    rows = [
        ("direction", result.direction + (" (dry run)" if result.dry_run else "")),
        ("remote", f"s3://{result.bucket}/{result.prefix}"),
        ("endpoint", result.endpoint),
        ("uploaded", result.uploaded),
        ("downloaded", result.downloaded),
        ("deleted", result.deleted),
        ("unchanged", result.unchanged),
        ("bytes " + verb, f"{result.bytes:,}"),
        ("duration", f"{result.duration_seconds:.2f}s"),
    ]
    if result.bucket_created:
        rows.insert(2, ("bucket", "created"))
    if result.skipped:
        rows.insert(-2, ("skipped (symlinks)", result.skipped))
    console.print(key_value_table("sync-s3", rows))
    if result.dry_run and result.actions:
        from netsec_cli.cloud.paths import printable

        shown = [(a.action, printable(a.key), printable(a.path), a.size) for a in result.actions[:MAX_ROWS]]
        table = rows_table("planned actions", ["action", "key", "local path", "bytes"], shown)
        console.print(table)
        if len(result.actions) > MAX_ROWS:
            console.print(f"... and {len(result.actions) - MAX_ROWS} more (use --json for the full list)", markup=False)
    elif result.dry_run:
        console.print("nothing to do: the remote copy is up to date", markup=False)
