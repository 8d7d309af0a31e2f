"""The sync-s3 stage: mirror the configured folders to `s3://<aws.bucket_name>/<aws.prefix>/` and back.

`sync` pushes (or, with `pull=True`, restores) every `aws.sync_folders` entry;
`sync_stage_outputs` pushes one stage folder after that stage finishes (`--sync` or
`aws.sync_after_stage`). The transfer work lives in `netsec_cli.cloud.s3`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from netsec_cli.artifacts import STAGES, pipeline_lock
from netsec_cli.cloud import s3
from netsec_cli.cloud.s3 import Action, FolderMap, Mirror, Outcome, validate_bucket_name
from netsec_cli.cloud.session import s3_client
from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.logging_setup import stage_log
from netsec_cli.progress import NO_PROGRESS, Progress


@dataclass
class SyncResult:
    """What one sync did (or, with dry_run, would do)."""

    direction: Literal["push", "pull"]
    bucket: str
    prefix: str
    endpoint: str
    dry_run: bool
    uploaded: int = 0
    downloaded: int = 0
    deleted: int = 0
    unchanged: int = 0
    bytes: int = 0
    bucket_created: bool = False
    requests: dict[str, int] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    duration_seconds: float = 0.0


def open_mirror(config: Config) -> Mirror:
    """Validate `aws.bucket_name` locally and connect to the configured endpoint."""
    bucket = config.aws.bucket_name
    if not bucket:
        raise InputError("aws.bucket_name is not set", hint="set aws.bucket_name in config/config.yaml to your S3 bucket")
    validate_bucket_name(bucket)
    return Mirror(
        s3_client(config),
        bucket,
        config.aws.prefix,
        max_concurrency=config.aws.max_concurrency,
        multipart_threshold=config.aws.multipart_threshold_mb * 1024 * 1024,
        attempts=config.aws.retries + 1,
    )


def folder_map(config: Config, folder: str | Path) -> FolderMap:
    """A local folder and its key: its path under the project root, else its own name."""
    local = config.resolve(folder)
    try:
        key = local.relative_to(config.root).as_posix()
    except ValueError:
        key = local.name
    if key in ("", ".") or any(part.startswith(".") for part in key.split("/")):
        raise InputError(
            f"aws.sync_folders entry {str(folder)!r} cannot be mirrored",
            hint="list folders inside the project such as `artifacts`, not the project itself or hidden folders",
        )
    return FolderMap(local, key)


def sync(
    config: Config,
    *,
    pull: bool = False,
    dry_run: bool = False,
    delete: bool = False,
    create_bucket: bool = False,
    progress: Progress = NO_PROGRESS,
) -> SyncResult:
    """Push the `aws.sync_folders` to S3, or with `pull` restore them from S3."""
    folders = [folder_map(config, folder) for folder in config.aws.sync_folders]
    return _run(config, folders, pull=pull, dry_run=dry_run, delete=delete, create_bucket=create_bucket, progress=progress)


def sync_stage_outputs(config: Config, stage: str, progress: Progress = NO_PROGRESS) -> SyncResult:
    """Push `artifacts/<stage>` alone; remote files of that stage it no longer holds are removed."""
    if stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}", hint=f"one of {', '.join(STAGES)}")
    artifacts = folder_map(config, config.artifacts_dir)
    if not (artifacts.local / stage).is_dir():
        raise InputError(f"no {stage} artifacts in {artifacts.local / stage} to sync", hint=f"run `netsec {stage}` first")
    folder = FolderMap(artifacts.local / stage, f"{artifacts.key}/{stage}")
    return _run(config, [folder], pull=False, dry_run=False, delete=True, create_bucket=False, progress=progress)


def _run(
    config: Config,
    folders: list[FolderMap],
    *,
    pull: bool,
    dry_run: bool,
    delete: bool,
    create_bucket: bool,
    progress: Progress,
) -> SyncResult:
    started = time.perf_counter()
    mirror = open_mirror(config)
    result = SyncResult("pull" if pull else "push", mirror.bucket, mirror.prefix, mirror.endpoint, dry_run)
    inputs = {
        "direction": result.direction,
        "bucket": mirror.bucket,
        "prefix": mirror.prefix,
        "endpoint": mirror.endpoint,
        "dry_run": dry_run,
    }
    lock = contextlib.nullcontext() if dry_run else pipeline_lock(config.artifacts_dir)
    with stage_log("sync_s3", **inputs) as summary, lock:
        remote_missing = False
        if create_bucket and not pull and not mirror.bucket_exists():
            result.actions.append(Action("create-bucket", "", ""))
            if dry_run:
                remote_missing = True
            else:
                mirror.create_bucket(mirror.client.meta.region_name)  # the region the client signs for
                result.bucket_created = True
        if pull:
            outcome = s3.pull(mirror, folders, delete=delete, dry_run=dry_run, progress=progress)
        else:
            outcome = s3.push(mirror, folders, delete=delete, dry_run=dry_run, progress=progress, remote_missing=remote_missing)
        _fill(result, outcome)
        result.requests = dict(mirror.requests.by_method)
        summary.update(
            uploaded=result.uploaded, downloaded=result.downloaded, deleted=result.deleted, unchanged=result.unchanged
        )
    result.duration_seconds = round(time.perf_counter() - started, 3)
    return result


def _fill(result: SyncResult, outcome: Outcome) -> None:
    if result.direction == "push":
        result.uploaded = outcome.transferred
    else:
        result.downloaded = outcome.transferred
    result.deleted = outcome.deleted
    result.unchanged = outcome.unchanged
    result.bytes = outcome.bytes
    result.actions += outcome.actions
