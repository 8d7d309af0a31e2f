"""`.npy` arrays: header checks that refuse pickled objects, and bounded block reads.

A 2-D array (unicode, bytes or numbers) has no names: its columns are matched by position from
the column count (see `layout`); numeric arrays are only accepted when every feature they hold is
numerical. A 1-D structured array's field names are its column names. A dtype holding Python
objects would need pickle: it is refused from the header and never loaded. So is a header that
cannot describe the file: a negative dimension, more data than the file holds (checked before
anything is mapped or allocated), an empty dtype, fields holding sub-arrays or nested records.
C-order arrays are read a block of rows at a time with plain file reads (no memory map whose
pages would stay resident), at most `CHUNK_BYTES` of raw data per block; text blocks must be
valid text with cells of at most `max_field_bytes` (`limits.check_numpy_text`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.formats import no_rows
from netsec_cli.sources.tabular.layout import (
    check_duplicates,
    check_names,
    choose_layout,
    common_names,
    headerless_layouts,
)
from netsec_cli.sources.tabular.limits import check_numpy_text
from netsec_cli.sources.tabular.table import Block, Table

if TYPE_CHECKING:
    import numpy as np

# A raw .npy chunk is at most this many bytes (fewer rows than predict.chunk_size for wide rows).
CHUNK_BYTES = 32 * 2**20
_HEAD_ROWS = 1000


def chunk_rows(chunk_size: int, row_bytes: int) -> int:
    """Rows per chunk: `chunk_size`, lowered so a raw chunk stays within CHUNK_BYTES."""
    return max(1, min(chunk_size, CHUNK_BYTES // max(1, row_bytes)))


def read_npy_header(path: Path, limit: int) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and data offset of a .npy file, refusing object dtypes and
    headers that cannot describe the file (`_check_header`)."""
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
    _check_header(path, tuple(shape), dtype, offset, limit)
    return shape, dtype, fortran, offset


def _check_header(path: Path, shape: tuple[int, ...], dtype: np.dtype, offset: int, limit: int) -> None:
    """A header describing data the file can hold, in a dtype the reader can take apart, whose
    text cells are no wider than `limit` (so a row is at most columns x 4 x limit bytes)."""
    if any(size < 0 for size in shape):
        raise InputError(f"{path} is not a valid .npy file (its header claims shape {shape})")
    if dtype.subdtype is not None:
        raise InputError(f"{path}: unsupported array dtype {dtype}")
    for name in dtype.names or ():
        field = dtype.fields[name][0]
        if field.subdtype is not None or field.names or field.kind == "V":
            held = f"a sub-array of shape {field.shape}" if field.subdtype else "nested records" if field.names else f"raw bytes ({field})"
            raise InputError(f"{path}: field {name!r} of the structured array holds {held}", hint="each field must hold one value per row")
    for name, field in [(name, dtype.fields[name][0]) for name in dtype.names] if dtype.names else [(None, dtype)]:
        width = field.itemsize // 4 if field.kind == "U" else field.itemsize if field.kind == "S" else 0
        if width > limit:
            what = f"field {name!r} ({field})" if name else f"its dtype {field}"
            raise InputError(f"{path}: {what} holds text cells of up to {width:,} characters", hint=f"at most {limit:,} bytes: input.max_field_bytes")
    rows = 1
    for size in shape:
        rows *= int(size)
    if rows and dtype.itemsize == 0:
        raise InputError(f"{path}: its dtype {dtype} holds no data", hint="save a numeric, unicode or structured array")
    claimed, available = rows * dtype.itemsize, path.stat().st_size - offset
    if claimed > available:
        raise InputError(
            f"{path} is corrupt or truncated (its header claims {claimed:,} bytes of data for shape {shape}, the file holds {max(available, 0):,})"
        )


def open_npy(path: Path, schema: Schema | None, *, target_optional: bool, limit: int) -> Table:
    """Check the header and the column layout of a `.npy`; blocks are read later, each checked
    to be valid text with cells of at most `limit` bytes."""
    import numpy as np

    shape, dtype, fortran, offset = read_npy_header(path, limit)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, OverflowError) as exc:
        raise InputError(f"{path} is corrupt or truncated ({exc})".replace("\n", " ")) from None
    named_by = schema
    if dtype.names:
        if array.ndim != 1:
            raise InputError(f"{path}: a structured array must be 1-D, not {array.ndim}-D")
        names = list(dtype.names)
        check_duplicates(path, names)
        if schema is not None:
            check_names(path, schema, names, target_optional=target_optional)
        kind = "npy-structured"
    else:
        if array.ndim != 2:
            raise InputError(f"{path}: expected a 2-D array (rows x columns), got shape {tuple(shape)}")
        named_by, layouts = headerless_layouts(path, schema, shape[1], target_optional=target_optional)
        names = _choose(path, named_by, array, layouts, limit)
        kind = "npy"
    rows = shape[0] if shape else 0
    if rows == 0:
        raise no_rows(path)
    del array  # blocks are read from the file, so mapped pages never pile up in memory
    width = 1 if dtype.names else shape[1]
    step_bytes = dtype.itemsize * width
    index = {name: i for i, name in enumerate(names)}

    def blocks(wanted: list[str], chunk_size: int) -> Iterator[Block]:
        step = chunk_rows(chunk_size, step_bytes)
        with _npy_blocks(path, shape, dtype, fortran, offset, step) as reads:
            for start, block in reads:
                if dtype.names:
                    for name in wanted:
                        check_numpy_text(path, block[name], [name], start, limit)
                    yield Block(start, {name: block[name] for name in wanted})
                else:
                    check_numpy_text(path, block, names, start, limit)
                    yield Block(start, {name: block[:, index[name]] for name in wanted}, block, index)

    return Table(path=path, kind=kind, columns=names, rows=rows, schema=named_by, by_position=not dtype.names, _blocks=blocks)


def _choose(path: Path, schema: Schema, array: np.ndarray, layouts: list[list[str]], limit: int) -> list[str]:
    """The layout of a 2-D array: numeric arrays hold numerical features only; text must parse."""
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
    head = np.asarray(array[: chunk_rows(_HEAD_ROWS, array.dtype.itemsize * array.shape[1])])  # at most CHUNK_BYTES
    check_numpy_text(path, head, common_names(layouts, head.shape[1]), 0, limit)
    return choose_layout(path, schema, lambda layout: {name: head[:, i] for i, name in enumerate(layout)}, layouts)


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
