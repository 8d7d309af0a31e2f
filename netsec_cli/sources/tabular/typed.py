"""Typed DataFrame chunks for etl's streaming read: `read_table`'s typing rules, one block at a time.

`open_frames` opens a table as `read_table` does (same checks, same column matching). `FrameTable.head`
types its first rows by `read_table`'s inference, for a schema to be inferred from; `typed_block`
types any block to settled dtypes, independently of every other block (a plain function):
- "string": trimmed text, missing-value tokens as <NA> (a whole float as its integer text, 2.0 as "2");
- "float64": numbers parsed as in predict (`chunks.parse_numbers`); a value that is not a number,
  or not a finite one, is an InputError naming the column and its row in the whole table;
- "int64": as float64, but kept int64 when every value is whole and none is missing; otherwise the
  column comes back float64 and the caller decides whether that promotion is allowed.
Parquet text columns are inferred as text, as `read_table` keeps Parquet's stored types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.schema import DType, Schema
from netsec_cli.sources.tabular.chunks import (
    MISSING_TOKENS,
    cast_text,
    cell_text,
    check_finite,
    is_arrow,
    not_a_number,
    parse_numbers,
)
from netsec_cli.sources.tabular.frame import _cast, _typed
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES
from netsec_cli.sources.tabular.reader import open_table
from netsec_cli.sources.tabular.table import Block, Table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class FrameTable:
    """An opened table read as typed chunks; `origin` names it in errors."""

    table: Table
    origin: str

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return self.table.columns

    def blocks(self, wanted: list[str], chunk_size: int) -> Iterator[Block]:
        """Raw blocks of at most `chunk_size` rows holding the `wanted` columns (see `typed_block`)."""
        return self.table.blocks(wanted, chunk_size)

    def head(self, rows: int) -> pd.DataFrame:
        """The first (at most) `rows` rows, typed as `read_table` would type a table of only them."""
        import pandas as pd

        blocks = self.table.blocks(self.columns, rows)
        try:
            block = next(blocks)
        finally:
            blocks.close()
        keep_text = self.table.kind == "parquet"
        return pd.DataFrame({name: _inferred(self.origin, name, values, keep_text) for name, values in block.columns.items()})


def open_frames(path: Path, schema: Schema | None, *, origin: str | None = None, max_field_bytes: int = MAX_FIELD_BYTES) -> FrameTable:
    """Open `path` for etl (the target is required), named and checked against `schema` if given."""
    table = open_table(Path(path), schema, target_optional=False, max_field_bytes=max_field_bytes)
    return FrameTable(table, origin or str(table.path))


def typed_block(origin: str, block: Block, dtypes: Mapping[str, DType]) -> pd.DataFrame:
    """The block's columns typed to `dtypes` (see the module docstring), index from 0."""
    import pandas as pd

    return pd.DataFrame({name: typed_column(origin, name, values, dtypes[name], block.start) for name, values in block.columns.items()})


def typed_column(origin: str, name: str, values: Any, dtype: DType, start: int) -> Any:
    """One raw column (numpy values or Arrow text, rows from `start`) typed to `dtype`."""
    import numpy as np
    import pyarrow as pa

    if not is_arrow(values) and values.dtype.kind in "biuf":
        return _typed_numbers(origin, name, values, dtype, start)
    text = _as_text(values)
    if dtype == "string":
        return _text(text)
    if dtype == "int64":
        whole = cast_text(text, pa.int64())
        if whole is not None and whole.null_count == 0:
            return np.asarray(whole.to_numpy(), dtype=np.int64)
    numbers, bad = parse_numbers(text)
    if numbers is None:
        assert bad is not None
        raise not_a_number(origin, name, start + bad, cell_text(text, bad))
    check_finite(origin, [name], numbers[:, None], lambda _: text, start)
    return _whole(numbers, text) if dtype == "int64" else numbers


def _inferred(origin: str, name: str, values: Any, keep_text: bool) -> Any:
    """A column of the head typed by `read_table`'s inference (Parquet text stays text)."""
    if is_arrow(values):
        return _text(values) if keep_text else _typed(Path(origin), name, [_chunked(values)])
    return _typed(Path(origin), name, [values])


def _chunked(values: Any) -> Any:
    import pyarrow as pa

    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _as_text(values: Any) -> Any:
    """Arrow text for Arrow or numpy non-numeric values (numpy text trimmed, as `read_table` does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_arrow(values):
        return values
    return pc.utf8_trim_whitespace(pa.array(values.astype("U"), type=pa.string()))


def _text(text: Any) -> Any:
    """Trimmed text with missing-value tokens (and nulls) as <NA>, as a pandas `string` array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(text)
    missing = pc.is_in(trimmed, value_set=pa.array(MISSING_TOKENS, type=trimmed.type))
    kept = pc.if_else(missing, pa.scalar(None, trimmed.type), trimmed)
    return kept.to_pandas().astype("string").array


def _whole(numbers: np.ndarray, text: Any) -> np.ndarray:
    """int64 when every value is a whole number and none is missing, else the float64 values."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (np.isfinite(numbers).all() and (numbers == np.round(numbers)).all()):
        return numbers
    exact = cast_text(pc.utf8_trim_whitespace(text), pa.int64())  # integers padded with spaces, beyond 2**53
    if exact is not None and exact.null_count == 0:
        return np.asarray(exact.to_numpy(), dtype=np.int64)
    return numbers.astype(np.int64)


def _typed_numbers(origin: str, name: str, values: np.ndarray, dtype: DType, start: int) -> Any:
    """Numpy numbers (Parquet, numeric `.npy`) typed to `dtype`; bool is text, as in `normalise_dtypes`."""
    import numpy as np
    import pandas as pd

    if dtype == "string":
        return _cast(pd.Series(values), "string", name, origin).array
    if values.dtype.kind in "biu":
        return values.astype(np.int64 if dtype == "int64" else np.float64)
    numbers = values.astype(np.float64)
    check_finite(origin, [name], numbers[:, None], lambda _: values, start)
    if dtype == "int64" and not np.isnan(numbers).any() and (numbers == np.round(numbers)).all():
        return numbers.astype(np.int64)
    return numbers
