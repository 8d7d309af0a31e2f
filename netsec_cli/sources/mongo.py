"""MongoDB / Atlas as the flow store: connection, retries, and streaming a collection to Parquet.

The connection string is the one stored in the encrypted credentials file under the name
`mongo.uri_env` (default `MONGODB_URI`; the stage passes it in), else that environment variable
(also read from `.env`), never config.yaml; its password is registered as a
secret so no log line or error shows it, and messages name only the host part. `mongodb+srv://`
and `tls=true` URIs get certifi's CA bundle. Transient failures (server selection, reconnects,
network timeouts) are retried with exponential backoff, then reported as one `ServiceError`.

Reading streams `find_raw_batches` (batch size `agents.data_ingestion_agent.batch_size`) through
pymongoarrow into Arrow tables, one Parquet row group per batch, written under a temporary name
and renamed only once the cursor is exhausted; a background thread fetches the next batch while
the current one is converted. Documents from `netsec etl load` carry their file position in
`_row` (indexed with `_id`), so they are read back in file order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from netsec_cli.errors import InputError, ServiceError
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.redaction import redact, register_secret

if TYPE_CHECKING:
    import pyarrow as pa
    from pymongo.collection import Collection

    from netsec_cli.config import Config
    from netsec_cli.schema import Schema

log = logging.getLogger("netsec_cli.sources.mongo")

T = TypeVar("T")
ORDINAL = "_row"
ORDER_INDEX = "netsec_row"
ORDER_KEYS = [(ORDINAL, 1), ("_id", 1)]
_SCHEMES = ("mongodb://", "mongodb+srv://")
_TLS_OPTION = re.compile(r"[?&](tls|ssl)=true(&|$)", re.IGNORECASE)
_TLS_FILES = {"tlscafile", "tlscertificatekeyfile", "tlscrlfile"}
_AUTH_CODES = {13, 18}  # Unauthorized, AuthenticationFailed
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class MongoUri:
    """A connection string and the parts of it that are safe to show."""

    uri: str
    host: str
    tls: bool


def parse_uri(uri: str, variable: str = "MONGODB_URI") -> MongoUri:
    """Split `uri` like pymongo does, register its password as a secret, keep only the host to show."""
    scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise InputError(f"{variable} must start with mongodb:// or mongodb+srv://", hint=f"check {variable}")
    host_part, _, path_part = uri[len(scheme) :].partition("/")
    if not host_part:
        host_part = path_part.partition("?")[0]
    userinfo, _, hosts = host_part.rpartition("@")
    password = userinfo.partition(":")[2]
    for secret in (password, unquote(password)):
        register_secret(secret)
    tls = scheme == "mongodb+srv://" or bool(_TLS_OPTION.search(uri))
    return MongoUri(uri=uri, host=hosts or "(no host)", tls=tls)


def mongo_uri(config: Config, stored: str | None = None) -> MongoUri:
    """`stored` (from the encrypted file), else the environment (or `.env`); missing is an InputError."""
    variable = config.mongo.uri_env
    uri = (stored or os.environ.get(variable, "")).strip()
    if not uri:
        raise InputError(
            f"{variable} is not set",
            hint=f"export {variable}=mongodb://HOST:27017/ or put it in .env; `make mongo` starts a local server",
        )
    return parse_uri(uri, variable)


def check_tls_files(target: MongoUri, variable: str = "MONGODB_URI") -> None:
    """InputError naming the file when a TLS file option of the URI (tlsCAFile,
    tlsCertificateKeyFile, tlsCRLFile) is not a readable file (pymongo's own error names none)."""
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(target.uri.partition("?")[2], keep_blank_values=True):
        if key.lower() in _TLS_FILES:
            path = Path(value).expanduser()
            problem = "does not exist" if not path.exists() else "is not a readable file"
            if not (path.is_file() and os.access(path, os.R_OK)):
                raise InputError(f"{variable} names {key} {path}, which {problem}", hint=f"check {variable}")


def client_options(target: MongoUri, config: Config) -> dict[str, Any]:
    """Keyword arguments for MongoClient: bounded server selection, certifi CA bundle for TLS."""
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": config.mongo.server_selection_timeout_ms,
        "appname": "netsec",
    }
    if target.tls and "tlscafile=" not in target.uri.lower():
        import certifi

        options["tlsCAFile"] = certifi.where()
    return options


@dataclass
class Connection:
    """An open client and the configured collection, with the names that are safe to show."""

    collection: Collection
    host: str
    namespace: str


@contextlib.contextmanager
def open_collection(config: Config, uri: str | None = None) -> Iterator[Connection]:
    """Connect (lazily: no network until the first operation) and close the client afterwards;
    `uri` is the stored connection string, if any (see `mongo_uri`)."""
    from pymongo import MongoClient
    from pymongo.errors import ConfigurationError, InvalidURI

    target = mongo_uri(config, uri)
    variable = config.mongo.uri_env
    check_tls_files(target, variable)
    try:
        client: Any = MongoClient(target.uri, **client_options(target, config))
    except (InvalidURI, ConfigurationError, ValueError, TypeError, OSError) as exc:
        raise InputError(f"{variable} for {target.host} is not usable: {_reason(exc)}", hint=f"check {variable}") from None
    namespace = f"{config.mongo.database}.{config.mongo.collection}"
    try:
        yield Connection(client[config.mongo.database][config.mongo.collection], target.host, namespace)
    finally:
        client.close()


def with_retries(config: Config, host: str, what: str, attempt: Callable[[], T]) -> T:
    """Run `attempt`, retrying transient MongoDB errors with exponential backoff, else one clear error."""
    from pymongo import errors

    transient = (errors.ServerSelectionTimeoutError, errors.AutoReconnect, errors.NetworkTimeout, errors.ConnectionFailure)
    settings = config.agents.data_ingestion_agent
    attempts = settings.retries + 1
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except transient as exc:
            if number == attempts:
                raise ServiceError(
                    f"MongoDB at {host}: {what} failed after {attempts} attempt(s): {_reason(exc)}",
                    hint="check that the server is running and reachable, the host in "
                    f"{config.mongo.uri_env}, and any firewall or Atlas IP access list",
                ) from None
            delay = settings.backoff_seconds * 2 ** (number - 1)
            log.warning("MongoDB at %s: %s failed (%s); retry %d/%d in %.2fs", host, what, _reason(exc), number, attempts - 1, delay)
            time.sleep(delay)
        except errors.OperationFailure as exc:
            if exc.code in _AUTH_CODES:
                raise InputError(
                    f"MongoDB at {host} refused the credentials: {_reason(exc)}",
                    hint=f"check the user name, password and authSource in {config.mongo.uri_env}",
                ) from None
            hint = "check mongo.query and mongo.projection in the config" if what.startswith("reading") else None
            raise InputError(f"MongoDB at {host} refused {what}: {_reason(exc)}", hint=hint) from None
        except errors.PyMongoError as exc:
            raise ServiceError(f"MongoDB at {host}: {what} failed: {_reason(exc)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _reason(exc: BaseException) -> str:
    """The useful first part of a pymongo error message, secrets masked."""
    details = getattr(exc, "details", None)
    text = details.get("errmsg") if isinstance(details, dict) and details.get("errmsg") else str(exc)
    text = text.split(", Timeout:")[0].split(" (configured timeouts")[0].splitlines()[0] if text else type(exc).__name__
    return redact(text[:300])


def ensure_order_index(collection: Collection) -> None:
    """Create the (`_row`, `_id`) index behind the reader's sorted pass (see `read_collection`)."""
    collection.create_index(ORDER_KEYS, name=ORDER_INDEX)


def read_projection(configured: dict[str, Any] | None, schema: Schema | None) -> dict[str, Any] | None:
    """The projection to send: the configured one, else the schema's columns, else none.

    An inclusive projection also asks for `_row` (to check file order). `_id` and `_row` never
    reach the table anyway: the converter keeps only the columns it knows, and a server-side
    exclusion costs more than it saves on small flow documents.
    """
    if configured:
        projection = dict(configured)
        if any(bool(value) for key, value in projection.items() if key != "_id"):
            projection.setdefault(ORDINAL, 1)
        return projection
    if schema is not None:
        return {**{column: 1 for column in schema.columns}, ORDINAL: 1, "_id": 0}
    return None


_DONE = object()


def prefetched(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Iterate `batches` from a background thread, `depth` items ahead, so the next network round
    trip overlaps with converting the current batch. Errors surface in the caller's thread."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in batches:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=produce, name="netsec-mongo-prefetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def read_collection(
    config: Config, dest: Path, schema: Schema | None, progress: Progress = NO_PROGRESS, uri: str | None = None
) -> int:
    """Stream the configured collection into Parquet at `dest`; returns the number of rows written.

    Columns and dtypes come from `schema`, or are inferred from the first batch. Values that do not
    fit a column's dtype are read as missing and counted in a warning (`netsec validate` flags the
    null ratios). Documents from `netsec etl load` come back in file order: natural order is read
    first (cheapest, and already right for a collection filled once), and only if their `_row`s go
    backwards is the read restarted sorted by (`_row`, `_id`). `dest` appears only when complete.
    """
    with open_collection(config, uri) as conn:

        def attempt() -> int:
            try:
                return _read_once(config, conn, dest, schema, progress, sort=None)
            except _OutOfOrder:
                log.info("%s: documents are not stored in file order; reading again sorted by _row", conn.namespace)
                return _read_once(config, conn, dest, schema, progress, sort=ORDER_KEYS)

        return with_retries(config, conn.host, f"reading {conn.namespace}", attempt)


class _OutOfOrder(Exception):
    """The natural-order read met a `_row` smaller than the one before it."""


@dataclass
class _OrderCheck:
    """Follows `_row` across batches; documents without one switch the check off (no file order)."""

    last: int = -1
    active: bool = True

    def check(self, ordinals: pa.Array | None) -> None:
        import pyarrow.compute as pc

        if not self.active or ordinals is None or len(ordinals) == 0:
            return
        if ordinals.null_count:
            self.active = False
            return
        first, last = ordinals[0].as_py(), ordinals[-1].as_py()
        ascending = len(ordinals) < 2 or pc.all(pc.greater_equal(ordinals[1:], ordinals[:-1])).as_py()
        if first < self.last or not ascending:
            raise _OutOfOrder
        self.last = last


def _read_once(
    config: Config, conn: Connection, dest: Path, schema: Schema | None, progress: Progress, *, sort: list[tuple[str, int]] | None
) -> int:
    import pyarrow.parquet as pq

    from netsec_cli.artifacts import atomic_path
    from netsec_cli.sources.bson_arrow import BatchConverter

    collection = conn.collection
    cursor = collection.find_raw_batches(
        dict(config.mongo.query),
        read_projection(config.mongo.projection, schema),
        sort=sort,
        batch_size=config.agents.data_ingestion_agent.batch_size,
        allow_disk_use=True if sort else None,
    )
    converter = BatchConverter.for_schema(schema, track_ordinal=sort is None)
    order = _OrderCheck(active=sort is None)
    rows = 0
    # No total for the bar: counting documents costs a full scan on some servers.
    with atomic_path(dest) as tmp, contextlib.closing(cursor), progress.task("Reading documents", total=None) as task:
        writer: Any = None
        try:
            for raw in prefetched(cursor):
                table = converter.convert(raw)
                order.check(converter.ordinals)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += table.num_rows
                task.advance(table.num_rows)
        finally:
            if writer is not None:
                writer.close()
        if rows == 0:
            raise InputError(
                f"MongoDB collection {conn.namespace} at {conn.host} has no documents matching mongo.query",
                hint="load a file with `netsec etl load FILE` or check mongo.query",
            )
    converter.report(log, conn.namespace)
    return rows


@dataclass(frozen=True)
class InsertOutcome:
    """What one unordered batch insert did."""

    inserted: int
    already_present: int
    rejected: int
    first_rejection: str | None = None


def insert_documents(collection: Collection, documents: list[dict[str, Any]]) -> InsertOutcome:
    """Insert a batch unordered; duplicate `_id`s (code 11000) count as already present, not errors."""
    from pymongo.errors import BulkWriteError

    if not documents:
        return InsertOutcome(0, 0, 0)
    try:
        result = collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        details = exc.details
        write_errors = details.get("writeErrors", [])
        duplicates = sum(1 for error in write_errors if error.get("code") == DUPLICATE_KEY)
        others = [error for error in write_errors if error.get("code") != DUPLICATE_KEY]
        first = redact(str(others[0].get("errmsg", "")))[:200] if others else None
        return InsertOutcome(details.get("nInserted", 0), duplicates, len(others), first)
    return InsertOutcome(len(result.inserted_ids), 0, 0)
