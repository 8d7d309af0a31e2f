"""The S3 mirror of the artifacts: decrypted credentials + `netsec_cli.cloud`, under the lock.

`open_mirror` validates the bucket name, decrypts the credentials in memory
(`netsec_cli.secrets.runtime.load_aws_credentials`; None falls back to boto3's standard chain)
and connects. `sync_folders` pushes or pulls a list of folders; its callers hold the artifacts
lock (the `sync-s3` stage through `run_stage`, a stage's `--sync` inside its own lifecycle).
`push_stage` mirrors one stage folder after that stage has published (`--sync` or
`aws.sync_after_stage`), or, given the mirror of an `s3://` artifacts root
(`netsec_cli.runner.remote_root`), publishes it there.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from netsec_cli.artifacts import STAGES
from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.errors import validate_bucket_name
from netsec_cli.cloud.objects import Action, FolderMap, Outcome
from netsec_cli.cloud.pull import pull
from netsec_cli.cloud.push import push
from netsec_cli.cloud.session import AwsCredentials, build_session, s3_client
from netsec_cli.errors import InputError
from netsec_cli.logging_setup import stage_log
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.secrets.runtime import load_aws_credentials

if TYPE_CHECKING:
    from netsec_cli.config import Config


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
    skipped: int = 0  # local symlinks and special files a push left out (never followed)
    bucket_created: bool = False
    requests: dict[str, int] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    duration_seconds: float = 0.0


def aws_session(config: Config) -> Any:
    """A boto3 Session with the decrypted credentials, or the standard chain's when there are none."""
    return build_session(config, load_aws_credentials(config))


def open_mirror(config: Config) -> Mirror:
    """Validate `aws.bucket_name` locally, decrypt the credentials and connect to the configured endpoint."""
    bucket = config.aws.bucket_name
    if not bucket:
        raise InputError("aws.bucket_name is not set", hint="set aws.bucket_name in config/config.yaml to your S3 bucket")
    validate_bucket_name(bucket)
    return connect(config, bucket, config.aws.prefix, load_aws_credentials(config))


def connect(config: Config, bucket: str, prefix: str, credentials: AwsCredentials | None) -> Mirror:
    """A Mirror of `bucket`/`prefix` at the configured endpoint with the `aws.*` transfer settings."""
    return Mirror(
        s3_client(config, credentials),
        bucket,
        prefix,
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


def push_stage(config: Config, stage: str, progress: Progress = NO_PROGRESS, root: Mirror | None = None) -> SyncResult:
    """Push `artifacts/<stage>` alone; remote files of that stage it no longer holds are removed.

    To `<aws.prefix>/<artifacts folder>/<stage>/`, or with `root` (the mirror of an `s3://`
    artifacts root) to `<its prefix>/<stage>/`."""
    if stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}", hint=f"one of {', '.join(STAGES)}")
    local = config.artifacts_dir / stage
    key = stage if root is not None else f"{folder_map(config, config.artifacts_dir).key}/{stage}"
    if not local.is_dir():
        raise InputError(f"no {stage} artifacts in {local} to sync", hint=f"run `netsec {stage}` first")
    if local.is_symlink():
        raise InputError(
            f"{local} is a symlink; netsec never mirrors through links",
            hint=f"replace it with the stage's folder (re-run `netsec {stage}`)",
        )
    folder = FolderMap(local, key)
    with stage_log("sync_s3", folder=folder.local) as summary:
        result = sync_folders(config, [folder], delete=True, progress=progress, mirror=root)
        summary.update(uploaded=result.uploaded, deleted=result.deleted, unchanged=result.unchanged)
    return result


def sync_folders(
    config: Config,
    folders: list[FolderMap],
    *,
    direction: Literal["push", "pull"] = "push",
    dry_run: bool = False,
    delete: bool = False,
    create_bucket: bool = False,
    progress: Progress = NO_PROGRESS,
    mirror: Mirror | None = None,
    stages: Collection[str] | None = None,
) -> SyncResult:
    """Push `folders` to S3 (or, with direction "pull", restore them); the caller holds the lock.

    `mirror`: where to (default: `open_mirror`, the `aws.*` bucket); `stages`: a pull of only
    those stage folders of `folders`."""
    started = time.perf_counter()
    mirror = mirror or open_mirror(config)
    result = SyncResult(direction, mirror.bucket, mirror.prefix, mirror.endpoint, dry_run)
    remote_missing = False
    if create_bucket and direction == "push" and not mirror.bucket_exists():
        result.actions.append(Action("create-bucket", "", ""))
        if dry_run:
            remote_missing = True
        else:
            mirror.create_bucket(mirror.client.meta.region_name)  # the region the client signs for
            result.bucket_created = True
    if direction == "pull":
        outcome = pull(mirror, folders, delete=delete, dry_run=dry_run, progress=progress, stages=stages)
    else:
        outcome = push(mirror, folders, delete=delete, dry_run=dry_run, progress=progress, remote_missing=remote_missing)
    _fill(result, outcome)
    result.requests = dict(mirror.requests.by_method)
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
    result.skipped = outcome.skipped
    result.actions += outcome.actions
