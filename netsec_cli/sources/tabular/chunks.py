"""Values into arrays: the one set of missing-value tokens, number parsing, and `FeatureChunk`.

Every reader hands raw column values here: numpy numbers, numpy text (unicode or bytes) or Arrow
strings (text files, Parquet). Text is trimmed of surrounding whitespace; a value equal to one of
`MISSING_TOKENS` is missing (NaN in numeric columns, masked in categorical ones); any other value
of a numerical column must parse as a finite number (`inf`, `1e400` or a number too long for a
float is refused like a word). Numbers are parsed by Arrow (correctly rounded, like numpy), so
etl and predict read the same text as the same float. Arrow text is never turned into
fixed-width numpy unicode (whose every cell costs 4 bytes x the longest): categorical columns
become `TextColumn`s (codes into distinct values, `coded`), numbers are parsed per distinct value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.coded import TextColumn, coded_text
from netsec_cli.sources.tabular.limits import shown

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Missing in every input: "?" (NSL-KDD's gap marker) and the spellings pandas reads as missing by default.
MISSING_TOKENS: tuple[str, ...] = (
    "", "?", "NA", "N/A", "n/a", "nan", "NaN", "-nan", "-NaN", "null", "NULL", "None", "<NA>",
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
)  # fmt: skip
_WHITESPACE = (9, 10, 11, 12, 13, 32)
_PROBE_ROWS = 1000


@dataclass
class FeatureChunk:
    """The features of `rows` consecutive input rows starting at row `start`, as plain arrays.

    `numeric` is float64 (rows x numeric_columns, finite, NaN for missing); `categorical` maps
    each categorical column to (text values, missing mask): numpy unicode (from `.npy`, as wide as
    the file's dtype) or a `TextColumn` (codes into the distinct values, from Arrow text), both
    indexed alike. `frame()` gives the equivalent DataFrame that scikit-learn's preprocessor takes.
    """

    start: int
    rows: int
    features: list[str]
    numeric_columns: list[str]
    numeric: np.ndarray
    categorical: dict[str, tuple[np.ndarray | TextColumn, np.ndarray]]

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


def is_arrow(values: Any) -> bool:
    """Whether `values` is an Arrow array (text read from a delimited file)."""
    return type(values).__module__.startswith("pyarrow")


def parse_numbers(values: Any) -> tuple[np.ndarray | None, int | None]:
    """(float64 values, None), or (None, index of the first value that is not a number).

    Fast paths first (Arrow casts, whole-array numpy parsing); when they refuse, each distinct
    value is parsed once (`_parse_distinct`), so a text column is told apart quickly."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    if is_arrow(values):
        fast = _parse_arrow(values)
        if fast is not None:
            return fast, None
        distinct = pc.unique(values)
        codes = np.asarray(pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False), dtype=np.intp)
        parsed, bad = _parse_distinct_arrow(distinct)
    else:
        if values.dtype.kind in "biuf":
            return values.astype(np.float64, copy=False), None
        if values.dtype.kind == "S":
            values = values.astype("U")
        if values.dtype.kind == "U":
            fast = _parse_ascii(values) if values.ndim == 1 else None
            if fast is None:
                fast = _parse_numpy(values)
            if fast is not None:
                return fast, None
        codes, found = pd.factorize(values)
        parsed, bad = _parse_distinct(np.asarray(found, dtype=str))
    wrong = np.flatnonzero(bad[codes])
    if len(wrong):
        return None, int(wrong[0])
    return parsed[codes], None


def _parse_numpy(values: np.ndarray) -> np.ndarray | None:
    """float64 from unicode numbers by numpy (surrounding whitespace allowed); None if any fails."""
    import numpy as np

    try:
        # via numpy 2's variable-width StringDType: about 2x faster than parsing fixed-width unicode
        string_dtype = getattr(np.dtypes, "StringDType", None)
        return (values.astype(string_dtype()) if string_dtype else values).astype(np.float64)
    except ValueError:
        return None


def _parse_distinct_arrow(distinct: Any) -> tuple[np.ndarray, np.ndarray]:
    """`_parse_distinct` for distinct Arrow strings, without fixed-width unicode."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(distinct)
    missing = pc.or_(pc.is_in(trimmed, value_set=pa.array(MISSING_TOKENS, type=trimmed.type)), pc.is_null(trimmed))
    present = ~np.asarray(missing, dtype=bool)  # nulls (Parquet) are missing too
    out = np.full(len(trimmed), np.nan)
    bad = np.zeros(len(trimmed), dtype=bool)
    rest = np.asarray(trimmed.filter(pa.array(present)).to_numpy(zero_copy_only=False), dtype=object)  # str objects
    parsed = _parse_numpy(rest) if len(rest) else np.zeros(0)
    if parsed is None:
        parsed = pd.to_numeric(pd.Series(rest, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
        bad[present] = np.isnan(parsed)
    out[present] = parsed
    return out, bad


def _parse_distinct(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64, not-a-number mask) for distinct unicode values; missing tokens are NaN, not bad."""
    import numpy as np
    import pandas as pd

    stripped = np.char.strip(uniques)
    present = ~np.isin(stripped, MISSING_TOKENS)
    out = np.full(len(uniques), np.nan)
    bad = np.zeros(len(uniques), dtype=bool)
    rest = stripped[present]
    parsed = _parse_numpy(rest) if len(rest) else rest.astype(np.float64)
    if parsed is None:
        parsed = pd.to_numeric(pd.Series(rest, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
        bad[present] = np.isnan(parsed)
    out[present] = parsed
    return out, bad


def _numeric_values(path: Path, column: str, values: Any, first_row: int) -> np.ndarray:
    """Parse one column to float64, NaN for missing tokens; a non-number is an InputError."""
    parsed, bad = parse_numbers(values)
    if parsed is not None:
        return parsed
    assert bad is not None
    raise not_a_number(path, column, first_row + bad, cell_text(values, bad))


def cell_text(values: Any, row: int) -> str:
    """One raw cell as trimmed text (for error messages)."""
    return str(values[row].as_py() if is_arrow(values) else values[row]).strip()


def not_a_number(origin: Path | str, column: str, row: int, text: str) -> InputError:
    """The error for a value of a numerical column that is not a number."""
    return InputError(f"{origin}: column {column!r} row {row}: {shown(text)} is not a number", hint="numerical columns must hold numbers")


def not_finite(origin: Path | str, column: str, row: int, text: str) -> InputError:
    """The error for a value of a numerical column that parses to an infinite number."""
    return InputError(
        f"{origin}: column {column!r} row {row}: {shown(text)} is not a finite number",
        hint="numerical columns must hold finite numbers",
    )


def check_finite(origin: Path | str, names: list[str], numbers: np.ndarray, raw: Any, first_row: int = 0) -> None:
    """`numbers` (rows x `names`, parsed from `raw(name)`) hold no infinity (NaN is missing)."""
    import numpy as np

    infinite = np.isinf(numbers)
    if infinite.any():
        column = int(np.flatnonzero(infinite.reshape(len(numbers), -1).any(axis=0))[0])
        row = int(np.flatnonzero(infinite.reshape(len(numbers), -1)[:, column])[0])
        raise not_finite(origin, names[column], first_row + row, cell_text(raw(names[column]), row))


def cast_text(text: Any, kind: Any) -> Any:
    """Arrow `text` cast to `kind`, or None when a value does not convert. The first rows are
    tried first: a failing cast costs far more than a passing one."""
    import pyarrow as pa

    try:
        if len(text) > _PROBE_ROWS:
            text.slice(0, _PROBE_ROWS).cast(kind)
        return text.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _parse_arrow(text: Any) -> np.ndarray | None:
    """float64 from an Arrow string array, missing tokens as NaN; None when a value does not parse."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = pc.is_in(text, value_set=pa.array(MISSING_TOKENS))
    if pc.any(missing).as_py():
        text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    parsed = cast_text(text, pa.float64())
    return None if parsed is None else np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)


def _parse_ascii(values: np.ndarray) -> np.ndarray | None:
    """float64 (same shape) from a unicode array of ASCII numbers, parsed by Arrow (correctly
    rounded, like numpy), missing tokens as NaN. None when anything is not a plain ASCII number
    (spaces, other scripts, bad values): the caller then takes the per-column path."""
    import numpy as np
    import pyarrow as pa

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
    parsed = _parse_arrow(text)
    return None if parsed is None else parsed.reshape(values.shape)


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


def _strip(text: np.ndarray) -> np.ndarray:
    """`text` without surrounding whitespace (a cheap check first: stripping is the rare case)."""
    import numpy as np

    width = text.dtype.itemsize // 4
    if text.size == 0 or width == 0:
        return text
    codes = np.ascontiguousarray(text).view(np.uint32).reshape(len(text), width)
    last = codes[np.arange(len(text)), np.maximum(np.char.str_len(text) - 1, 0)]
    if np.isin(codes[:, 0], _WHITESPACE).any() or np.isin(last, _WHITESPACE).any():
        return np.char.strip(text)
    return text


def text_values(values: Any) -> tuple[np.ndarray | TextColumn, np.ndarray]:
    """(trimmed text, missing mask) for one categorical column: a TextColumn for Arrow text,
    numpy unicode for numpy values."""
    import numpy as np

    if is_arrow(values):
        return coded_text(values, MISSING_TOKENS)
    if values.dtype.kind == "S":
        values = values.astype("U")
    if values.dtype.kind == "f":
        return values.astype(str), np.isnan(values)
    text = _strip(values.astype(str))
    return text, np.isin(text, MISSING_TOKENS)


def numeric_features(schema: Schema) -> list[str]:
    """The numerical features, in schema feature order (the columns of FeatureChunk.numeric)."""
    numeric = set(schema.numerical)
    return [name for name in schema.features if name in numeric]


def conform(path: Path, schema: Schema, columns: dict[str, Any], first_row: int, numeric: np.ndarray | None = None) -> FeatureChunk:
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
    check_finite(path, numeric_columns, numeric, columns.__getitem__, first_row)
    categorical = {name: text_values(columns[name]) for name in schema.features if name not in numeric_set}
    return FeatureChunk(
        start=first_row,
        rows=rows,
        features=list(schema.features),
        numeric_columns=numeric_columns,
        numeric=numeric,
        categorical=categorical,
    )
