"""The S3 mirror: plan, push, pull and verify local folders against `s3://bucket/prefix/`.

Layout: a local folder (an `aws.sync_folders` entry, e.g. `artifacts`) maps to
`<prefix>/<folder key>/`; files keep their relative paths. Hidden files and folders (the
pipeline lock, staging folders, temporary files) are never mirrored.

Change detection is by content: each object carries its sha256 as metadata (`x-amz-meta-sha256`)
and `<prefix>/.netsec-index.json` records key → sha256, size and ETag. A listing plus the index
decides what changed; an object whose ETag no longer matches the index (written by something else,
or by an interrupted push) is asked for its metadata with one HEAD. Uploads carry a SHA256
checksum the server verifies on receipt; the SHA256 the server reports for the stored object (in
the upload response, or from one HEAD when the response lacks it) must equal the local file's,
whole-object or multipart-composite. Every `manifest.json` goes up after all other files, so a
remote manifest never describes files that are not there yet.

Pull downloads to temporary names and checks sha256 before anything replaces a local file. A
stage folder (a top-level folder with a remote `manifest.json`) is rebuilt whole in a staging
folder from the files its manifest lists, verified against that manifest, and swapped in only
after every stage has been fetched, so an interrupted pull never mixes old and new model files.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError, PartialCredentialsError

from netsec_cli.artifacts import MANIFEST, read_manifest, sha256_file, stage_dir, swap_in
from netsec_cli.errors import InputError, NetsecError, ServiceError
from netsec_cli.progress import NO_PROGRESS, Progress, TaskHandle

log = logging.getLogger("netsec_cli.cloud.s3")

INDEX_NAME = ".netsec-index.json"
SHA_META = "sha256"
CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "InvalidToken",
    "AuthorizationHeaderMalformed",
    "403",  # HEAD responses (bucket check) carry no error body, only the status
}
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def validate_bucket_name(name: str) -> None:
    """Apply the S3 general-purpose bucket naming rules locally; InputError naming the rule broken."""
    problem = None
    if not 3 <= len(name) <= 63:
        problem = "must be 3 to 63 characters long"
    elif not _BUCKET_RE.match(name):
        problem = "may hold only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit"
    elif ".." in name:
        problem = "must not contain two adjacent periods"
    elif _IP_RE.match(name):
        problem = "must not look like an IP address"
    elif name.startswith(_BAD_PREFIXES) or name.endswith(_BAD_SUFFIXES):
        problem = "uses a prefix or suffix reserved by S3"
    if problem:
        raise InputError(f"invalid S3 bucket name {name!r} in aws.bucket_name: it {problem}", hint="fix aws.bucket_name")


def b64_of_hex(hex_digest: str) -> str:
    """The base64 form S3 uses for checksums, from a hex digest."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    sha256: str


@dataclass
class RemoteObject:
    key: str
    size: int
    etag: str
    sha256: str | None = None


@dataclass(frozen=True)
class Action:
    """One planned or performed step: upload, download, delete-remote, delete-local, replace-stage."""

    action: str
    key: str
    path: str
    size: int = 0


@dataclass(frozen=True)
class FolderMap:
    """A local folder and the key under the prefix it mirrors to."""

    local: Path
    key: str


@dataclass
class Outcome:
    """What a push or pull did (or, in a dry run, would do)."""

    actions: list[Action] = field(default_factory=list)
    transferred: int = 0
    deleted: int = 0
    unchanged: int = 0
    bytes: int = 0


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def local_files(folder: Path, *, trust_manifests: bool = True) -> dict[str, LocalFile]:
    """Every non-hidden file under `folder` by relative posix path, with size and sha256.

    With `trust_manifests`, the sha256 comes from the nearest stage `manifest.json` above the file
    when the size matches and the file is not newer than that manifest; otherwise it is computed.
    """
    found: dict[str, LocalFile] = {}
    if not folder.is_dir():
        return found
    manifests: dict[Path, tuple[int, dict[str, tuple[int, str]]]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        if trust_manifests and MANIFEST in filenames:
            manifests[here] = _manifest_table(here)
        for name in sorted(f for f in filenames if not f.startswith(".")):
            path = here / name
            stat = path.stat()
            sha = _trusted_sha(path, stat, folder, manifests) or sha256_file(path)
            found[path.relative_to(folder).as_posix()] = LocalFile(path, stat.st_size, sha)
    return found


def _manifest_table(folder: Path) -> tuple[int, dict[str, tuple[int, str]]]:
    """(manifest mtime, relative path → (size, sha256)) for the manifest in `folder`."""
    try:
        manifest = read_manifest(folder) or {}
        entries = {str(e["path"]): (int(e["size"]), str(e["sha256"])) for e in manifest.get("files", [])}
    except (InputError, KeyError, TypeError, ValueError, AttributeError):
        return (0, {})
    return ((folder / MANIFEST).stat().st_mtime_ns, entries)


def _trusted_sha(path: Path, stat: os.stat_result, root: Path, manifests: dict[Path, Any]) -> str | None:
    for parent in path.parents:
        if parent in manifests:
            mtime, entries = manifests[parent]
            size, sha = entries.get(path.relative_to(parent).as_posix(), (-1, ""))
            return sha if size == stat.st_size and stat.st_mtime_ns <= mtime else None
        if parent == root:
            return None
    return None


class _ProgressSubscriber:
    """s3transfer subscriber: advances the bar per chunk and tells s3transfer the size up front."""

    def __init__(self, task: TaskHandle, size: int | None = None) -> None:
        self._task = task
        self._size = size

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        if self._size is not None:
            future.meta.provide_transfer_size(self._size)

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self._task.advance(bytes_transferred)

    def on_done(self, future: Any, **kwargs: Any) -> None:
        return None


_KEY_TAG = "netsec_key"


def _tag_key(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    """botocore hook: remember which key a PutObject/CompleteMultipartUpload call writes."""
    context[_KEY_TAG] = params.get("Key")


class MissingBucket(InputError):
    """The configured bucket does not exist (exit 2; `--create-bucket` creates it)."""


class RequestCounter:
    """Counts HTTP requests by method as botocore sends them (retries included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_method: dict[str, int] = {}

    def __call__(self, request: Any, **kwargs: Any) -> None:
        with self._lock:
            self.by_method[request.method] = self.by_method.get(request.method, 0) + 1


class Mirror:
    """One bucket and prefix on one endpoint, with the transfer settings from `aws.*`."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        *,
        max_concurrency: int,
        multipart_threshold: int,
        attempts: int,
    ) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = client.meta.endpoint_url
        self.attempts = attempts
        self.max_concurrency = max_concurrency
        self.chunk_size = multipart_threshold
        self.transfer_config = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_threshold,
            max_concurrency=max_concurrency,
            num_download_attempts=max(1, attempts),
            preferred_transfer_client="classic",
        )
        self.requests = RequestCounter()
        client.meta.events.register("before-send.s3", self.requests)
        self._receipts: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register(f"before-parameter-build.s3.{operation}", _tag_key)
            client.meta.events.register(f"after-call.s3.{operation}", self._keep_receipt)
        self._index: dict[str, dict[str, Any]] = {}
        self._index_dirty = False

    # ---- keys and errors -------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    @property
    def index_key(self) -> str:
        return self.key(INDEX_NAME)

    @contextlib.contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn botocore/s3transfer failures into one-line NetsecErrors naming endpoint and bucket."""
        from s3transfer.exceptions import RetriesExceededError

        try:
            yield
        except NetsecError:
            raise
        except ClientError as exc:
            raise self._client_error(exc, action) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise InputError(
                f"no usable AWS credentials for {action} (bucket {self.bucket})",
                hint="run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ) from None
        except (HTTPClientError, BotoCoreError) as exc:
            raise self._unreachable(exc, action) from None
        except RetriesExceededError as exc:
            raise self._unreachable(exc.last_exception or exc, action) from None

    def _unreachable(self, exc: BaseException, action: str) -> ServiceError:
        reason = str(exc).split("\n")[0]
        return ServiceError(
            f"S3 endpoint {self.endpoint} failed during {action} of bucket {self.bucket} after "
            f"{self.attempts} attempt(s): {reason}",
            hint="check aws.endpoint_url / AWS_ENDPOINT_URL and the network, then re-run; finished files are not sent again",
        )

    def _client_error(self, exc: ClientError, action: str) -> NetsecError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return MissingBucket(
                f"S3 bucket {self.bucket} does not exist at {self.endpoint}",
                hint="create it with `netsec sync-s3 --create-bucket`, or fix aws.bucket_name",
            )
        if code in CREDENTIAL_CODES:
            return InputError(
                f"S3 at {self.endpoint} rejected the credentials for bucket {self.bucket} ({code})",
                hint="check the keys (`netsec secrets show`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the bucket policy",
            )
        if code in ("InvalidBucketName", "BucketAlreadyExists"):
            return InputError(f"S3 refused bucket name {self.bucket} ({code})", hint="choose another aws.bucket_name")
        if code in ("PreconditionFailed", "412"):
            return ServiceError(
                f"an object under s3://{self.bucket}/{self.prefix} changed during {action}",
                hint="re-run once the other writer has finished",
            )
        return ServiceError(
            f"S3 {action} failed at {self.endpoint} for bucket {self.bucket}: {code} (HTTP {status})",
            hint="check the endpoint and bucket, then re-run",
        )

    # ---- bucket and listing ----------------------------------------------------------------

    def bucket_exists(self) -> bool:
        """True when the bucket answers HEAD, False when it is missing."""
        with self.errors("bucket check"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                    return False
                raise
        return True

    def create_bucket(self, region: str) -> None:
        """Create the bucket (a no-op when we already own it)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with self.errors("bucket creation"):
            try:
                self.client.create_bucket(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise

    def list(self, under: str) -> dict[str, RemoteObject]:
        """Every object under `<prefix>/<under>/`, by full key."""
        found: dict[str, RemoteObject] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        with self.errors("listing"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key(under) + "/"):
                for item in page.get("Contents", []):
                    found[item["Key"]] = RemoteObject(item["Key"], int(item["Size"]), item["ETag"])
        return found

    def load_index(self) -> None:
        """Read `<prefix>/.netsec-index.json` (missing or unreadable → empty)."""
        with self.errors("index read"):
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self.index_key)["Body"].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    self._index = {}
                    return
                raise
        try:
            data = json.loads(body)
            self._index = {k: v for k, v in data.get("objects", {}).items() if isinstance(v, dict)}
        except (ValueError, AttributeError):
            log.warning("ignoring unreadable S3 index s3://%s/%s", self.bucket, self.index_key)
            self._index = {}

    def save_index(self) -> None:
        """Write the index back when this run learned or changed anything."""
        if not self._index_dirty:
            return
        body = json.dumps({"version": 1, "objects": dict(sorted(self._index.items()))}, indent=1).encode()
        with self.errors("index write"):
            self.client.put_object(
                Bucket=self.bucket, Key=self.index_key, Body=body, ContentType="application/json", ChecksumAlgorithm="SHA256"
            )
        self._index_dirty = False

    def _remember(self, obj: RemoteObject) -> None:
        entry = {"sha256": obj.sha256, "size": obj.size, "etag": obj.etag}
        with self._lock:
            if obj.sha256 and self._index.get(obj.key) != entry:
                self._index[obj.key] = entry
                self._index_dirty = True

    def forget(self, key: str) -> None:
        with self._lock:
            if self._index.pop(key, None) is not None:
                self._index_dirty = True

    def fill_shas(self, objects: list[RemoteObject]) -> None:
        """Set `.sha256` on each object: from the index when its ETag matches, else one HEAD each."""
        unknown = []
        for obj in objects:
            entry = self._index.get(obj.key)
            if entry and entry.get("etag") == obj.etag and entry.get("size") == obj.size:
                obj.sha256 = entry.get("sha256")
            else:
                unknown.append(obj)
        if not unknown:
            return

        def head(obj: RemoteObject) -> None:
            with self.errors("metadata read"):
                meta = self.client.head_object(Bucket=self.bucket, Key=obj.key)
            obj.sha256 = meta.get("Metadata", {}).get(SHA_META)
            self._remember(obj)

        with ThreadPoolExecutor(self.max_concurrency) as pool:
            list(pool.map(head, unknown))

    # ---- transfers -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transfers(self) -> Iterator[Any]:
        """An s3transfer TransferManager; pending transfers are cancelled if the block fails."""
        from boto3.s3.transfer import create_transfer_manager

        with create_transfer_manager(self.client, self.transfer_config) as manager:
            yield manager

    def upload_all(self, items: list[tuple[str, LocalFile]], task: TaskHandle) -> list[RemoteObject]:
        """Upload (key, file) pairs in parallel, then confirm each object; stop at the first failure."""
        done: list[RemoteObject] = []
        with self.errors("upload"), self.transfers() as manager, ThreadPoolExecutor(self.max_concurrency) as verify:
            futures = [
                (
                    key,
                    local,
                    manager.upload(
                        str(local.path),
                        self.bucket,
                        key,
                        extra_args={"Metadata": {SHA_META: local.sha256}, "ChecksumAlgorithm": "SHA256"},
                        subscribers=[_ProgressSubscriber(task)],
                    ),
                )
                for key, local in items
            ]
            checks = []
            for key, local, future in futures:
                future.result()
                checks.append(verify.submit(self.confirm_upload, key, local))
            for check in checks:
                done.append(check.result())
        return done

    def _keep_receipt(self, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        key = context.get(_KEY_TAG)
        if key and parsed.get("ETag"):
            with self._lock:
                self._receipts[key] = parsed

    def confirm_upload(self, key: str, local: LocalFile) -> RemoteObject:
        """Check the server's SHA256 of the stored object against the local file.

        The checksum comes from the upload's own response when the server returns it (S3 does
        for PutObject and CompleteMultipartUpload); otherwise one HEAD reads it back together
        with the size and the sha256 metadata.
        """
        with self._lock:
            receipt = self._receipts.pop(key, {})
        checksum = receipt.get("ChecksumSHA256")
        if checksum:
            if not self._checksum_matches(checksum, local):
                raise self._mismatch(key, local)
            obj = RemoteObject(key, local.size, receipt["ETag"], local.sha256)
            self._remember(obj)
            return obj
        with self.errors("upload check"):
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        size = int(head.get("ContentLength", -1))
        meta_sha = head.get("Metadata", {}).get(SHA_META)
        checksum = head.get("ChecksumSHA256")
        if size != local.size or meta_sha != local.sha256 or (checksum and not self._checksum_matches(checksum, local)):
            raise self._mismatch(key, local)
        obj = RemoteObject(key, size, head["ETag"], local.sha256)
        self._remember(obj)
        return obj

    def _mismatch(self, key: str, local: LocalFile) -> ServiceError:
        return ServiceError(
            f"s3://{self.bucket}/{key} does not match {local.path} after upload (size or sha256 differ)",
            hint="re-run `netsec sync-s3`; if it persists, check the endpoint",
        )

    def _checksum_matches(self, checksum: str, local: LocalFile) -> bool:
        value = checksum.split("-")[0]
        if value == b64_of_hex(local.sha256):
            return True
        return value == composite_sha256(local.path, local.size, self.chunk_size)

    def download(self, manager: Any, obj: RemoteObject, target: Path, task: TaskHandle) -> Any:
        """Queue a download of `obj` to `target` (a temporary name); the caller checks its sha256."""
        return manager.download(
            self.bucket,
            obj.key,
            str(target),
            subscribers=[_ProgressSubscriber(task, obj.size)],
        )

    def get_bytes(self, obj: RemoteObject) -> bytes:
        """A small object's content (a manifest), checked against its sha256 when known."""
        with self.errors("download"):
            body = self.client.get_object(Bucket=self.bucket, Key=obj.key, IfMatch=obj.etag)["Body"].read()
        if obj.sha256 and hashlib.sha256(body).hexdigest() != obj.sha256:
            raise ServiceError(f"s3://{self.bucket}/{obj.key} does not match its sha256 metadata", hint="re-run the pull")
        return body

    def delete(self, keys: list[str]) -> None:
        """Delete keys in batches of 1000."""
        with self.errors("delete"):
            for start in range(0, len(keys), 1000):
                batch = keys[start : start + 1000]
                reply = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
                if reply.get("Errors"):
                    first = reply["Errors"][0]
                    raise ServiceError(f"S3 could not delete s3://{self.bucket}/{first['Key']}: {first.get('Code')}")
                for key in batch:
                    self.forget(key)


def composite_sha256(path: Path, size: int, chunk_size: int) -> str:
    """The base64 multipart checksum S3 reports: sha256 over the parts' sha256 digests."""
    from s3transfer.utils import ChunksizeAdjuster

    part = ChunksizeAdjuster().adjust_chunksize(chunk_size, size)
    outer = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(part), b""):
            outer.update(hashlib.sha256(block).digest())
    return base64.b64encode(outer.digest()).decode()


# ---- push ----------------------------------------------------------------------------------


def plan_push(mirror: Mirror, folders: list[FolderMap], *, delete: bool, remote_missing: bool = False) -> tuple[
    list[tuple[str, LocalFile]], list[str], int
]:
    """(uploads, remote keys to delete, unchanged count) for mirroring `folders` to S3."""
    uploads: list[tuple[str, LocalFile]] = []
    deletes: list[str] = []
    unchanged = 0
    for folder in folders:
        if not folder.local.is_dir():
            log.warning("sync folder %s does not exist; skipped", folder.local)
            continue
        local = {mirror.key(folder.key, rel): lf for rel, lf in local_files(folder.local).items()}
        remote = {} if remote_missing else mirror.list(folder.key)
        mirror.fill_shas([remote[k] for k in local if k in remote])
        for key, lf in local.items():
            obj = remote.get(key)
            if obj is not None and obj.size == lf.size and obj.sha256 == lf.sha256:
                unchanged += 1
            else:
                uploads.append((key, lf))
        if delete:
            if remote and not local:
                raise _refuse_delete_all(mirror, folder, f"{folder.local} is empty", f"s3://{mirror.bucket}/{mirror.key(folder.key)}/")
            deletes.extend(k for k in sorted(remote) if k not in local)
    # Manifests last: a remote manifest must never describe files that are not uploaded yet.
    uploads.sort(key=lambda item: item[0].endswith("/" + MANIFEST))
    return uploads, deletes, unchanged


def push(
    mirror: Mirror,
    folders: list[FolderMap],
    *,
    delete: bool,
    dry_run: bool,
    progress: Progress = NO_PROGRESS,
    remote_missing: bool = False,
) -> Outcome:
    """Upload new and changed files (manifests last), confirm each, optionally delete extras.

    `remote_missing` plans against an empty bucket (a dry run of `--create-bucket`).
    """
    if not remote_missing:
        mirror.load_index()
    uploads, deletes, unchanged = plan_push(mirror, folders, delete=delete, remote_missing=remote_missing)
    total = sum(lf.size for _, lf in uploads)
    outcome = Outcome(unchanged=unchanged, bytes=total)
    outcome.actions = [Action("upload", key, str(lf.path), lf.size) for key, lf in uploads]
    outcome.actions += [Action("delete-remote", key, "") for key in deletes]
    if dry_run:
        return outcome
    if uploads:
        data = [u for u in uploads if not u[0].endswith("/" + MANIFEST)]
        manifests = [u for u in uploads if u[0].endswith("/" + MANIFEST)]
        with progress.task(f"push {len(uploads)} files", total=total, unit="bytes") as task:
            for batch in (data, manifests):
                if batch:
                    outcome.transferred += len(mirror.upload_all(batch, task))
    if deletes:
        mirror.delete(deletes)
        outcome.deleted = len(deletes)
    mirror.save_index()
    return outcome


# ---- pull ----------------------------------------------------------------------------------


@dataclass
class _StagePull:
    """One remote stage folder to rebuild locally from its manifest."""

    folder: FolderMap
    name: str
    manifest: RemoteObject
    manifest_bytes: bytes
    files: dict[str, RemoteObject]  # path inside the stage → object
    expected: dict[str, str]  # path inside the stage → sha256 from the manifest
    local_same: dict[str, Path] = field(default_factory=dict)  # unchanged local copies to reuse


@dataclass
class _PullPlan:
    stages: list[_StagePull] = field(default_factory=list)
    files: list[tuple[RemoteObject, Path]] = field(default_factory=list)
    delete_files: list[Path] = field(default_factory=list)
    delete_dirs: list[Path] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class _Fetch:
    """One download: lands at `temp`, must hash to `sha256`; loose files then replace `final`."""

    obj: RemoteObject
    temp: Path
    sha256: str | None
    final: Path | None = None


def _stage_pull(mirror: Mirror, folder: FolderMap, name: str, objects: dict[str, RemoteObject]) -> _StagePull | None:
    """Plan one stage from its remote manifest: None when the local copy already equals it."""
    prefix = mirror.key(folder.key, name) + "/"
    manifest_obj = objects[prefix + MANIFEST]
    body = mirror.get_bytes(manifest_obj)
    try:
        expected = {str(e["path"]): str(e["sha256"]) for e in json.loads(body)["files"]}
    except (ValueError, KeyError, TypeError):
        raise InputError(
            f"remote manifest s3://{mirror.bucket}/{manifest_obj.key} is corrupt",
            hint="re-run the stage and push again from the machine that has it",
        ) from None
    files = {}
    for rel in expected:
        obj = objects.get(prefix + rel)
        if obj is None or _hidden(rel) or rel == MANIFEST:
            raise InputError(
                f"remote stage {name} is incomplete: {prefix + rel} is listed in its manifest but missing",
                hint="re-run `netsec sync-s3` on the machine that produced it",
            )
        files[rel] = obj
    plan = _StagePull(folder, name, manifest_obj, body, files, expected)
    local = local_files(stage_dir(folder.local, name))
    plan.local_same = {rel: lf.path for rel, lf in local.items() if expected.get(rel) == lf.sha256}
    same_manifest = MANIFEST in local and local[MANIFEST].sha256 == hashlib.sha256(body).hexdigest()
    if same_manifest and set(local) == {*expected, MANIFEST} and len(plan.local_same) == len(expected):
        return None
    return plan


def plan_pull(mirror: Mirror, folders: list[FolderMap], *, delete: bool) -> _PullPlan:
    """Decide what to fetch, keep and delete so that `folders` equal the remote copy."""
    mirror.load_index()
    plan = _PullPlan()
    for folder in folders:
        base = mirror.key(folder.key) + "/"
        remote = {k[len(base) :]: o for k, o in mirror.list(folder.key).items() if not _hidden(k[len(base) :])}
        stages = {rel.split("/")[0] for rel in remote if rel.count("/") == 1 and rel.endswith("/" + MANIFEST)}
        loose = {rel: o for rel, o in remote.items() if rel.split("/")[0] not in stages}
        mirror.fill_shas([*loose.values(), *(remote[f"{name}/{MANIFEST}"] for name in stages)])
        objects = {base + rel: o for rel, o in remote.items()}
        for name in sorted(stages):
            stage = _stage_pull(mirror, folder, name, objects)
            if stage is None:
                plan.unchanged += len(_stage_files(remote, name))
            else:
                plan.stages.append(stage)
        local = local_files(folder.local)
        for rel, obj in sorted(loose.items()):
            have = local.get(rel)
            if have is not None and obj.sha256 is not None and have.sha256 == obj.sha256:
                plan.unchanged += 1
            else:
                plan.files.append((obj, folder.local / rel))
        if delete:
            if local and not remote:
                raise _refuse_delete_all(mirror, folder, f"s3://{mirror.bucket}/{base} is empty", str(folder.local))
            _plan_local_deletes(plan, folder, local, set(loose), stages)
    return plan


def _refuse_delete_all(mirror: Mirror, folder: FolderMap, empty: str, victim: str) -> InputError:
    """--delete against an empty side would wipe the other one: almost always a wrong prefix or path."""
    return InputError(
        f"{empty}: refusing --delete, which would remove every file under {victim}",
        hint="check aws.bucket_name, aws.prefix and aws.sync_folders; run without --delete",
    )


def _stage_files(remote: dict[str, RemoteObject], name: str) -> list[str]:
    return [rel for rel in remote if rel.startswith(name + "/")]


def _plan_local_deletes(plan: _PullPlan, folder: FolderMap, local: dict[str, LocalFile], loose: set[str], stages: set[str]) -> None:
    """Local stage folders the remote lacks go whole; other local files not on the remote go one by one."""
    local_stages = {rel.split("/")[0] for rel in local if rel.count("/") == 1 and rel.endswith("/" + MANIFEST)}
    plan.delete_dirs += [folder.local / name for name in sorted(local_stages - stages)]
    for rel, lf in sorted(local.items()):
        top = rel.split("/")[0]
        if rel not in loose and top not in stages and top not in local_stages:
            plan.delete_files.append(lf.path)


def _pull_actions(plan: _PullPlan) -> list[Action]:
    actions = []
    for stage in plan.stages:
        target = stage.folder.local / stage.name
        for rel, obj in sorted(stage.files.items()):
            if rel not in stage.local_same:
                actions.append(Action("download", obj.key, str(target / rel), obj.size))
        actions.append(Action("replace-stage", stage.manifest.key, str(target)))
    actions += [Action("download", obj.key, str(path), obj.size) for obj, path in plan.files]
    actions += [Action("delete-local", "", str(path)) for path in [*plan.delete_dirs, *plan.delete_files]]
    return actions


def pull(
    mirror: Mirror, folders: list[FolderMap], *, delete: bool, dry_run: bool, progress: Progress = NO_PROGRESS
) -> Outcome:
    """Fetch changed files, verify every one, swap stage folders in whole, optionally delete extras."""
    plan = plan_pull(mirror, folders, delete=delete)
    outcome = Outcome(actions=_pull_actions(plan), unchanged=plan.unchanged)
    outcome.bytes = sum(a.size for a in outcome.actions if a.action == "download")
    if dry_run:
        return outcome
    staged: list[tuple[_StagePull, Path]] = []
    fetches: list[_Fetch] = []
    try:
        for stage in plan.stages:
            staging = Path(tempfile.mkdtemp(prefix=f".staging-{stage.name}-", dir=_mkdir(stage.folder.local)))
            staged.append((stage, staging))
            fetches += _prepare_staging(stage, staging)
        for number, (obj, target) in enumerate(plan.files):
            temp = _mkdir(target.parent) / f".{target.name}.{os.getpid()}-{number}.part"
            fetches.append(_Fetch(obj, temp, obj.sha256, target))
        if fetches:
            with progress.task(
                f"pull {len(fetches)} files", total=sum(f.obj.size for f in fetches), unit="bytes"
            ) as task:
                _download_verified(mirror, fetches, task)
        for stage, staging in staged:
            _check_staging(mirror, stage, staging)
        for fetch in fetches:
            if fetch.final is not None:
                os.replace(fetch.temp, fetch.final)
        for stage, staging in staged:
            swap_in(staging, stage.folder.local, stage.name)
    finally:
        for _, staging in staged:
            shutil.rmtree(staging, ignore_errors=True)
        for fetch in fetches:
            if fetch.final is not None:
                fetch.temp.unlink(missing_ok=True)
    outcome.transferred = len(fetches) + len(plan.stages)  # each replaced stage's manifest too
    outcome.unchanged += sum(len(stage.local_same) for stage in plan.stages)
    for path in plan.delete_dirs:
        shutil.rmtree(path)
    for path in plan.delete_files:
        path.unlink(missing_ok=True)
    outcome.deleted = len(plan.delete_dirs) + len(plan.delete_files)
    return outcome


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prepare_staging(stage: _StagePull, staging: Path) -> list[_Fetch]:
    """Copy unchanged local files and the manifest into `staging`; return the downloads it still needs."""
    for rel, source in stage.local_same.items():
        shutil.copy2(source, _mkdir((staging / rel).parent) / Path(rel).name)
    (staging / MANIFEST).write_bytes(stage.manifest_bytes)
    return [
        _Fetch(obj, _mkdir((staging / rel).parent) / Path(rel).name, stage.expected[rel])
        for rel, obj in sorted(stage.files.items())
        if rel not in stage.local_same
    ]


def _download_verified(mirror: Mirror, fetches: list[_Fetch], task: TaskHandle) -> None:
    """Download every fetch in parallel, then check the size and sha256 of each."""
    with mirror.errors("download"), mirror.transfers() as manager:
        futures = [mirror.download(manager, f.obj, f.temp, task) for f in fetches]
        for future in futures:
            future.result()
    for fetch in fetches:
        if fetch.temp.stat().st_size != fetch.obj.size or (
            fetch.sha256 is not None and sha256_file(fetch.temp) != fetch.sha256
        ):
            raise ServiceError(
                f"downloaded s3://{mirror.bucket}/{fetch.obj.key} does not match its expected sha256; nothing was replaced",
                hint="re-run the pull; if it persists, push again from the source machine",
            )
        if fetch.sha256 is None:
            log.warning("s3://%s/%s has no sha256 metadata; checked its size only", mirror.bucket, fetch.obj.key)


def _check_staging(mirror: Mirror, stage: _StagePull, staging: Path) -> None:
    """The staged folder must hold exactly the manifest's files, each with its sha256."""
    present = local_files(staging, trust_manifests=False)
    wanted = {*stage.expected, MANIFEST}
    bad = sorted(rel for rel, sha in stage.expected.items() if rel not in present or present[rel].sha256 != sha)
    if set(present) != wanted or bad:
        raise ServiceError(
            f"pulled stage {stage.name} does not match s3://{mirror.bucket}/{stage.manifest.key}"
            f" ({', '.join(bad or sorted(set(present) ^ wanted))}); nothing was replaced",
            hint="re-run the pull",
        )
