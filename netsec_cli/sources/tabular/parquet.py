"""Parquet: columns matched by name, rows streamed by record batches (or read whole for etl).

Text columns stay Arrow strings (dictionary columns decoded), checked against `max_field_bytes`
before anything is converted; other columns become numpy arrays (object values as Arrow text).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import is_arrow
from netsec_cli.sources.tabular.formats import first_line, no_rows
from netsec_cli.sources.tabular.layout import check_duplicates, check_names
from netsec_cli.sources.tabular.limits import (
    check_arrow_lengths,
    is_text_type,
    without_views,
)
from netsec_cli.sources.tabular.table import Block, Table

if TYPE_CHECKING:
    import pandas as pd

_HINT = "is it a complete Parquet file?"


def _unreadable(path: Path, exc: BaseException, past: int | None = None) -> InputError:
    where = f" past row {past}" if past else ""
    return InputError(f"cannot read Parquet file {path}{where}: {first_line(exc)}", hint=_HINT)


def _open(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, pre_buffer=False)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError and others for a damaged file
        raise _unreadable(path, exc) from None


def open_parquet(path: Path, schema: Schema | None, *, target_optional: bool, limit: int) -> Table:
    """Check a Parquet file's columns against `schema`; blocks are record batches read later,
    every text cell at most `limit` bytes."""
    handle = _open(path)
    names = list(handle.schema_arrow.names)
    check_duplicates(path, names)
    if schema is not None:
        check_names(path, schema, names, target_optional=target_optional)
    rows = handle.metadata.num_rows
    if rows == 0:
        raise no_rows(path)

    def blocks(wanted: list[str], chunk_size: int) -> Iterator[Block]:
        start = 0
        try:
            for batch in handle.iter_batches(batch_size=chunk_size, columns=wanted):
                check_arrow_lengths(path, {name: batch.column(name) for name in wanted}, start, limit)
                columns = {name: _values(batch.column(name)) for name in wanted}
                check_arrow_lengths(path, {n: v for n, v in columns.items() if is_arrow(v)}, start, limit)  # values made text
                yield Block(start, columns)
                start += batch.num_rows
        except InputError:
            raise
        except Exception as exc:
            raise _unreadable(path, exc, start) from None

    return Table(path=path, kind="parquet", columns=names, rows=rows, schema=schema, by_position=False, _blocks=blocks)


def read_frame(table: Table, limit: int) -> pd.DataFrame:
    """The whole Parquet table as a DataFrame with its stored types (etl), every text cell at
    most `limit` bytes."""
    handle = _open(table.path)
    try:
        arrow = handle.read()
    except Exception as exc:
        raise _unreadable(table.path, exc) from None
    check_arrow_lengths(table.path, {name: arrow.column(name) for name in arrow.column_names}, 0, limit)
    try:
        return arrow.to_pandas()
    except Exception as exc:
        raise _unreadable(table.path, exc) from None


def _values(values: Any) -> Any:
    """One column of a batch: Arrow text for text (None is '', missing), numpy for numbers,
    other values as their text."""
    import pyarrow as pa

    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if is_text_type(values.type):
        return without_views(values)
    array = values.to_pandas().to_numpy()
    if array.dtype != object:
        return array
    return pa.array(["" if v is None or v != v else str(v) for v in array], type=pa.large_string())
