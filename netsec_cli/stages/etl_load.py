"""`netsec etl load FILE`: push a flow file into the configured MongoDB collection.

The file is read exactly as `netsec etl` reads it (CSV/TSV/.txt with the delimiter detected,
Parquet, header-less NSL-KDD text; typed by `data.schema` when set) and inserted in unordered
batches of `agents.data_ingestion_agent.batch_size`. Documents get deterministic `_id`s (see
`sources.mongo_documents`), so a second load of the same file inserts nothing and reports every
row as already present. Values are stored as read; wrong types are the schema check's business.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.progress import Progress
from netsec_cli.runner import RunOptions, run_stage

if TYPE_CHECKING:
    import pandas as pd

    from netsec_cli.config import Config
    from netsec_cli.schema import Schema
    from netsec_cli.sources.mongo import Connection

log = logging.getLogger("netsec_cli.stages.etl_load")


@dataclass(frozen=True)
class LoadResult:
    """Counts of one load: every row of the file is inserted, already present or rejected."""

    file: Path
    host: str
    collection: str
    rows: int
    inserted: int
    already_present: int
    rejected: int
    documents: int


def _configured_schema(config: Config) -> Schema | None:
    from netsec_cli.schema import Schema

    if config.data.schema_file is None:
        return None
    return Schema.load(config.resolve(config.data.schema_file))


def load_file(config: Config, path: Path, *, options: RunOptions = RunOptions()) -> LoadResult:
    """Insert the rows of `path` into `mongo.database`.`mongo.collection`; idempotent per file."""
    from netsec_cli.secrets.runtime import stored_mongo_uri
    from netsec_cli.sources.mongo import (
        ensure_order_index,
        open_collection,
        with_retries,
    )
    from netsec_cli.sources.tabular import read_table

    path = Path(path)
    namespace = f"{config.mongo.database}.{config.mongo.collection}"
    with run_stage(config, "etl_load", options, publishes=False, file=path, collection=namespace) as run:
        with open_collection(config, stored_mongo_uri(config)) as conn:
            frame = read_table(path, _configured_schema(config), max_field_bytes=config.input.max_field_bytes)
            counts = _insert_all(config, conn, frame, path.name, options.progress)
            # Built after the inserts: maintaining it during them is slower, and a no-op if it exists.
            with_retries(config, conn.host, f"indexing {conn.namespace}", partial(ensure_order_index, conn.collection))
            total = with_retries(config, conn.host, f"counting {conn.namespace}", conn.collection.estimated_document_count)
        run.summary.update(rows=len(frame), **counts, documents=total)
    return LoadResult(file=path, host=conn.host, collection=conn.namespace, rows=len(frame), **counts, documents=total)


def _insert_all(config: Config, conn: Connection, frame: pd.DataFrame, name: str, progress: Progress) -> dict[str, int]:
    """Insert `frame` batch by batch; returns inserted / already_present / rejected counts."""
    from netsec_cli.sources.mongo import insert_documents, with_retries
    from netsec_cli.sources.mongo_documents import DocumentBuilder

    batch_size = config.agents.data_ingestion_agent.batch_size
    builder = DocumentBuilder(list(frame.columns))
    counts = {"inserted": 0, "already_present": 0, "rejected": 0}
    first_rejection: str | None = None
    with progress.task(f"Loading {name}", total=len(frame)) as task:
        for start in range(0, len(frame), batch_size):
            documents = builder.documents(frame.iloc[start : start + batch_size], start)
            insert = partial(insert_documents, conn.collection, documents)
            outcome = with_retries(config, conn.host, f"inserting into {conn.namespace}", insert)
            counts["inserted"] += outcome.inserted
            counts["already_present"] += outcome.already_present
            counts["rejected"] += outcome.rejected
            first_rejection = first_rejection or outcome.first_rejection
            task.advance(len(documents))
    if counts["rejected"]:
        log.warning("%s: %d document(s) rejected by the server, e.g.: %s", conn.namespace, counts["rejected"], first_rejection)
    return counts
