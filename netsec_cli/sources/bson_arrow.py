"""Turn raw BSON batches from a MongoDB cursor into Arrow tables with fixed column dtypes.

The fast path is pymongoarrow's C decoder. Integer columns are decoded as float64 and cast
back after checking every value is whole, because pymongoarrow silently truncates 3.5 to 3 in an
int64 column. A batch pymongoarrow refuses (e.g. a number in a string column) is decoded in
Python instead, value by value. Either way a value that does not fit its column becomes missing
and is counted, so a stray document never crashes the read: the schema check reports it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netsec_cli.schema import DType, Schema

if TYPE_CHECKING:
    import pyarrow as pa

ORDINAL = "_row"
META_FIELDS = frozenset({"_id", ORDINAL})
_INT64_LIMIT = 2.0**63


def _arrow_type(dtype: DType) -> pa.DataType:
    import pyarrow as pa

    return {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}[dtype]


def _pymongoarrow() -> tuple[Any, Any]:
    """PyMongoArrowContext and Schema, importing quietly (its wheel warns about pyarrow struct sizes)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*size changed, may indicate binary incompatibility", category=RuntimeWarning)
        from pymongoarrow.context import PyMongoArrowContext
        from pymongoarrow.schema import Schema as ArrowSchema
    return PyMongoArrowContext, ArrowSchema


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _type_kind(kind: type) -> str | None:
    if kind is type(None):
        return None
    if issubclass(kind, bool):
        return "other"
    if issubclass(kind, int):
        return "int"
    return "float" if issubclass(kind, float) else "other"


def sample_documents(raw: bytes, sample: int = 1000) -> list[dict[str, Any]]:
    """Decode an evenly spread sample of at most `sample` documents from a raw batch.

    Walks the documents' length prefixes (cheap) and decodes only the chosen ones: a per-value
    Python pass over a whole batch costs more than reading it from the server.
    """
    import bson

    offsets = []
    position = 0
    while position < len(raw):
        offsets.append(position)
        position += int.from_bytes(raw[position : position + 4], "little")
    step = max(1, -(-len(offsets) // sample))
    return [bson.decode(raw[start : start + int.from_bytes(raw[start : start + 4], "little")]) for start in offsets[::step]]


def infer_dtypes(documents: list[dict[str, Any]]) -> dict[str, DType]:
    """Column dtypes from sample documents, in first-seen field order (`_id`, `_row` left out).

    Only ints -> int64, ints and floats -> float64 (NaN counts as a float, as in pandas), never
    seen with a value -> float64, anything else -> string. `BatchConverter` widens an inferred
    int64 column to float64 when the first batch holds fractional values the sample missed.
    """
    seen: dict[str, set[type]] = {}
    for document in documents:
        for key, value in document.items():
            types = seen.get(key)
            if types is None:
                types = seen[key] = set()
            types.add(type(value))
    dtypes: dict[str, DType] = {}
    for key, types in seen.items():
        if key in META_FIELDS:
            continue
        kinds = {kind for kind in map(_type_kind, types) if kind}
        if kinds == {"int"}:
            dtypes[key] = "int64"
        elif kinds <= {"int", "float"}:
            dtypes[key] = "float64"
        else:
            dtypes[key] = "string"
    return dtypes


def _to_number(value: Any, dtype: DType) -> tuple[Any, bool]:
    """(converted value, valid?) for a numeric column; strings holding numbers are accepted."""
    if _missing(value):
        return None, True
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None, False
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, False
    if dtype == "float64":
        return float(value), True
    if isinstance(value, int):
        return value, True
    if math.isfinite(value) and value == math.floor(value) and abs(value) < _INT64_LIMIT:
        return int(value), True
    return None, False


def _to_text(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


@dataclass
class BatchConverter:
    """Converts raw BSON batches to Arrow tables with `dtypes`; counts values that did not fit."""

    dtypes: dict[str, DType] | None = None
    invalid: Counter[str] = field(default_factory=Counter)
    track_ordinal: bool = False
    ordinals: pa.Array | None = None
    widen_ints: bool = False

    @classmethod
    def for_schema(cls, schema: Schema | None, *, track_ordinal: bool = False) -> BatchConverter:
        """A converter for a schema's columns, or one that infers them from the first batch.

        With `track_ordinal`, each batch's `_row` values (not part of the table) are kept in
        `ordinals` so the reader can check the documents arrive in file order.
        """
        return cls(dict(schema.dtypes) if schema is not None else None, track_ordinal=track_ordinal)

    def convert(self, raw: bytes) -> pa.Table:
        """One raw batch (concatenated BSON documents) as an Arrow table."""
        import pyarrow as pa

        if self.dtypes is None:
            self.dtypes = infer_dtypes(sample_documents(raw))
            self.widen_ints = True
        try:
            return self._fast(raw)
        except (TypeError, ValueError, pa.ArrowException):
            return self._python(raw)
        finally:
            self.widen_ints = False

    def _fast(self, raw: bytes) -> pa.Table:
        import pyarrow as pa
        import pyarrow.compute as pc

        assert self.dtypes is not None
        context_class, arrow_schema = _pymongoarrow()
        decode = {c: pa.float64() if d == "int64" else _arrow_type(d) for c, d in self.dtypes.items()}
        if self.track_ordinal:
            decode[ORDINAL] = pa.int64()
        context = context_class(arrow_schema(decode), allow_invalid=False)
        context.process_bson_stream(raw)
        table = context.finish()
        if self.track_ordinal:
            self.ordinals = table.column(ORDINAL).combine_chunks()
        columns = []
        for name, dtype in self.dtypes.items():
            values = table.column(name).combine_chunks()
            if dtype == "int64":
                bad = pc.fill_null(pc.or_(pc.is_inf(values), pc.not_equal(values, pc.floor(values))), False)
                bad = pc.or_(bad, pc.fill_null(pc.greater_equal(pc.abs(values), _INT64_LIMIT), False))
                count = pc.sum(bad).as_py() or 0
                if count and self.widen_ints:
                    self.dtypes[name] = "float64"
                    count = 0
                elif count:
                    self.invalid[name] += count
                    values = pc.if_else(bad, pa.scalar(None, pa.float64()), values)
                if self.dtypes[name] == "int64":
                    values = values.cast(pa.int64())
            columns.append(values)
        return pa.Table.from_arrays(columns, schema=self._schema())

    def _python(self, raw: bytes) -> pa.Table:
        import bson
        import pyarrow as pa

        assert self.dtypes is not None
        documents = bson.decode_all(raw)
        if self.track_ordinal:
            rows = [doc.get(ORDINAL) for doc in documents]
            self.ordinals = pa.array([row if type(row) is int else None for row in rows], type=pa.int64())
        columns = []
        for name, dtype in self.dtypes.items():
            if dtype == "string":
                values = [_to_text(doc.get(name)) for doc in documents]
            else:
                pairs = [_to_number(doc.get(name), dtype) for doc in documents]
                self.invalid[name] += sum(1 for _, ok in pairs if not ok)
                values = [value for value, _ in pairs]
            columns.append(pa.array(values, type=_arrow_type(dtype)))
        return pa.Table.from_arrays(columns, schema=self._schema())

    def _schema(self) -> pa.Schema:
        import pyarrow as pa

        assert self.dtypes is not None
        return pa.schema([(name, _arrow_type(dtype)) for name, dtype in self.dtypes.items()])

    def report(self, logger: logging.Logger, namespace: str) -> None:
        """Warn once about values that did not fit their column's dtype."""
        if self.invalid:
            parts = ", ".join(f"{column} ({count})" for column, count in self.invalid.most_common())
            logger.warning(
                "%s: %d value(s) did not match the column dtypes and were read as missing: %s; "
                "`netsec validate` checks the null ratios",
                namespace,
                sum(self.invalid.values()),
                parts,
            )
