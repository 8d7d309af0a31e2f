"""Read a table from disk: CSV/TSV/.txt (delimiter detected), Parquet, and header-less NSL-KDD text.

A header-less text file whose field count matches the shipped NSL-KDD schema (43 fields, or 42
without `difficulty`) is named from `schema/nsl_kdd.yaml`; the returned frame then carries
`frame.attrs["layout"] == "nsl_kdd"`. With an explicit `Schema`, columns are named or checked
against it and cast to its dtypes. Every problem is an `InputError` naming the file.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema, shipped_schema

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("netsec_cli.sources.files")

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".parquet", ".pq")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
DELIMITERS = (",", "\t", ";", "|")
LAYOUT_ATTR = "layout"
NSL_KDD = "nsl_kdd"
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 50


def read_table(path: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Read `path` into a DataFrame; with `schema`, named and typed by it (see module docstring)."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        frame = _read_text(path, schema)
    else:
        frame = normalise_dtypes(_read_parquet(path))
        if schema is not None:
            frame = conform_to_schema(frame, schema, path)
    if frame.empty:
        raise InputError(f"input file {path} holds no data rows")
    return frame


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file not found: {path}", hint="check the path or pass --source")
    if not path.is_file():
        raise InputError(f"input path {path} is not a file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise InputError(f"unsupported file type {path.suffix or '(none)'!r} for {path} (use one of {kinds})")
    if path.stat().st_size == 0:
        raise InputError(f"input file {path} is empty")


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read Parquet file {path}: {reason}", hint="is it a complete Parquet file?") from None


def _decode_sample(path: Path) -> tuple[str, str]:
    """The first lines of a text file and its encoding; binary content is an InputError."""
    with path.open("rb") as handle:
        raw = handle.read(_SAMPLE_BYTES)
    if b"\x00" in raw:
        raise InputError(f"input file {path} is binary, not a delimited text table")
    for encoding in ("utf-8", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(raw) == _SAMPLE_BYTES:
            text = text.rsplit("\n", 1)[0]
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
        if controls > max(2, len(text) // 100):
            break
        return text, encoding
    raise InputError(f"input file {path} is binary or not text, not a delimited text table")


def detect_delimiter(sample: str) -> str:
    """The delimiter (comma, tab, semicolon or pipe) that splits the sample's lines most consistently."""
    lines = [line for line in sample.splitlines() if line.strip()][:_SAMPLE_LINES]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        fields, hits = Counter(counts).most_common(1)[0]
        if fields < 2:
            continue
        score = (hits / len(counts), fields)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _looks_like_header(first_row: list[str], schema: Schema | None) -> bool:
    cells = [cell.strip() for cell in first_row]
    if schema is not None and set(cells) & set(schema.columns):
        return True
    return all(cells) and len(set(cells)) == len(cells) and not any(_is_number(cell) for cell in cells)


def _nsl_kdd_schema(fields: int) -> Schema | None:
    """The shipped NSL-KDD schema trimmed to `fields` columns, if that count fits it (43 or 42)."""
    schema = Schema.load(shipped_schema(NSL_KDD))
    if fields == len(schema.columns):
        return schema
    if fields == len(schema.columns) - 1 and schema.columns[-1] in schema.ignored:
        return drop_columns(schema, [schema.columns[-1]])
    return None


def drop_columns(schema: Schema, columns: list[str]) -> Schema:
    """A copy of `schema` without `columns` (e.g. an ignored column a file does not have)."""
    gone = set(columns)
    keep = [c for c in schema.columns if c not in gone]
    return Schema(
        name=schema.name,
        columns=keep,
        dtypes={c: schema.dtypes[c] for c in keep},
        numerical=[c for c in schema.numerical if c not in gone],
        categorical=[c for c in schema.categorical if c not in gone],
        target=schema.target,
        normal_value=schema.normal_value,
        ignored=[c for c in schema.ignored if c not in gone],
        categorical_domains={k: v for k, v in schema.categorical_domains.items() if k not in gone},
    )


def _read_text(path: Path, schema: Schema | None) -> pd.DataFrame:
    import pandas as pd

    sample, encoding = _decode_sample(path)
    delimiter = detect_delimiter(sample)
    first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    if not first:
        raise InputError(f"input file {path} has no rows")
    header = _looks_like_header(first, schema)
    names: list[str] | None = None
    layout_schema: Schema | None = None
    if not header:
        if schema is not None:
            layout_schema = _schema_for_fields(schema, len(first), path)
        else:
            layout_schema = _nsl_kdd_schema(len(first))
            if layout_schema is None:
                raise InputError(
                    f"input file {path} has no header row and {len(first)} fields, which matches no known layout",
                    hint="add a header row or pass --schema",
                )
        names = layout_schema.columns
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=0 if header else None,
            names=names,
            encoding=encoding,
            skipinitialspace=True,
            index_col=False,
            na_values=["?"],
        )
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise InputError(f"cannot parse {path}: {detail}", hint="every row needs the same number of fields") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = normalise_dtypes(frame)
    if schema is not None:
        return conform_to_schema(frame, layout_schema or schema, path)
    if layout_schema is not None:
        frame = conform_to_schema(frame, layout_schema, path)
        frame.attrs[LAYOUT_ATTR] = NSL_KDD
    return frame


def _schema_for_fields(schema: Schema, fields: int, path: Path) -> Schema:
    """Name header-less fields from `schema`: all its columns, or all but trailing ignored ones."""
    columns = schema.columns
    if fields == len(columns):
        return schema
    trailing = len(columns) - fields
    if 0 < trailing and all(c in schema.ignored for c in columns[fields:]):
        return drop_columns(schema, columns[fields:])
    raise InputError(f"input file {path} has {fields} columns but schema {schema.name!r} expects {len(columns)}")


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
    present = [str(c) for c in frame.columns]
    frame = frame.set_axis(present, axis=1)
    unknown = [c for c in present if c not in schema.dtypes]
    if unknown:
        raise InputError(f"{origin} has unknown columns not in schema {schema.name!r}: {', '.join(unknown[:10])}")
    missing = [c for c in schema.columns if c not in present and c not in schema.ignored]
    if missing:
        raise InputError(f"{origin} is missing columns of schema {schema.name!r}: {', '.join(missing[:10])}")
    ordered = [c for c in schema.columns if c in present]
    import pandas as pd

    cast = {column: _cast(frame[column], schema.dtypes[column], column, origin) for column in ordered}
    result = pd.DataFrame(cast, index=frame.index)
    result.attrs.update(frame.attrs)
    return result


def _cast(values: pd.Series, dtype: str, column: str, origin: Path | str) -> pd.Series:
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
        example = values[bad].iloc[0]
        raise InputError(f"column {column!r} of {origin} holds non-numeric values (e.g. {example!r}); schema says {dtype}")
    if dtype == "float64":
        return numbers.astype("float64")
    whole = numbers.dropna()
    if not (whole == whole.round()).all():
        raise InputError(f"column {column!r} of {origin} holds fractional values; schema says int64")
    if numbers.isna().any():
        return numbers.astype("float64")
    return numbers.astype("int64")
