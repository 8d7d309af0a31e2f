"""Where etl's rows come from: the synthetic generator, a file, or a MongoDB collection, as chunks.

`open_source` settles what is known before the rows are read: the name errors and the result use,
the schema the source comes with (explicit, the shipped NSL-KDD one, or none: inferred later from
`head`) and the columns. `EtlSource.chunks(columns, chunk_size)` then yields the rows in order:
synthetic frames (`synthetic_chunks`, already typed) or raw file blocks (typed by `etl_chunks`).
A MongoDB collection is streamed batch by batch to a Parquet file in `scratch`, then read like any
Parquet file; the file is removed when the source is closed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.progress import Progress
from netsec_cli.schema import Schema, shipped_schema

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("netsec_cli.stages.etl")

NSL_KDD = "nsl_kdd"
MONGO_STAGING = ".mongo-source.parquet"


@dataclass
class EtlSource:
    """An opened source: its name, schema origin ("explicit", "nsl_kdd" or "inferred"), the schema
    it came with, its columns, and its rows as chunks (`head`: typed first rows, to infer from)."""

    name: str
    origin: str
    schema: Schema | None
    columns: list[str]
    chunks: Callable[[list[str], int], Iterator[Any]]
    head: Callable[[int], pd.DataFrame] | None = None


@contextlib.contextmanager
def open_source(
    config: Config, source: str, explicit: Schema | None, *, from_config: bool, scratch: Path, progress: Progress
) -> Iterator[EtlSource]:
    """Open "synthetic", "mongo" or a file path (relative to the project root when `from_config`,
    else to the working directory)."""
    if source == "synthetic":
        yield _synthetic(config, explicit)
    elif source == "mongo":
        staged = scratch / MONGO_STAGING
        try:
            yield _mongo(config, explicit, staged, progress)
        finally:
            staged.unlink(missing_ok=True)
    else:
        path = config.resolve(source) if from_config else Path(source).expanduser().resolve()
        yield _file(config, path, explicit)


def source_fingerprint(config: Config, source: str, *, from_config: bool) -> dict[str, Any]:
    """What etl's fingerprint records of a source: synthetic (its rows and seed are in `data`),
    the collection and its statistics, or the resolved file and its content's sha256."""
    if source == "synthetic":
        return {"kind": "synthetic"}
    if source == "mongo":
        from netsec_cli.secrets.runtime import stored_mongo_uri
        from netsec_cli.sources.mongo_stats import collection_stats

        settings = config.mongo.model_dump(mode="json", include={"database", "collection", "query", "projection"})
        return {"kind": "mongo", **settings, **collection_stats(config, stored_mongo_uri(config))}
    from netsec_cli.artifacts import sha256_file

    path = config.resolve(source) if from_config else Path(source).expanduser().resolve()
    try:
        digest = sha256_file(path) if path.is_file() else None
    except OSError:  # unreadable: etl itself reports it
        digest = None
    return {"kind": "file", "path": str(path), "sha256": digest}


def _synthetic(config: Config, explicit: Schema | None) -> EtlSource:
    from netsec_cli.sources.synthetic import synthetic_chunks

    rows, seed = config.data.synthetic_rows, config.data.synthetic_seed
    shipped = Schema.load(shipped_schema(NSL_KDD))
    return EtlSource(
        name="synthetic",
        origin="explicit" if explicit else NSL_KDD,
        schema=explicit or shipped,
        columns=list(shipped.columns),
        chunks=lambda columns, chunk_size: synthetic_chunks(rows, seed, chunk_size),
    )


def _file(config: Config, path: Path, explicit: Schema | None, name: str | None = None) -> EtlSource:
    from netsec_cli.sources.tabular.typed import open_frames

    frames = open_frames(path, explicit, origin=name, max_field_bytes=config.input.max_field_bytes)
    table = frames.table
    if explicit is not None:
        origin, schema = "explicit", explicit
    elif table.by_position and table.schema is not None:
        origin, schema = NSL_KDD, table.schema
    else:
        origin, schema = "inferred", None
    return EtlSource(frames.origin, origin, schema, frames.columns, frames.blocks, frames.head)


def _mongo(config: Config, explicit: Schema | None, staged: Path, progress: Progress) -> EtlSource:
    """The configured collection, streamed to `staged` by the mongo source, opened as Parquet."""
    from netsec_cli.secrets.runtime import stored_mongo_uri
    from netsec_cli.sources.mongo import read_collection

    rows = read_collection(config, dest=staged, schema=explicit, progress=progress, uri=stored_mongo_uri(config))
    log.info("read %s documents from MongoDB %s.%s", rows, config.mongo.database, config.mongo.collection)
    if rows == 0 or not staged.is_file():
        raise InputError(f"MongoDB collection {config.mongo.database}.{config.mongo.collection} returned no rows")
    name = f"mongo:{config.mongo.database}.{config.mongo.collection}"
    opened = _file(config, staged, None, name)
    if explicit is not None:
        opened.origin, opened.schema = "explicit", explicit
    else:
        opened.schema = _shipped_layout(opened.columns)
        opened.origin = NSL_KDD if opened.schema else "inferred"
    return opened


def _shipped_layout(columns: list[str]) -> Schema | None:
    """The shipped NSL-KDD schema when the columns are exactly its columns (difficulty optional)."""
    shipped = Schema.load(shipped_schema(NSL_KDD))
    required = set(shipped.columns) - set(shipped.ignored)
    return shipped if required <= set(columns) <= set(shipped.columns) else None
