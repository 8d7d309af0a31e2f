"""The sync-s3 stage: mirror the configured folders to `s3://<aws.bucket_name>/<aws.prefix>/` and back.

`sync` pushes (or, with `pull=True`, restores) every `aws.sync_folders` entry under the stage
lifecycle (the artifacts lock, unless it is a dry run). Connecting and the transfer itself live
in `netsec_cli.runner.mirror` (which also mirrors one stage after it publishes) and
`netsec_cli.cloud`. With an `s3://` artifacts root there is nothing to mirror (every stage pulls
from and pushes to that root itself), so `sync` refuses with exit 2.
"""

from __future__ import annotations

from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.runner import RunOptions, run_stage
from netsec_cli.runner.mirror import SyncResult, folder_map, sync_folders

__all__ = ["SyncResult", "sync"]


def sync(
    config: Config,
    *,
    pull: bool = False,
    dry_run: bool = False,
    delete: bool = False,
    create_bucket: bool = False,
    options: RunOptions = RunOptions(),
) -> SyncResult:
    """Push the `aws.sync_folders` to S3, or with `pull` restore them from S3."""
    remote = config.artifacts_remote
    if remote is not None:
        raise InputError(
            f"paths.artifacts is already the S3 location {remote.url}: every stage pulls from and pushes to it,"
            " so sync-s3 has nothing to mirror",
            hint="set paths.artifacts to a local folder to mirror it with sync-s3",
        )
    folders = [folder_map(config, folder) for folder in config.aws.sync_folders]
    direction = "pull" if pull else "push"
    with run_stage(config, "sync_s3", options, publishes=False, locks=not dry_run, direction=direction, dry_run=dry_run) as run:
        result = sync_folders(
            config,
            folders,
            direction=direction,
            dry_run=dry_run,
            delete=delete,
            create_bucket=create_bucket,
            progress=options.progress,
        )
        run.summary.update(
            bucket=result.bucket,
            uploaded=result.uploaded,
            downloaded=result.downloaded,
            deleted=result.deleted,
            unchanged=result.unchanged,
        )
    return result
