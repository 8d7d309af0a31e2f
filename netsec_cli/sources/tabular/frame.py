"""`read_table`: a whole table as a typed DataFrame (etl), read through the same reader as predict.

Text and `.npy` values are typed after every chunk is read, with the missing-value tokens and the
number parser of `chunks`: a column whose values are all numbers (or missing) is int64 when
every value is a whole-number literal and none is missing, else float64; any other column is
text (the `string` dtype, trimmed, missing tokens as <NA>). Parquet keeps its stored types (its
text columns get the same missing tokens). A number column holding an infinity (`inf`, `1e400`)
is an InputError, as in predict; so is a cell longer than `max_field_bytes`. A header-less table
without a schema is named by the shipped NSL-KDD schema when its width fits; the frame then carries
`frame.attrs["layout"] == "nsl_kdd"`. With a schema, columns are checked, ordered and cast to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import (
    MISSING_TOKENS,
    cast_text,
    check_finite,
    is_arrow,
    not_a_number,
    parse_numbers,
)
from netsec_cli.sources.tabular.formats import no_rows
from netsec_cli.sources.tabular.layout import (
    LAYOUT_ATTR,
    NSL_KDD,
    missing_columns,
    unknown_columns,
)
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES
from netsec_cli.sources.tabular.parquet import read_frame
from netsec_cli.sources.tabular.reader import open_table

if TYPE_CHECKING:
    import pandas as pd

# Rows per block when etl reads a whole table (the blocks are typed together at the end).
READ_CHUNK_ROWS = 200_000


def read_table(path: Path, schema: Schema | None = None, *, max_field_bytes: int = MAX_FIELD_BYTES) -> pd.DataFrame:
    """Read `path` into a DataFrame; with `schema`, named and typed by it (see module docstring).
    A cell longer than `max_field_bytes` is an InputError."""
    import pandas as pd

    table = open_table(Path(path), schema, target_optional=False, max_field_bytes=max_field_bytes)
    if table.kind == "parquet":
        frame = _missing_as_na(normalise_dtypes(read_frame(table, max_field_bytes)))
    else:
        parts: dict[str, list[Any]] = {name: [] for name in table.columns}
        for block in table.blocks(table.columns, READ_CHUNK_ROWS):
            for name, values in block.columns.items():
                parts[name].append(values)
        frame = pd.DataFrame({name: _typed(table.path, name, values) for name, values in parts.items()})
    if frame.empty:
        raise no_rows(table.path)
    _check_finite(frame, table.path)
    if schema is not None:
        return conform_to_schema(frame, schema, table.path)
    if table.by_position and table.schema is not None:
        frame = conform_to_schema(frame, table.schema, table.path)
        frame.attrs[LAYOUT_ATTR] = NSL_KDD
    return frame


def _check_finite(frame: pd.DataFrame, origin: Path) -> None:
    """No float column holds an infinity (numbers stored as such: Parquet, numeric .npy)."""
    import numpy as np

    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
            check_finite(origin, [str(column)], values[:, None], lambda _, values=values: values)


def _typed(path: Path, name: str, parts: list[Any]) -> Any:
    """One column from its blocks, typed as `normalise_dtypes` would: int64/float64 or string."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_arrow(parts[0]):
        text = pa.chunked_array([chunk for part in parts for chunk in part.chunks], type=pa.string())
    else:
        values = np.concatenate(parts)
        if values.dtype.kind in "biuf":
            return normalise_dtypes(pd.DataFrame({"column": values}))["column"].array
        text = pc.utf8_trim_whitespace(pa.array(values.astype("U"), type=pa.string()))
    whole = cast_text(text, pa.int64())  # int64 when every value is written as an integer
    if whole is not None:
        return np.asarray(whole.to_numpy(), dtype=np.int64)
    numbers, _ = parse_numbers(text)
    if numbers is not None:
        check_finite(path, [name], numbers[:, None], lambda _: text)
        if len(numbers) and np.isfinite(numbers).all() and (numbers == np.round(numbers)).all():
            whole = cast_text(pc.utf8_trim_whitespace(text), pa.int64())  # integers padded with spaces
        return numbers if whole is None else np.asarray(whole.to_numpy(), dtype=np.int64)
    text = pc.utf8_trim_whitespace(text)
    missing = pc.is_in(text, value_set=pa.array(MISSING_TOKENS))
    kept = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    return kept.to_pandas().astype("string").array


def _missing_as_na(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells equal to a missing-value token become <NA> (as in every other input)."""
    for column in frame.columns:
        if str(frame[column].dtype) == "string":
            values = frame[column]
            frame[column] = values.mask(values.isin(MISSING_TOKENS))
    return frame


def normalise_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Text and boolean columns become the `string` dtype (stripped); numbers stay int64/float64."""
    import pandas as pd

    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            values = values.astype("string").str.strip()
        elif pd.api.types.is_integer_dtype(values) and not values.isna().any():
            values = values.astype("int64")
        else:
            values = values.astype("float64")
        out[column] = values
    return pd.DataFrame(out, index=frame.index)


def conform_to_schema(frame: pd.DataFrame, schema: Schema, origin: Path | str) -> pd.DataFrame:
    """Check `frame`'s columns against `schema`, put them in schema order and cast to its dtypes.

    Unknown columns and missing columns are errors, except ignored columns, which may be absent.
    An int64 column with missing values becomes float64 (the ETL records that in its schema).
    """
    import pandas as pd

    present = [str(c) for c in frame.columns]
    frame = frame.set_axis(present, axis=1)
    error = unknown_columns(origin, schema, present)
    if error is not None:
        raise error
    missing = [c for c in schema.columns if c not in present and c not in schema.ignored]
    if missing:
        raise missing_columns(origin, schema, missing)
    ordered = [c for c in schema.columns if c in present]
    cast = {column: _cast(frame[column], schema.dtypes[column], column, origin) for column in ordered}
    result = pd.DataFrame(cast, index=frame.index)
    result.attrs.update(frame.attrs)
    return result


def _cast(values: pd.Series, dtype: str, column: str, origin: Path | str) -> pd.Series:
    import numpy as np
    import pandas as pd

    if str(values.dtype) == dtype:
        return values
    if dtype == "string":
        if pd.api.types.is_float_dtype(values) and (values.dropna() == values.dropna().round()).all():
            values = values.astype("Int64")
        return values.astype("string").str.strip()
    text = values.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(values) else values
    if pd.api.types.is_bool_dtype(text):
        text = text.astype("int64")
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise not_a_number(origin, column, row, str(values.iloc[row]).strip())
    check_finite(origin, [column], numbers.to_numpy(dtype=np.float64, na_value=np.nan)[:, None], lambda _: values.to_numpy())
    if dtype == "float64":
        return numbers.astype("float64")
    whole = numbers.dropna()
    if not (whole == whole.round()).all():
        raise InputError(f"column {column!r} of {origin} holds fractional values; schema says int64")
    if numbers.isna().any():
        return numbers.astype("float64")
    return numbers.astype("int64")
