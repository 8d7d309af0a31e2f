"""What etl's fingerprint knows of a MongoDB collection without reading it: cheap statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netsec_cli.sources.mongo import open_collection, with_retries

if TYPE_CHECKING:
    from netsec_cli.config import Config


def collection_stats(config: Config, uri: str | None = None) -> dict[str, Any]:
    """The server, and the count and largest `_id` of the documents `mongo.query` selects.

    An insert or a delete changes them; a document updated in place does not (`--force` then).
    `uri` is the stored connection string, if any (see `mongo.mongo_uri`)."""
    with open_collection(config, uri) as conn:
        query = dict(config.mongo.query)

        def attempt() -> dict[str, Any]:
            last = conn.collection.find_one(query, projection={"_id": 1}, sort=[("_id", -1)])
            return {"documents": conn.collection.count_documents(query), "max_id": repr(last["_id"]) if last else None}

        # failing as reading the collection would (the same retries and messages): etl stops here
        return {"host": conn.host, **with_retries(config, conn.host, f"reading {conn.namespace}", attempt)}
