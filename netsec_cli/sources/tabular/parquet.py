"""Parquet: columns matched by name, rows streamed by record batches (or read whole for etl)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.formats import first_line, no_rows
from netsec_cli.sources.tabular.layout import check_duplicates, check_names
from netsec_cli.sources.tabular.table import Block, Table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_HINT = "is it a complete Parquet file?"


def _unreadable(path: Path, exc: BaseException, past: int | None = None) -> InputError:
    where = f" past row {past}" if past else ""
    return InputError(f"cannot read Parquet file {path}{where}: {first_line(exc)}", hint=_HINT)


def _open(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError and others for a damaged file
        raise _unreadable(path, exc) from None


def open_parquet(path: Path, schema: Schema | None, *, target_optional: bool) -> Table:
    """Check a Parquet file's columns against `schema`; blocks are record batches read later."""
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
                frame = batch.to_pandas()
                yield Block(start, _objects_to_text({name: frame[name].to_numpy() for name in wanted}))
                start += batch.num_rows
        except InputError:
            raise
        except Exception as exc:
            raise _unreadable(path, exc, start) from None

    return Table(path=path, kind="parquet", columns=names, rows=rows, schema=schema, by_position=False, _blocks=blocks)


def read_frame(table: Table) -> pd.DataFrame:
    """The whole Parquet table as a DataFrame with its stored types (etl)."""
    handle = _open(table.path)
    try:
        return handle.read().to_pandas()
    except Exception as exc:
        raise _unreadable(table.path, exc) from None


def _objects_to_text(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Object columns (pandas strings with None) become unicode with '' (missing) for None/NaN."""
    import numpy as np

    out = {}
    for name, values in columns.items():
        if values.dtype == object:
            out[name] = np.array(["" if v is None or v != v else str(v) for v in values], dtype=str)
        else:
            out[name] = values
    return out
