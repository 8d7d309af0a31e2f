"""Reading prediction inputs in bounded chunks, checked against the schema.

Accepted inputs:
- `.npy` 2-D arrays (unicode or numeric) with columns in schema order. Which columns are present
  is decided from the column count, trying in turn: every column but the target; every column;
  every column but the target and ignored ones (e.g. `difficulty`); every column but the ignored
  ones. When two layouts have the same width, the first whose values parse is used. Numeric
  arrays are only accepted when the features they hold are all numerical.
- `.npy` structured arrays: field names are column names (target/ignored fields optional).
- `.csv`, `.tsv`, `.txt` (delimiter detected; a header row of schema column names, or none and
  the layout decided from the count as above) and `.parquet`.
A `.npy` whose dtype holds Python objects would need pickle: it is refused from its header and
never loaded. Arrays are memory-mapped, text is read with a chunked reader and Parquet by record
batches, so memory stays bounded whatever the file size. Empty strings, `?`, `NA` and `nan` are
missing values (imputed by the preprocessor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SUFFIXES = (".npy", ".csv", ".tsv", ".txt", ".parquet", ".pq")
MISSING_TOKENS = ("", "?", "NA", "nan", "NaN", "null")


@dataclass
class PredictInput:
    """An opened input: its column layout, row count when known, and a chunk iterator factory."""

    path: Path
    kind: str
    columns: list[str]
    rows: int | None
    _chunks: Any = field(repr=False)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Feature frames (float64 numerics, object categoricals with NaN for missing), in order."""
        return self._chunks()


def candidate_layouts(schema: Schema) -> list[list[str]]:
    """Column lists an input without a header may carry, in order of preference."""
    ignored = set(schema.ignored)
    options = [
        [c for c in schema.columns if c != schema.target],
        list(schema.columns),
        [c for c in schema.columns if c != schema.target and c not in ignored],
        [c for c in schema.columns if c not in ignored],
    ]
    unique: list[list[str]] = []
    for option in options:
        if option not in unique:
            unique.append(option)
    return unique


def open_input(path: Path, schema: Schema, chunk_size: int) -> PredictInput:
    """Open and check `path` (existence, type, size, header, columns) before any output is written."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}", hint="check the path")
    if not path.is_file():
        raise InputError(f"input path {path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported input type {path.suffix or '(none)'!r} for {path} (use .npy, .csv, .tsv or .parquet)")
    if path.stat().st_size == 0:
        raise InputError(f"input file {path} is empty")
    if suffix == ".npy":
        return _open_npy(path, schema, chunk_size)
    if suffix in (".parquet", ".pq"):
        return _open_parquet(path, schema, chunk_size)
    return _open_text(path, schema, chunk_size)


def _check_columns(path: Path, schema: Schema, names: list[str]) -> None:
    unknown = [n for n in names if n not in set(schema.columns)]
    if unknown:
        raise InputError(f"{path} has unknown columns: {', '.join(unknown[:10])}", hint="use the schema's column names")
    missing = [c for c in schema.features if c not in set(names)]
    if missing:
        raise InputError(f"{path} is missing feature columns: {', '.join(missing[:10])}")


def _layout_for_count(path: Path, schema: Schema, count: int) -> list[list[str]]:
    matches = [layout for layout in candidate_layouts(schema) if len(layout) == count]
    if not matches:
        widths = sorted({len(layout) for layout in candidate_layouts(schema)})
        raise InputError(
            f"{path} has {count} columns; the schema expects {' or '.join(map(str, widths))} "
            f"(features in schema order, optionally with {schema.target!r} and {', '.join(schema.ignored) or 'no'} ignored columns)"
        )
    return matches


def _numeric_values(path: Path, column: str, values: np.ndarray, first_row: int) -> np.ndarray:
    """Parse one column to float64, NaN for missing tokens; a non-number is an InputError."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "biuf":
        return values.astype(np.float64, copy=False)
    if values.dtype.kind == "S":
        values = values.astype("U")
    try:
        # via numpy 2's variable-width StringDType: about 2x faster than parsing fixed-width unicode
        string_dtype = getattr(np.dtypes, "StringDType", None)
        return (values.astype(string_dtype()) if string_dtype else values).astype(np.float64)
    except ValueError:
        pass
    series = pd.Series(values, dtype=object)
    stripped = series.astype(str).str.strip()
    parsed = pd.to_numeric(stripped.where(~stripped.isin(MISSING_TOKENS), None), errors="coerce")
    bad = parsed.isna() & ~stripped.isin(MISSING_TOKENS)
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: column {column!r} row {first_row + index}: {stripped.iloc[index]!r} is not a number",
            hint="numerical columns must hold numbers",
        )
    return parsed.to_numpy(dtype=np.float64)


def _categorical_values(values: np.ndarray) -> np.ndarray:
    import numpy as np

    if values.dtype.kind == "S":
        values = values.astype("U")
    if values.dtype.kind == "f":
        out = values.astype(str).astype(object)
        out[np.isnan(values)] = np.nan
        return out
    text = values.astype(str)
    out = text.astype(object)
    missing = np.zeros(len(text), dtype=bool)
    for token in MISSING_TOKENS:
        missing |= text == token
    out[missing] = np.nan
    return out


def conform(path: Path, schema: Schema, columns: dict[str, np.ndarray], first_row: int) -> pd.DataFrame:
    """Build the feature frame of one chunk from raw column arrays."""
    import pandas as pd

    numeric = set(schema.numerical)
    out = {}
    for name in schema.features:
        values = columns[name]
        out[name] = _numeric_values(path, name, values, first_row) if name in numeric else _categorical_values(values)
    return pd.DataFrame(out, copy=False)


def _read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, bool]:
    import numpy as np

    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in reader:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader[version](handle)
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise InputError(f"{path} is not a valid .npy file ({exc})".replace("\n", " ")) from None
    if dtype.hasobject:
        raise InputError(
            f"refusing to load {path}: its dtype holds Python objects and would need pickle",
            hint="save a numeric, unicode or structured array (np.save(..., allow_pickle=False))",
        )
    return shape, dtype, fortran


def _open_npy(path: Path, schema: Schema, chunk_size: int) -> PredictInput:
    import numpy as np

    shape, dtype, _ = _read_npy_header(path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is corrupt or truncated ({exc})".replace("\n", " ")) from None
    rows = shape[0] if shape else 0
    if dtype.names:
        if array.ndim != 1:
            raise InputError(f"{path}: a structured array must be 1-D, not {array.ndim}-D")
        names = list(dtype.names)
        _check_columns(path, schema, names)
        layout, kind = names, "npy-structured"
    else:
        if array.ndim != 2:
            raise InputError(f"{path}: expected a 2-D array (rows x columns), got shape {tuple(shape)}")
        layout = _choose_layout(path, schema, array, _layout_for_count(path, schema, shape[1]))
        kind = "npy"
    if rows == 0:
        raise InputError(f"{path} has no rows")

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, rows, chunk_size):
            block = np.asarray(array[start : start + chunk_size])
            if dtype.names:
                columns = {name: block[name] for name in schema.features}
            else:
                index = {name: i for i, name in enumerate(layout)}
                columns = {name: block[:, index[name]] for name in schema.features}
            yield conform(path, schema, columns, start)

    return PredictInput(path=path, kind=kind, columns=layout, rows=rows, _chunks=chunks)


def _choose_layout(path: Path, schema: Schema, array: np.ndarray, layouts: list[list[str]]) -> list[str]:
    """The first layout under which the array's first rows parse (numeric arrays: numeric features only)."""
    import numpy as np

    if array.dtype.kind in "biuf":
        categorical = [c for c in schema.features if c in set(schema.categorical)]
        if categorical:
            raise InputError(
                f"{path} is a numeric {array.dtype} array but columns {', '.join(categorical[:5])} are categorical",
                hint="save a unicode (str) or structured array",
            )
        return layouts[0]
    if array.dtype.kind not in "US":
        raise InputError(f"{path}: unsupported array dtype {array.dtype}")
    head = np.asarray(array[:1000])
    error: InputError | None = None
    for layout in layouts:
        index = {name: i for i, name in enumerate(layout)}
        try:
            conform(path, schema, {name: head[:, index[name]] for name in schema.features}, 0)
            return layout
        except InputError as exc:
            error = error or exc
    assert error is not None
    raise error


def _open_parquet(path: Path, schema: Schema, chunk_size: int) -> PredictInput:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a damaged file
        raise InputError(f"{path} is not a readable Parquet file ({exc})".replace("\n", " ")) from None
    names = list(handle.schema_arrow.names)
    _check_columns(path, schema, names)
    rows = handle.metadata.num_rows
    if rows == 0:
        raise InputError(f"{path} has no rows")

    def chunks() -> Iterator[pd.DataFrame]:
        start = 0
        try:
            for batch in handle.iter_batches(batch_size=chunk_size, columns=schema.features):
                frame = batch.to_pandas()
                columns = {name: frame[name].to_numpy() for name in schema.features}
                yield conform(path, schema, _objects_to_text(columns), start)
                start += batch.num_rows
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path} could not be read past row {start} ({exc})".replace("\n", " ")) from None

    return PredictInput(path=path, kind="parquet", columns=names, rows=rows, _chunks=chunks)


def _objects_to_text(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Object columns (pandas strings with None) become unicode with '' for missing."""
    import numpy as np

    out = {}
    for name, values in columns.items():
        if values.dtype == object:
            out[name] = np.array(["" if v is None or v != v else str(v) for v in values], dtype=str)
        else:
            out[name] = values
    return out


def _sniff(path: Path) -> tuple[str, list[str]]:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        first = handle.readline().rstrip("\r\n")
    if not first.strip():
        raise InputError(f"input file {path} starts with an empty line", hint="remove blank lines at the top")
    delimiter = max(("\t", ",", ";", "|"), key=first.count)
    return delimiter, [f.strip().strip('"') for f in first.split(delimiter)]


def _open_text(path: Path, schema: Schema, chunk_size: int) -> PredictInput:
    import pandas as pd

    delimiter, fields = _sniff(path)
    known = set(schema.columns)
    has_header = sum(f in known for f in fields) * 2 >= len(fields)
    if has_header:
        _check_columns(path, schema, fields)
        layout = fields
    else:
        layouts = _layout_for_count(path, schema, len(fields))
        sample = pd.read_csv(path, sep=delimiter, header=None, dtype=str, keep_default_na=False, nrows=1000)
        layout = _choose_layout(path, schema, sample.to_numpy(dtype=str), layouts)

    def chunks() -> Iterator[pd.DataFrame]:
        start = 0
        try:
            reader = pd.read_csv(
                path,
                sep=delimiter,
                header=0 if has_header else None,
                names=None if has_header else layout,
                usecols=schema.features,
                dtype=str,
                keep_default_na=False,
                chunksize=chunk_size,
                skipinitialspace=True,
            )
            for frame in reader:
                if frame.empty:
                    continue
                columns = {name: frame[name].to_numpy(dtype=str) for name in schema.features}
                yield conform(path, schema, columns, start)
                start += len(frame)
        except InputError:
            raise
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path} could not be parsed near row {start}: {first}") from None
        if start == 0:
            raise InputError(f"input file {path} holds no data rows")

    return PredictInput(path=path, kind="text", columns=layout, rows=None, _chunks=chunks)
