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
never loaded. C-order arrays are read a block of rows at a time with plain file reads (no memory
map whose pages would stay resident), at most `CHUNK_BYTES` of raw data per block; text is read
with a chunked reader and Parquet by record batches, so memory stays bounded whatever the file
size. Each chunk is parsed once into a `FeatureChunk` of plain arrays (float64 numerics,
unicode categoricals with a missing mask). Empty strings, `?`, `NA` and `nan` are
missing values (imputed by the preprocessor).
"""

from __future__ import annotations

import contextlib
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
# A raw .npy chunk is at most this many bytes (fewer rows than predict.chunk_size for wide rows).
CHUNK_BYTES = 32 * 2**20


@dataclass
class PredictInput:
    """An opened input: its column layout, row count when known, and a chunk iterator factory."""

    path: Path
    kind: str
    columns: list[str]
    rows: int | None
    _chunks: Any = field(repr=False)

    def chunks(self) -> Iterator[FeatureChunk]:
        """Feature chunks in input order."""
        return self._chunks()


@dataclass
class FeatureChunk:
    """The features of `rows` consecutive input rows starting at row `start`, as plain arrays.

    `numeric` is float64 (rows x numeric_columns, NaN for missing); `categorical` maps each
    categorical column to (unicode values, missing mask). `frame()` gives the equivalent
    DataFrame that scikit-learn's preprocessor takes.
    """

    start: int
    rows: int
    features: list[str]
    numeric_columns: list[str]
    numeric: np.ndarray
    categorical: dict[str, tuple[np.ndarray, np.ndarray]]

    def __len__(self) -> int:
        return self.rows

    def frame(self) -> pd.DataFrame:
        """Feature columns in schema order: float64 numerics, object categoricals with NaN for missing."""
        import numpy as np
        import pandas as pd

        position = {name: i for i, name in enumerate(self.numeric_columns)}
        out: dict[str, np.ndarray] = {}
        for name in self.features:
            if name in position:
                out[name] = self.numeric[:, position[name]]
            else:
                values, missing = self.categorical[name]
                column = values.astype(object)
                column[missing] = np.nan
                out[name] = column
        return pd.DataFrame(out, copy=False)

    def value(self, column: str, row: int) -> Any:
        """One cell (row relative to this chunk): a float, a string, or NaN when missing."""
        if column in self.categorical:
            values, missing = self.categorical[column]
            return float("nan") if missing[row] else str(values[row])
        return float(self.numeric[row, self.numeric_columns.index(column)])


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
    fast = _parse_ascii(values) if values.ndim == 1 else None
    if fast is not None:
        return fast
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


def _parse_ascii(values: np.ndarray) -> np.ndarray | None:
    """float64 (same shape) from a unicode array of ASCII numbers, parsed by Arrow (correctly
    rounded, like numpy), missing tokens as NaN. None when anything is not a plain ASCII number
    (spaces, other scripts, bad values): the caller then takes the per-column path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    width = values.dtype.itemsize // 4
    if values.dtype.kind != "U" or width == 0 or values.size == 0 or values.size * width >= 2**31:
        return None
    codes = np.ascontiguousarray(values).reshape(-1).view(np.uint32).reshape(-1, width)
    if codes.max() >= 128:
        return None
    present = codes != 0
    if width > 1 and (present[:, 1:] > present[:, :-1]).any():
        return None  # a NUL inside a string
    offsets = np.zeros(len(codes) + 1, dtype=np.int32)
    np.cumsum(np.count_nonzero(present, axis=1), out=offsets[1:])
    data = codes[present].astype(np.uint8)
    text = pa.StringArray.from_buffers(len(codes), pa.py_buffer(offsets), pa.py_buffer(data))
    missing = pc.is_in(text, value_set=pa.array(MISSING_TOKENS))
    try:
        parsed = pc.if_else(missing, pa.scalar(None, pa.string()), text).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return parsed.to_numpy(zero_copy_only=False).astype(np.float64, copy=False).reshape(values.shape)


def _categorical_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unicode text, missing mask) for one categorical column."""
    import numpy as np

    if values.dtype.kind == "S":
        values = values.astype("U")
    text = values.astype(str)
    if values.dtype.kind == "f":
        return text, np.isnan(values)
    missing = np.zeros(len(text), dtype=bool)
    for token in MISSING_TOKENS:
        missing |= text == token
    return text, missing


def numeric_features(schema: Schema) -> list[str]:
    """The numerical features, in schema feature order (the columns of FeatureChunk.numeric)."""
    numeric = set(schema.numerical)
    return [name for name in schema.features if name in numeric]


def conform(
    path: Path, schema: Schema, columns: dict[str, np.ndarray], first_row: int, numeric: np.ndarray | None = None
) -> FeatureChunk:
    """Parse and check the raw column arrays of one chunk into a FeatureChunk (`numeric`: the
    numeric features already parsed, when the caller could do it for the whole block at once)."""
    import numpy as np

    numeric_set = set(schema.numerical)
    numeric_columns = numeric_features(schema)
    rows = len(columns[schema.features[0]]) if schema.features else 0
    if numeric is None:
        numeric = np.empty((rows, len(numeric_columns)), dtype=np.float64)
        for j, name in enumerate(numeric_columns):
            numeric[:, j] = _numeric_values(path, name, columns[name], first_row)
    categorical = {name: _categorical_values(columns[name]) for name in schema.features if name not in numeric_set}
    return FeatureChunk(
        start=first_row,
        rows=rows,
        features=list(schema.features),
        numeric_columns=numeric_columns,
        numeric=numeric,
        categorical=categorical,
    )


def _read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and data offset of a .npy file, refusing object dtypes."""
    import numpy as np

    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in reader:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader[version](handle)
            offset = handle.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise InputError(f"{path} is not a valid .npy file ({exc})".replace("\n", " ")) from None
    if dtype.hasobject:
        raise InputError(
            f"refusing to load {path}: its dtype holds Python objects and would need pickle",
            hint="save a numeric, unicode or structured array (np.save(..., allow_pickle=False))",
        )
    return shape, dtype, fortran, offset


def _open_npy(path: Path, schema: Schema, chunk_size: int) -> PredictInput:
    import numpy as np

    shape, dtype, fortran, offset = _read_npy_header(path)
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
    width = 1 if dtype.names else shape[1]
    step = chunk_rows(chunk_size, dtype.itemsize * width)
    index = {name: i for i, name in enumerate(layout)}
    numeric_positions = [index[name] for name in numeric_features(schema)] if not dtype.names else []
    del array  # chunks are read from the file, so mapped pages never pile up in memory

    def chunks() -> Iterator[FeatureChunk]:
        with _npy_blocks(path, shape, dtype, fortran, offset, step) as blocks:
            for start, block in blocks:
                if dtype.names:
                    yield conform(path, schema, {name: block[name] for name in schema.features}, start)
                    continue
                columns = {name: block[:, index[name]] for name in schema.features}
                yield conform(path, schema, columns, start, _parse_numeric_block(block, numeric_positions))

    return PredictInput(path=path, kind=kind, columns=layout, rows=rows, _chunks=chunks)


def _parse_numeric_block(block: np.ndarray, positions: list[int]) -> np.ndarray | None:
    """The numeric columns of a 2-D unicode block parsed in one go (None: not possible, parse per column)."""
    import numpy as np

    if block.dtype.kind != "U" or block.dtype.itemsize == 0 or not positions:
        return None
    codes = np.ascontiguousarray(block).view(np.uint32).reshape(block.shape[0], block.shape[1], -1)
    # copy runs of adjacent columns as uint32 code points: far faster than indexing unicode items
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][1] == position:
            runs[-1][1] += 1
        else:
            runs.append([position, position + 1])
    picked = np.concatenate([codes[:, a:b] for a, b in runs], axis=1)
    return _parse_ascii(picked.reshape(-1).view(block.dtype).reshape(block.shape[0], len(positions)))


def chunk_rows(chunk_size: int, row_bytes: int) -> int:
    """Rows per chunk: `predict.chunk_size`, lowered so a raw chunk stays within CHUNK_BYTES."""
    return max(1, min(chunk_size, CHUNK_BYTES // max(1, row_bytes)))


@contextlib.contextmanager
def _npy_blocks(
    path: Path, shape: tuple[int, ...], dtype: np.dtype, fortran: bool, offset: int, step: int
) -> Iterator[Iterator[tuple[int, np.ndarray]]]:
    """(first row, block) pairs read from the file with plain reads: C-order rows are contiguous, so
    each block is one read into a fresh buffer and no memory map keeps the file's pages resident.
    Fortran-order files (columns contiguous) fall back to slicing a memory map."""
    import numpy as np

    rows = shape[0]
    row_shape = tuple(shape[1:])
    row_bytes = dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
    if fortran:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        yield ((start, np.array(array[start : start + step])) for start in range(0, rows, step))
        return
    with path.open("rb", buffering=0) as handle:

        def blocks() -> Iterator[tuple[int, np.ndarray]]:
            handle.seek(offset)
            for start in range(0, rows, step):
                block = np.empty((min(step, rows - start), *row_shape), dtype=dtype)
                wanted = block.shape[0] * row_bytes
                got = handle.readinto(block.reshape(-1).view(np.uint8)) if wanted else 0
                if got != wanted:
                    raise InputError(f"{path} is corrupt or truncated (ends inside row {start + (got or 0) // max(row_bytes, 1)})")
                yield start, block

        yield blocks()


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

    def chunks() -> Iterator[FeatureChunk]:
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

    def chunks() -> Iterator[FeatureChunk]:
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
