"""Finding the first over-long field of a delimited text file, when Arrow cannot read its row.

Arrow's CSV reader needs every row to fit in one read block ("straddling object straddles two
block boundaries" otherwise); the block is sized so a row whose fields all keep
`input.max_field_bytes` always fits. A row that does not fit therefore holds a longer field, and
`locate_long_field` names it: the raw bytes are scanned in fixed-size pieces with numpy (quotes
tracked by parity, `""` escapes and CR/LF/CRLF line ends as Arrow reads them, blank lines
skipped), so memory stays bounded by the piece, not the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.sources.tabular.limits import field_too_long

if TYPE_CHECKING:
    import numpy as np

_PIECE_BYTES = 2**20
_QUOTE, _LF, _CR = 34, 10, 13


class _Scan:
    """The scanner's state between pieces."""

    def __init__(self) -> None:
        self.quotes = 0  # quotes seen so far
        self.high = 0  # bytes >= 0x80 seen so far (each two UTF-8 bytes once a Latin-1 file is decoded)
        self.field_start = 0  # where the current field starts, and the two counts there
        self.field_quotes = 0
        self.field_high = 0
        self.after_newline = True  # the last separator ended a line (the file starts a line)
        self.column = 0  # the current field's position in its line
        self.lines = 0  # non-blank lines completed


def _size(raw: int, quotes: int, high: int, latin1: bool) -> int:
    """A field's size once read: quoted fields lose their quotes and one of each `""` pair."""
    size = raw - (1 + quotes // 2 if quotes >= 2 else 0)
    return size + (high if latin1 else 0)


def locate_long_field(path: Path, delimiter: str, encoding: str, *, header: bool, names: list[str], limit: int) -> InputError | None:
    """The error for the first field of `path` longer than `limit` bytes (None when none is)."""
    import numpy as np

    latin1, sep = encoding != "utf-8", ord(delimiter)
    state = _Scan()
    offset = 0
    with path.open("rb") as handle:
        while piece := handle.read(_PIECE_BYTES):
            data = np.frombuffer(piece, dtype=np.uint8)
            quotes, high = _running(data == _QUOTE, state.quotes), _running(data >= 0x80, state.high) if latin1 else state.high
            newline = (data == _LF) | (data == _CR)
            boundary = (data == sep) | newline
            if isinstance(quotes, int):  # no quote in this piece: every boundary counts, or none
                ends = np.flatnonzero(boundary) if quotes % 2 == 0 else np.zeros(0, dtype=np.intp)
            else:
                ends = np.flatnonzero(boundary & (quotes % 2 == 0))
            if len(ends):
                found = _piece(state, offset, ends, newline[ends], _at(quotes, ends), _at(high, ends), latin1, limit)
                if found is not None:
                    return _error(path, found, header, names, limit)
            state.quotes, state.high = _last(quotes), _last(high)
            offset += len(data)
    raw, quotes_in = offset - state.field_start, state.quotes - state.field_quotes
    size = _size(raw, quotes_in, state.high - state.field_high, latin1)
    if size > limit:  # the last field, without a line end
        return _error(path, (state.lines, state.column, size), header, names, limit)
    return None


def _running(hits: np.ndarray, before: int) -> np.ndarray | int:
    """Running count of `hits` after each byte (from `before`), or just `before` without any."""
    import numpy as np

    return np.cumsum(hits, dtype=np.int64) + before if hits.any() else before


def _at(counts: np.ndarray | int, ends: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.full(len(ends), counts, dtype=np.int64) if isinstance(counts, int) else counts[ends]


def _last(counts: np.ndarray | int) -> int:
    return counts if isinstance(counts, int) else int(counts[-1])


def _piece(
    state: _Scan, offset: int, ends: np.ndarray, newline: np.ndarray, quotes: np.ndarray, high: np.ndarray, latin1: bool, limit: int
) -> tuple[int, int, int] | None:
    """Account for the fields ending in one piece (`ends`: their separators' positions in it, with
    whether each ends a line and the running counts there); (line, column, size) of the first
    field longer than `limit`."""
    import numpy as np

    ends = ends + offset
    starts = np.concatenate([[state.field_start], ends[:-1] + 1])
    field_quotes = np.diff(np.concatenate([[state.field_quotes], quotes]))
    field_high = np.diff(np.concatenate([[state.field_high], high]))
    raw = ends - starts
    sizes = raw - np.where(field_quotes >= 2, 1 + field_quotes // 2, 0) + (field_high if latin1 else 0)
    first_in_line = np.concatenate([[state.after_newline], newline[:-1]])
    line_ends = newline & ~(first_in_line & (raw == 0))  # a blank line is no row
    over = np.flatnonzero(sizes > limit)
    if len(over):
        k = int(over[0])
        before = np.flatnonzero(newline[:k])
        column = k - int(before[-1]) - 1 if len(before) else state.column + k
        return state.lines + int(np.count_nonzero(line_ends[:k])), column, int(sizes[k])
    breaks = np.flatnonzero(newline)
    state.column = len(ends) - 1 - int(breaks[-1]) if len(breaks) else state.column + len(ends)
    state.lines += int(np.count_nonzero(line_ends))
    state.field_start = int(ends[-1]) + 1
    state.field_quotes, state.field_high = int(quotes[-1]), int(high[-1])
    state.after_newline = bool(newline[-1])
    return None


def _error(path: Path, found: tuple[int, int, int], header: bool, names: list[str], limit: int) -> InputError:
    line, column, size = found
    row = line - 1 if header else line
    name = names[column] if column < len(names) and row >= 0 else f"field {column + 1}"
    return field_too_long(path, row if row >= 0 else None, name, size, limit)
