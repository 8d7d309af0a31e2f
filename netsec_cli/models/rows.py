"""Rows of a training or test matrix read a bounded chunk at a time.

The matrices may be `np.load(..., mmap_mode="r")` memmaps larger than memory. A block of a
memmap loaded that way is read from its file with `np.fromfile` rather than through the mapping,
so the pages read do not stay in this process's memory: what a pass over the file holds at any
time is one block. Index sets are sorted, so every pass reads the file once, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def read_block(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    """A copy of rows [start, stop) of `x` (read from the file when `x` is a whole .npy memmap)."""
    import mmap

    import numpy as np

    stop = min(stop, len(x))
    if isinstance(x, np.memmap) and isinstance(x.base, mmap.mmap) and x.filename and x.flags.c_contiguous:
        width = int(np.prod(x.shape[1:], dtype=np.int64))
        count = (stop - start) * width
        block = np.fromfile(x.filename, dtype=x.dtype, count=count, offset=x.offset + start * width * x.dtype.itemsize)
        return block.reshape((stop - start, *x.shape[1:]))
    return np.array(x[start:stop])


def row_chunks(x: np.ndarray, rows: np.ndarray | None, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(positions, block) per non-empty block of `chunk` file rows: the rows of `x` listed in the
    sorted index array `rows` (every row when None) and their positions in `rows`."""
    import numpy as np

    total = len(x)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        if rows is None:
            yield np.arange(start, stop), read_block(x, start, stop)
            continue
        first, last = np.searchsorted(rows, [start, stop])
        if first == last:
            continue
        block = read_block(x, start, stop)
        yield np.arange(first, last), block[rows[first:last] - start]


def gather(x: np.ndarray, rows: np.ndarray, chunk: int) -> np.ndarray:
    """`x[rows]` for sorted `rows`, read in one pass of `chunk`-row blocks."""
    import numpy as np

    out = np.empty((len(rows), *x.shape[1:]), dtype=x.dtype)
    for positions, block in row_chunks(x, rows, chunk):
        out[positions] = block
    return out


def score_in_chunks(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, chunk: int) -> np.ndarray:
    """`predict` applied to `x` one `chunk`-row block at a time, concatenated (float64)."""
    import numpy as np

    out = np.empty(len(x), dtype=np.float64)
    for positions, block in row_chunks(x, None, chunk):
        out[positions] = predict(block)
    return out
