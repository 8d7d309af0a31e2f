"""Text columns as codes into their distinct values: a chunk costs its own bytes, whatever its cells.

Arrow text (delimited files, Parquet) is dictionary-encoded per Arrow chunk: each row holds a code
into `uniques`, that chunk's distinct values (trimmed, as Python strings). Fixed-width numpy
unicode would cost every row 4 bytes x the longest cell of the chunk, so one long cell would
multiply the memory of the whole chunk. `TextColumn` indexes like the text array it stands for
(`values[i]`, `values[rows]`, `astype`, `np.asarray`); consumers that know it (the preprocessor's
`FastTransform`) work once per distinct value and take by code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class TextColumn:
    """One text column of a chunk: `codes` (one per row) into `uniques` (object array of str)."""

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: np.ndarray, uniques: np.ndarray) -> None:
        self.codes = codes
        self.uniques = uniques

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return f"TextColumn({len(self.codes)} rows, {len(self.uniques)} distinct values)"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.codes.shape)

    def __getitem__(self, index: Any) -> Any:
        """A str for one row; an object array of str for a slice, mask or array of rows."""
        return self.uniques[self.codes[index]]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self.uniques[self.codes]
        return values if dtype is None else values.astype(dtype)

    def astype(self, dtype: Any, copy: bool = True) -> np.ndarray:
        """The rows as a numpy array of `dtype` (object: the strings themselves)."""
        return self.uniques[self.codes].astype(dtype)

    def tolist(self) -> list[str]:
        return self.uniques[self.codes].tolist()


def coded_text(values: Any, missing_tokens: tuple[str, ...]) -> tuple[TextColumn, np.ndarray]:
    """(TextColumn of the trimmed values, missing mask) of an Arrow text array or chunked array;
    nulls and values equal to one of `missing_tokens` are missing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    codes: list[np.ndarray] = []
    uniques: list[np.ndarray] = []
    missing: list[np.ndarray] = []
    base = 0
    for part in parts:
        if part.null_count:
            part = part.fill_null("")
        encoded = part.dictionary_encode()
        distinct = pc.utf8_trim_whitespace(encoded.dictionary)
        codes.append(np.asarray(encoded.indices.to_numpy(), dtype=np.intp) + base)
        uniques.append(np.asarray(distinct.to_numpy(zero_copy_only=False), dtype=object))
        missing.append(np.asarray(pc.is_in(distinct, value_set=pa.array(missing_tokens, type=distinct.type)), dtype=bool))
        base += len(distinct)
    if not parts:
        return TextColumn(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object)), np.zeros(0, dtype=bool)
    code = np.concatenate(codes)
    return TextColumn(code, np.concatenate(uniques)), np.concatenate(missing)[code]
