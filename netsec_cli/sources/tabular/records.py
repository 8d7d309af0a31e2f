"""Rows that arrive as values rather than a file: JSON records (`netsec serve`) and DataFrames
(the MLflow model), checked by the file readers' rules and parsed into a `FeatureChunk`.

The same column rule (`layout.check_names`: no unknown column, every feature present), the same
missing-value tokens (JSON `null` and NaN are missing too), the same `input.max_field_bytes`
limit and the same number parsing as a file, so a row scores the same whichever way it came in.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import FeatureChunk, conform
from netsec_cli.sources.tabular.layout import check_names, missing_columns, unknown_columns
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES, field_too_long

_NUMBERS = {int, float, type(None)}

if TYPE_CHECKING:
    import numpy as np


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
    expected = first.keys()
    try:
        same = all(record.keys() == expected for record in records)
    except AttributeError:
        same = False
    if not same:
        _find_different(origin, schema, set(names), records)
    features = list(schema.features)
    if len(features) == 1:
        columns: dict[str, Any] = {features[0]: [record[features[0]] for record in records]}
    else:
        columns = dict(zip(features, zip(*map(operator.itemgetter(*features), records)), strict=True))
    return _chunk(origin, schema, columns, len(records), max_field_bytes)


def frame_chunk(origin: str, schema: Schema, frame: Any, *, max_field_bytes: int = MAX_FIELD_BYTES) -> FeatureChunk:
    """A pandas DataFrame of raw flow columns as a FeatureChunk (the MLflow model's input)."""
    names = [str(name) for name in frame.columns]
    check_names(origin, schema, names, target_optional=True)  # type: ignore[arg-type]
    if len(frame) == 0:
        raise InputError(f"{origin} holds no data rows")
    columns = {name: frame[name].to_numpy() for name in schema.features}
    return _chunk(origin, schema, columns, len(frame), max_field_bytes)


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


def _chunk(origin: str, schema: Schema, columns: dict[str, Any], rows: int, limit: int) -> FeatureChunk:
    numerical = set(schema.numerical)
    arrays = {name: _array(origin, name, values, name in numerical, limit) for name, values in columns.items()}
    return conform(origin, schema, arrays, 0)  # type: ignore[arg-type]


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
        return "" if value != value else repr(value)
    if isinstance(value, (bool, dict, list)):
        kind = {bool: "a boolean", dict: "an object", list: "a list"}.get(type(value), type(value).__name__)
        raise InputError(f"{origin}: column {column!r} row {row}: {kind} is not a value", hint="values are numbers, strings or null")
    return str(value)
