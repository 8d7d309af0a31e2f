"""Labelled inputs: the features of every chunk (as predict reads them) and its target values.

`labelled_schema` names the target column to read (the schema's, or another one with
`--target`); `open_labelled` opens any table predict accepts but requires that column, and
streams `LabelledChunk`s: the parsed `FeatureChunk` and the target as trimmed text (numbers
written without a trailing `.0`, so `1`, `"1"` and `1.0` are one label) with a missing mask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.chunks import (
    FeatureChunk,
    _parse_numeric_block,
    conform,
    is_arrow,
    numeric_features,
    parse_numbers,
    text_values,
)
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES
from netsec_cli.sources.tabular.reader import open_table
from netsec_cli.sources.tabular.table import Table

if TYPE_CHECKING:
    import numpy as np


@dataclass
class LabelledChunk:
    """The features of consecutive rows and their target: text labels and a missing mask."""

    features: FeatureChunk
    labels: np.ndarray
    missing: np.ndarray


@dataclass
class LabelledInput:
    """An opened labelled input: its layout, row count when known, and a chunk iterator factory."""

    path: Path
    kind: str
    target: str
    rows: int | None
    _chunks: Callable[[], Iterator[LabelledChunk]] = field(repr=False)

    def chunks(self) -> Iterator[LabelledChunk]:
        """Labelled chunks in input order."""
        return self._chunks()


def labelled_schema(schema: Schema, target: str) -> Schema:
    """`schema` reading `target` as the target: the schema's own, another non-feature column of it,
    or a column it does not list (added at the end; the old target becomes optional)."""
    if target == schema.target:
        return schema
    if target in schema.features:
        raise InputError(f"target column {target!r} is a feature of the model", hint="pass --target naming the label column")
    columns = schema.columns if target in schema.columns else [*schema.columns, target]
    return Schema(
        **{
            **schema.model_dump(),
            "columns": columns,
            "dtypes": {**schema.dtypes, target: schema.dtypes.get(target, "string")},
            "target": target,
            "ignored": [c for c in [*schema.ignored, schema.target] if c != target],
        }
    )


def label_text(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(trimmed text labels, missing mask) of one target column: unicode, or an object array of
    str for Arrow text. Numbers, stored or written as text, are written back plainly (whole
    numbers without `.0`), so `1`, `"1"` and `"1.0"` agree."""
    import numpy as np

    if is_arrow(values):  # text labels as an object array of the distinct strings, never fixed-width
        numbers, _ = parse_numbers(values) if len(values) else (None, None)
        if numbers is not None:
            return _number_text(numbers)
        coded, missing = text_values(values)
        return np.asarray(coded), missing
    if values.dtype.kind in "biuf":
        return _number_text(values.astype(np.float64))
    text, missing = text_values(values)
    numbers, _ = parse_numbers(text) if len(text) else (None, None)
    return (text, missing) if numbers is None else _number_text(numbers)


def _number_text(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    missing = np.isnan(numbers)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    integers = np.where(whole, numbers, 0).astype(np.int64).astype(str)
    return np.where(whole, integers, numbers.astype(str)), missing


def normal_text(value: str | float) -> str:
    """The normal value as `label_text` writes a label."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return str(int(number)) if number.is_integer() else str(number)


def open_labelled(path: Path, schema: Schema, chunk_size: int, *, max_field_bytes: int = MAX_FIELD_BYTES) -> LabelledInput:
    """Open and check `path` (as predict does) requiring `schema.target`; nothing is read yet
    beyond the header and the first rows."""
    table = _open_with_target(Path(path), schema, max_field_bytes)
    numeric = numeric_features(schema)
    wanted = [*schema.features, schema.target]

    def chunks() -> Iterator[LabelledChunk]:
        for block in table.blocks(wanted, chunk_size):
            parsed = None
            if block.matrix is not None and block.positions is not None:
                parsed = _parse_numeric_block(block.matrix, [block.positions[name] for name in numeric])
            features = conform(table.path, schema, block.columns, block.start, parsed)
            labels, missing = label_text(block.columns[schema.target])
            yield LabelledChunk(features, labels, missing)

    return LabelledInput(path=table.path, kind=table.kind, target=schema.target, rows=table.rows, _chunks=chunks)


def _open_with_target(path: Path, schema: Schema, limit: int) -> Table:
    """The table with its target column; when it has none, the error says so (other problems of
    the file are reported as predict reports them)."""
    try:
        return open_table(path, schema, target_optional=False, max_field_bytes=limit)
    except InputError as strict:
        table = open_table(path, schema, target_optional=True, max_field_bytes=limit)
        if schema.target in table.columns:
            raise strict from None
    count = len(table.columns)
    if table.by_position:
        found = f"it has no header row and {count} columns, schema {schema.name!r} without the target"
    else:
        found = "available columns: " + ", ".join(table.columns[:12]) + (f", … ({count} in all)" if count > 12 else "")
    raise InputError(
        f"target column {schema.target!r} not found in {table.path}; {found}",
        hint="pass --target naming the column that holds the true labels",
    )
