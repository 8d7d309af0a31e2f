"""`Mirror`: one bucket and prefix on one endpoint, and every S3 request the mirror makes.

Listing, the remote index, uploads confirmed against the SHA256 the server reports, downloads,
deletes and bucket checks, each under `errors` (one-line NetsecErrors) and counted by HTTP
method. Uploads carry a SHA256 checksum the server verifies on receipt; the checksum the server
reports for the stored object (in the upload response, or from one HEAD when the response lacks
it) must equal the local file's, whole-object or multipart-composite. Whole objects read into
memory (the index, a stage manifest) are read only up to a cap.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from netsec_cli.cloud.checksums import checksum_matches
from netsec_cli.cloud.errors import S3Errors, error_code
from netsec_cli.cloud.index import INDEX_NAME, RemoteIndex
from netsec_cli.cloud.objects import LocalFile, RemoteObject
from netsec_cli.cloud.paths import printable
from netsec_cli.errors import InputError, ServiceError
from netsec_cli.progress import TaskHandle

SHA_META = "sha256"
_KEY_TAG = "netsec_key"
DELETE_BATCH = 1000
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_INDEX_BYTES = 64 * 1024 * 1024

log = logging.getLogger(__name__)


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


def _tag_key(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    """botocore hook: remember which key a PutObject/CompleteMultipartUpload call writes."""
    context[_KEY_TAG] = params.get("Key")


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
        self.errors = S3Errors(self.endpoint, bucket, self.prefix, attempts)
        self.requests = RequestCounter()
        self.index = RemoteIndex()
        client.meta.events.register("before-send.s3", self.requests)
        self._receipts: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register(f"before-parameter-build.s3.{operation}", _tag_key)
            client.meta.events.register(f"after-call.s3.{operation}", self._keep_receipt)

    def key(self, *parts: str) -> str:
        """The object key of `parts` under the prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def base(self, *parts: str) -> str:
        """The key prefix of everything under `parts` ("" for the whole bucket: an empty prefix and no parts)."""
        key = self.key(*parts)
        return key + "/" if key else ""

    @property
    def index_key(self) -> str:
        return self.key(INDEX_NAME)

    # ---- bucket, listing and index ---------------------------------------------------------

    def bucket_exists(self) -> bool:
        """True when the bucket answers HEAD, False when it is missing."""
        with self.errors("bucket check"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if error_code(exc) in ("404", "NoSuchBucket"):
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
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def list(self, under: str) -> dict[str, RemoteObject]:
        """Every object under `<prefix>/<under>/`, by full key."""
        found: dict[str, RemoteObject] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        with self.errors("listing"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.base(under)):
                for item in page.get("Contents", []):
                    found[item["Key"]] = RemoteObject(item["Key"], int(item["Size"]), item["ETag"])
        return found

    def load_index(self) -> None:
        """Read `<prefix>/.netsec-index.json` (missing, unreadable or over MAX_INDEX_BYTES → empty)."""
        origin = f"s3://{self.bucket}/{self.index_key}"
        with self.errors("index read"):
            try:
                body = _read_capped(self.client.get_object(Bucket=self.bucket, Key=self.index_key), MAX_INDEX_BYTES)
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    self.index = RemoteIndex()
                    return
                raise
        if body is None:
            log.warning("ignoring S3 index %s: larger than %s bytes", origin, f"{MAX_INDEX_BYTES:,}")
            self.index = RemoteIndex()
            return
        self.index = RemoteIndex.parse(body, origin)

    def save_index(self) -> None:
        """Write the index back when this run learned or changed anything."""
        if not self.index.dirty:
            return
        with self.errors("index write"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.index_key,
                Body=self.index.to_bytes(),
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
            )
        self.index.dirty = False

    def fill_shas(self, objects: list[RemoteObject]) -> None:
        """Set `.sha256` on each object: from the index when its ETag matches, else one HEAD each."""
        unknown = []
        for obj in objects:
            known = self.index.sha256_of(obj)
            if known is None:
                unknown.append(obj)
            else:
                obj.sha256 = known
        if not unknown:
            return

        def head(obj: RemoteObject) -> None:
            with self.errors("metadata read"):
                meta = self.client.head_object(Bucket=self.bucket, Key=obj.key)
            obj.sha256 = meta.get("Metadata", {}).get(SHA_META)
            self.index.remember(obj)

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
            if not checksum_matches(checksum, local, self.chunk_size):
                raise self._mismatch(key, local)
            obj = RemoteObject(key, local.size, receipt["ETag"], local.sha256)
            self.index.remember(obj)
            return obj
        with self.errors("upload check"):
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        size = int(head.get("ContentLength", -1))
        meta_sha = head.get("Metadata", {}).get(SHA_META)
        checksum = head.get("ChecksumSHA256")
        bad_checksum = bool(checksum) and not checksum_matches(checksum, local, self.chunk_size)
        if size != local.size or meta_sha != local.sha256 or bad_checksum:
            raise self._mismatch(key, local)
        obj = RemoteObject(key, size, head["ETag"], local.sha256)
        self.index.remember(obj)
        return obj

    def _mismatch(self, key: str, local: LocalFile) -> ServiceError:
        """The error for an object the server stored differently; the object is deleted first (best effort).

        Its sha256 metadata still names the local file, so left in place it would look unchanged
        to the next push, which would never send it again.
        """
        with contextlib.suppress(ClientError, BotoCoreError):
            self.client.delete_object(Bucket=self.bucket, Key=key)
        url = printable(f"s3://{self.bucket}/{key}")
        return ServiceError(
            f"{url} does not match {local.path} after upload (size or sha256 differ)",
            hint="re-run `netsec sync-s3`; if it persists, check the endpoint",
        )

    def download(self, manager: Any, obj: RemoteObject, target: Path, task: TaskHandle) -> Any:
        """Queue a download of `obj` to `target` (a temporary name); the caller checks its sha256."""
        return manager.download(self.bucket, obj.key, str(target), subscribers=[_ProgressSubscriber(task, obj.size)])

    def get_manifest(self, obj: RemoteObject) -> bytes:
        """A remote stage manifest's content (at most MAX_MANIFEST_BYTES), checked against its sha256 when known."""
        url = printable(f"s3://{self.bucket}/{obj.key}")
        body = None
        if obj.size <= MAX_MANIFEST_BYTES:
            with self.errors("download"):
                reply = self.client.get_object(Bucket=self.bucket, Key=obj.key, IfMatch=obj.etag)
                body = _read_capped(reply, MAX_MANIFEST_BYTES)
        if body is None:
            raise InputError(
                f"remote manifest {url} is too large ({obj.size:,} bytes; at most {MAX_MANIFEST_BYTES >> 20} MiB)",
                hint="a stage manifest is a few kilobytes: push that stage again from the machine that produced it",
            )
        if obj.sha256 and hashlib.sha256(body).hexdigest() != obj.sha256:
            raise ServiceError(f"{url} does not match its sha256 metadata", hint="re-run the pull")
        return body

    def delete(self, keys: list[str]) -> None:
        """Delete keys in batches of 1000."""
        with self.errors("delete"):
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                reply = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
                if reply.get("Errors"):
                    first = reply["Errors"][0]
                    url = printable(f"s3://{self.bucket}/{first['Key']}")
                    raise ServiceError(f"S3 could not delete {url}: {first.get('Code')}")
                for key in batch:
                    self.index.forget(key)


def _read_capped(reply: dict[str, Any], limit: int) -> bytes | None:
    """A GetObject reply's body, or None (unread beyond `limit` + 1 bytes) when it is longer than `limit`."""
    stream = reply["Body"]
    try:
        if int(reply.get("ContentLength") or 0) > limit:
            return None
        body = stream.read(limit + 1)
    finally:
        stream.close()
    return None if len(body) > limit else bytes(body)
