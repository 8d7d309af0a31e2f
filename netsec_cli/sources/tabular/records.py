"""Rows that arrive as values rather than a file: JSON records or columns + rows (`netsec serve`)
and DataFrames (the MLflow model), checked by the file readers' rules into a `FeatureChunk`.

The same column rule (`layout.check_names`: no unknown column, every feature present), the same
missing-value tokens (JSON `null` and NaN are missing too), the same `input.max_field_bytes`
limit and the same number parsing as a file, so a row scores the same whichever way it came in.
The numeric features are gathered in one pass into one float64 matrix when numpy can convert
every value (numbers, null as missing, number text; JSON true/false count as 1/0 there); otherwise
(a missing-value token such as "?", a word, a list) each column is parsed by the text rules.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import FeatureChunk, conform
from netsec_cli.sources.tabular.layout import (
    check_names,
    missing_columns,
    unknown_columns,
)
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES, field_too_long

if TYPE_CHECKING:
    import numpy as np

_NUMBERS = {int, float, type(None)}


def records_chunk(origin: str, schema: Schema, records: Sequence[Mapping[str, Any]], *, max_field_bytes: int = MAX_FIELD_BYTES) -> FeatureChunk:
    """JSON-like records (one mapping of column to value per row) as a FeatureChunk.

    Every record must name the same columns; the target and ignored columns may be present."""
    if not records:
        raise InputError(f"{origin} holds no records")
    first = records[0]
    if not isinstance(first, Mapping):
        raise InputError(f"{origin} record 0 is not an object of column: value")
    names = list(first)
    check_names(origin, schema, names, target_optional=True)  # type: ignore[arg-type]
    if not _same_columns(records, first, len(schema.features)):
        _find_different(origin, schema, set(names), records)
    try:
        return _rows_chunk(origin, schema, records, list(schema.features), max_field_bytes)
    except KeyError:  # a record of the right size naming another column
        _find_different(origin, schema, set(names), records)
        raise


def table_chunk(origin: str, schema: Schema, columns: Sequence[Any], data: Sequence[Any], *, max_field_bytes: int = MAX_FIELD_BYTES) -> FeatureChunk:
    """Column names and rows of values (`{"columns": [...], "data": [[...], ...]}`) as a FeatureChunk."""
    if not all(isinstance(name, str) for name in columns):
        raise InputError(f"{origin}: every column name must be a string")
    check_names(origin, schema, list(columns), target_optional=True)  # type: ignore[arg-type]
    if not data:
        raise InputError(f"{origin} holds no rows")
    width = len(columns)
    if not all(type(row) is list and len(row) == width for row in data):
        bad = next(i for i, row in enumerate(data) if type(row) is not list or len(row) != width)
        raise InputError(f"{origin} row {bad} is not a list of {width} values (one per column)")
    position = {name: index for index, name in enumerate(columns)}
    return _rows_chunk(origin, schema, data, [position[name] for name in schema.features], max_field_bytes)


def frame_chunk(origin: str, schema: Schema, frame: Any, *, max_field_bytes: int = MAX_FIELD_BYTES) -> FeatureChunk:
    """A pandas DataFrame of raw flow columns as a FeatureChunk (the MLflow model's input)."""
    names = [str(name) for name in frame.columns]
    check_names(origin, schema, names, target_optional=True)  # type: ignore[arg-type]
    if len(frame) == 0:
        raise InputError(f"{origin} holds no data rows")
    numerical = set(schema.numerical)
    columns = {name: _array(origin, name, frame[name].to_numpy(), name in numerical, max_field_bytes) for name in schema.features}
    return conform(origin, schema, columns, 0)  # type: ignore[arg-type]


def _same_columns(records: Sequence[Any], first: Mapping[str, Any], features: int) -> bool:
    """Whether every record names the columns of `first` (cheaply: by count when `first` holds
    exactly the features, as each record is then checked to hold every feature when read)."""
    try:
        if len(first) == features:
            return all(len(record) == features for record in records) and all(isinstance(r, Mapping) for r in records)
        expected = first.keys()
        return all(record.keys() == expected for record in records)
    except (AttributeError, TypeError):
        return False


def _find_different(origin: str, schema: Schema, expected: set[str], records: Sequence[Any]) -> None:
    """Raise the error for the first record that is not an object or names other columns."""
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise InputError(f"{origin} record {index} is not an object of column: value")
        if record.keys() != expected:
            _different_columns(f"{origin} record {index}", schema, expected, record)


def _different_columns(where: str, schema: Schema, expected: set[str], record: Mapping[str, Any]) -> None:
    unknown = unknown_columns(where, schema, [name for name in record if name not in expected])
    if unknown is not None:
        raise unknown
    missing = [name for name in schema.features if name in expected and name not in record]
    if missing:
        raise missing_columns(where, schema, missing)
    raise InputError(f"{where} names other columns than record 0", hint="every record must name the same columns")


def _gather(rows: Sequence[Any], keys: list[Hashable]) -> list[tuple[Any, ...]]:
    """The values at `keys` of every row, as one tuple per row."""
    if len(keys) == 1:
        return [(value,) for value in map(operator.itemgetter(keys[0]), rows)]
    return list(map(operator.itemgetter(*keys), rows))


def _rows_chunk(origin: str, schema: Schema, rows: Sequence[Any], keys: list[Hashable], limit: int) -> FeatureChunk:
    """Rows (mappings or lists) read at `keys` (one per schema feature) into a FeatureChunk."""
    import numpy as np

    numerical = set(schema.numerical)
    key_of = dict(zip(schema.features, keys, strict=True))
    numeric_names = [name for name in schema.features if name in numerical]
    columns: dict[str, Any] = {}
    numeric = None
    if numeric_names:
        values = _gather(rows, [key_of[name] for name in numeric_names])
        try:  # numbers, null (NaN) and number text parse at once; anything else takes the text path
            numeric = np.array(values, dtype=np.float64).reshape(len(rows), len(numeric_names))
        except (TypeError, ValueError):
            numeric = None
        if numeric is not None:
            columns.update({name: numeric[:, j] for j, name in enumerate(numeric_names)})
        else:
            transposed = list(zip(*values, strict=True))
            columns.update({name: _array(origin, name, list(transposed[j]), True, limit) for j, name in enumerate(numeric_names)})
    for name in schema.features:
        if name not in numerical:
            columns[name] = _array(origin, name, list(map(operator.itemgetter(key_of[name]), rows)), False, limit)
    return conform(origin, schema, columns, 0, numeric)  # type: ignore[arg-type]


def _array(origin: str, column: str, values: Any, numeric: bool, limit: int) -> np.ndarray:
    """One column as numpy: float64 when every value is a number, else unicode text ("" missing)."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(np.float64, copy=False)
    kinds = {type(value) for value in values}
    if numeric and kinds <= _NUMBERS:
        return np.array(values, dtype=np.float64)  # None becomes NaN: missing
    if kinds <= {str}:
        text = list(values)
    else:
        text = [_text(origin, column, row, value) for row, value in enumerate(values)]
    if text and max(map(len, text)) * 4 <= limit:
        return np.array(text, dtype=str)
    for row, cell in enumerate(text):
        if len(cell) * 4 > limit and len(cell.encode("utf-8")) > limit:
            raise field_too_long(origin, row, column, len(cell.encode("utf-8")), limit)  # type: ignore[arg-type]
    return np.array(text, dtype=str) if text else np.zeros(0, dtype="U1")


def _text(origin: str, column: str, row: int, value: Any) -> str:
    """A JSON value as text: null and NaN are missing (""), a number its shortest repr."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (bool, dict, list)):
        kind = {bool: "a boolean", dict: "an object", list: "a list"}.get(type(value), type(value).__name__)
        raise InputError(f"{origin}: column {column!r} row {row}: {kind} is not a value", hint="values are numbers, strings or null")
    return str(value)
