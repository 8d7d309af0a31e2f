"""Opening a table: the file checks, then the format's own sniffing and column matching.

`open_table` reads no rows beyond what choosing the columns needs; `open_input` wraps it for
predict, parsing each block into a `FeatureChunk`. Every reader refuses a cell longer than
`max_field_bytes` (config `input.max_field_bytes`, see `limits`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import (
    FeatureChunk,
    _parse_numeric_block,
    conform,
    numeric_features,
)
from netsec_cli.sources.tabular.formats import check_file
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES
from netsec_cli.sources.tabular.npy import open_npy
from netsec_cli.sources.tabular.parquet import open_parquet
from netsec_cli.sources.tabular.table import Table
from netsec_cli.sources.tabular.text import open_text


def open_table(path: Path, schema: Schema | None, *, target_optional: bool, max_field_bytes: int = MAX_FIELD_BYTES) -> Table:
    """Check and open `path` (.csv/.tsv/.txt, .parquet/.pq or .npy); its rows are read by `blocks`."""
    path = Path(path)
    kind = check_file(path)
    if kind == "text":
        return open_text(path, schema, target_optional=target_optional, limit=max_field_bytes)
    if kind == "parquet":
        return open_parquet(path, schema, target_optional=target_optional, limit=max_field_bytes)
    return open_npy(path, schema, target_optional=target_optional, limit=max_field_bytes)


@dataclass
class PredictInput:
    """An opened predict input: its column layout, row count when known, and a chunk iterator factory."""

    path: Path
    kind: str
    columns: list[str]
    rows: int | None
    _chunks: Callable[[], Iterator[FeatureChunk]] = field(repr=False)

    def chunks(self) -> Iterator[FeatureChunk]:
        """Feature chunks in input order."""
        return self._chunks()


def open_input(path: Path, schema: Schema, chunk_size: int, *, max_field_bytes: int = MAX_FIELD_BYTES) -> PredictInput:
    """Open and check a predict input (existence, type, size, header, columns) before any output
    is written; its chunks are the schema's features, parsed (the target is optional)."""
    table = open_table(path, schema, target_optional=True, max_field_bytes=max_field_bytes)
    numeric = numeric_features(schema)

    def chunks() -> Iterator[FeatureChunk]:
        for block in table.blocks(list(schema.features), chunk_size):
            parsed = None
            if block.matrix is not None and block.positions is not None:
                parsed = _parse_numeric_block(block.matrix, [block.positions[name] for name in numeric])
            yield conform(table.path, schema, block.columns, block.start, parsed)

    return PredictInput(path=table.path, kind=table.kind, columns=table.columns, rows=table.rows, _chunks=chunks)
