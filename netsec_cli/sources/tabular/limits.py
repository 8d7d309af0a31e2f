"""Input limits: the longest cell a reader accepts, and cell checks made before any conversion.

A cell longer than `max_field_bytes` (config `input.max_field_bytes`, in UTF-8 bytes) is an
InputError naming the file, row and column, raised before the value is converted to anything:
Arrow text (delimited files, Parquet) is measured with `binary_length` per column per batch, and a
`.npy` text block only when its dtype could hold a longer cell. `.npy` text must also be valid
text: unicode code points beyond U+10FFFF or surrogates, and non-ASCII bytes in a bytes array,
are refused. `shown` quotes a cell in an error message, cut to a readable length.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np

# The default of `input.max_field_bytes`: one cell of any input holds at most this many bytes.
MAX_FIELD_BYTES = 65536
_SHOWN_CHARS = 40


def shown(text: str) -> str:
    """`text` quoted for an error message; a long one cut, with its length."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    return f"{text[:_SHOWN_CHARS]!r}… ({len(text):,} characters)"


def field_too_long(path: Path, row: int | None, column: str, size: int, limit: int) -> InputError:
    """The error for a cell of `size` bytes (`row` None: the header row)."""
    where = "header row" if row is None else f"row {row}"
    return InputError(
        f"{path} {where}, column {column!r}: a field of {size:,} bytes",
        hint=f"at most {limit:,}: input.max_field_bytes",
    )


def is_text_type(kind: Any) -> bool:
    """Whether an Arrow type is text (string, large_string or string_view)."""
    import pyarrow as pa

    view = getattr(pa.types, "is_string_view", None)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or (view is not None and view(kind)))


def without_views(values: Any) -> Any:
    """Arrow text as string or large_string (a string_view column is cast: few kernels take it)."""
    import pyarrow as pa

    view = getattr(pa.types, "is_string_view", None)
    return values.cast(pa.large_string()) if view is not None and view(values.type) else values


def check_arrow_lengths(path: Path, columns: Mapping[str, Any], first_row: int, limit: int) -> None:
    """Every text cell of these Arrow columns (rows from `first_row`) holds at most `limit` bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def textual(kind: Any) -> bool:
        return is_text_type(kind) or bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))

    for name, values in columns.items():
        kind = values.type
        if pa.types.is_dictionary(kind) and textual(kind.value_type):  # measured without decoding
            parts = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
            lengths = pa.chunked_array([pc.take(pc.binary_length(without_views(part.dictionary)), part.indices).cast(pa.int64()) for part in parts], type=pa.int64())
        elif textual(kind):
            lengths = pc.binary_length(without_views(values))
        else:
            continue
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limit:
            row = pc.index(pc.greater(lengths, limit), True).as_py()
            raise field_too_long(path, first_row + row, name, int(lengths[row].as_py()), limit)


def check_numpy_text(path: Path, values: np.ndarray, names: list[str], first_row: int, limit: int) -> None:
    """A `.npy` text block (rows x `names`, or one column of rows) is valid text with cells of at
    most `limit` UTF-8 bytes. Cheap for ordinary blocks: one maximum over the block decides."""
    import numpy as np

    if values.dtype.kind not in "US" or values.dtype.itemsize == 0 or values.size == 0:
        return
    block = np.ascontiguousarray(values).reshape(len(values), -1)
    if values.dtype.kind == "S":
        raw = block.view(np.uint8).reshape(len(block), len(names), -1)
        if raw.max() >= 0x80:
            row, col = _first(raw >= 0x80)
            byte = int(raw[row, col][raw[row, col] >= 0x80][0])
            raise InputError(
                f"{path} row {first_row + row}, column {names[col]!r}: byte 0x{byte:02x} is not ASCII text",
                hint="save text as a unicode (str) array",
            )
        if values.dtype.itemsize > limit:
            _check_sizes(path, np.char.str_len(block), names, first_row, limit)
        return
    codes = block.view(np.uint32).reshape(len(block), len(names), -1)
    if codes.max() >= 0xD800:  # the exact test only for blocks holding such code points
        bad = (codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))
        if bad.any():
            row, col = _first(bad)
            point = int(codes[row, col][bad[row, col]][0])
            reason = "a surrogate" if point <= 0xDFFF else "beyond U+10FFFF"
            raise InputError(f"{path} row {first_row + row}, column {names[col]!r}: invalid text (code point 0x{point:x} is {reason})")
    if 4 * codes.shape[2] > limit:  # a cell could hold more than `limit` UTF-8 bytes
        sizes = np.zeros(codes.shape[:2], dtype=np.int64)
        for floor in (0, 0x80, 0x800, 0x10000):
            sizes += np.count_nonzero(codes > floor if floor == 0 else codes >= floor, axis=2)
        _check_sizes(path, sizes, names, first_row, limit)


def _check_sizes(path: Path, sizes: np.ndarray, names: list[str], first_row: int, limit: int) -> None:
    over = sizes > limit
    if over.any():
        row, col = _first(over)
        raise field_too_long(path, first_row + row, names[col], int(sizes[row, col]), limit)


def _first(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first true cell, in row order, of a rows x columns (x anything) mask."""
    import numpy as np

    cells = mask.reshape(mask.shape[0], mask.shape[1], -1).any(axis=2)
    row, col = np.argwhere(cells)[0]
    return int(row), int(col)
