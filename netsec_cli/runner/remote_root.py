"""An `s3://bucket/prefix` artifacts root: the S3 location is the source of truth.

Stages work in a local copy (`Config.artifacts_dir`, under `<root>/.netsec-cache/s3/`). Inside
`run_stage`, under the artifacts lock, `open_root` connects (the credentials and endpoint
`sync-s3` uses; none anywhere is exit 2 before any request) and checks the bucket exists;
`pull_inputs` then brings the published folders the stage reads (`runner.reads.READS`) up to date from
`<prefix>/<stage>/`, through the mirror's index and manifests so unchanged files are not
downloaded again, and removes a local copy the root no longer publishes. After the stage has
published, `push_published` pushes its folder to `<prefix>/<stage>/` (`runner.mirror.push_stage`).
A failed stage publishes nothing, so it pushes nothing: both copies keep the previous folder.

The lock is per machine: two machines running the same stage at once both push, the last one wins.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.errors import MissingBucket
from netsec_cli.cloud.objects import FolderMap
from netsec_cli.cloud.session import chain_has_credentials, shared_credential_files
from netsec_cli.errors import InputError
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.runner.mirror import SyncResult, connect, push_stage, sync_folders
from netsec_cli.runner.reads import READS
from netsec_cli.secrets.runtime import load_aws_credentials

if TYPE_CHECKING:
    from netsec_cli.config import Config, S3Location

log = logging.getLogger(__name__)


def open_root(config: Config, location: S3Location) -> Mirror:
    """Connect to the artifacts root with the decrypted credentials (else boto3's chain) and check its bucket."""
    credentials = load_aws_credentials(config)
    if credentials is None and not chain_has_credentials(config):
        raise _no_credentials(config, location)
    mirror = connect(config, location.bucket, location.prefix, credentials)
    if not mirror.bucket_exists():
        raise MissingBucket(
            f"S3 bucket {location.bucket} of the artifacts root {location.url} does not exist at {mirror.endpoint}",
            hint="create the bucket, or fix paths.artifacts",
        )
    return mirror


def _no_credentials(config: Config, location: S3Location) -> InputError:
    shared, profiles = shared_credential_files()
    return InputError(
        f"the artifacts root {location.url} needs AWS credentials: none in {config.secrets.credentials_file}"
        f" (not found), the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), {shared}, {profiles}"
        " or an instance role",
        hint="run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    )


def pull_for(config: Config, stage: str, progress: Progress = NO_PROGRESS, lock_wait: float = 0.0) -> Mirror | None:
    """With an `s3://` root: connect and pull the folders `stage` reads, under the artifacts lock,
    and return the connection (None without an S3 root)."""
    from netsec_cli.artifacts import pipeline_lock

    location = config.artifacts_remote
    if location is None:
        return None
    with pipeline_lock(config.artifacts_dir, wait=lock_wait):
        mirror = open_root(config, location)
        pull_inputs(config, mirror, stage, progress)
    return mirror


def pull_inputs(config: Config, mirror: Mirror, stage: str, progress: Progress = NO_PROGRESS) -> SyncResult | None:
    """Make the local copies of the folders `stage` reads equal to the root's; the caller holds the lock."""
    reads = READS.get(stage, ())
    if not reads:
        return None
    folder = FolderMap(config.artifacts_dir, "")
    result = sync_folders(
        config, [folder], direction="pull", delete=True, progress=progress, mirror=mirror, stages=reads
    )
    log.info(
        "%s: pulled %s from s3://%s/%s (downloaded=%d, unchanged=%d, deleted=%d)",
        stage, ", ".join(reads), mirror.bucket, mirror.prefix, result.downloaded, result.unchanged, result.deleted,
    )
    return result


def push_published(config: Config, mirror: Mirror, stage: str, progress: Progress = NO_PROGRESS) -> SyncResult:
    """Push the folder `stage` has just published to `<prefix>/<stage>/`; the caller holds the lock."""
    return push_stage(config, stage, progress, root=mirror)
