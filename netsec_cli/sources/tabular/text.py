"""Delimited text (.csv/.tsv/.txt): sniffing the encoding, delimiter and header, then streaming.

The first 64 KiB decide everything: binary content is refused; the encoding is UTF-8, else
Latin-1; the delimiter (comma, tab, semicolon or pipe) is the one that splits the sampled lines
into the same number of fields most consistently; the first non-blank row is a header when it
names a schema column, or (without a schema) when its cells are distinct, non-empty and not
numbers. Rows are then read by Arrow's streaming CSV reader as text (quotes and embedded newlines
honoured, blank lines skipped) in chunks of a bounded number of rows, values untrimmed (the value
parsers trim them); every row must have as many fields as the first. Every field keeps
`max_field_bytes` (`limits`), checked in Arrow per batch; Arrow's read block is sized so a row of
fields that keep it always fits, and a row that does not is named by `textscan`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular.formats import first_line, no_rows
from netsec_cli.sources.tabular.layout import (
    check_duplicates,
    check_names,
    choose_layout,
    common_names,
    headerless_layouts,
)
from netsec_cli.sources.tabular.limits import check_arrow_lengths
from netsec_cli.sources.tabular.table import Block, Table
from netsec_cli.sources.tabular.textscan import locate_long_field

if TYPE_CHECKING:
    import pyarrow as pa

DELIMITERS = (",", "\t", ";", "|")
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 50
_HEAD_ROWS = 1000
_BLOCK_BYTES = 4 * 2**20
_HEAD_BLOCK_BYTES = 256 * 1024
_MAX_BLOCK_BYTES = 64 * 2**20  # a row is at most this long (Arrow reads up to 32 blocks ahead)


def decode_sample(path: Path) -> tuple[str, str, bool]:
    """The first lines of a text file, its encoding, and whether the sample holds a whole line;
    binary content is an InputError."""
    with path.open("rb") as handle:
        raw = handle.read(_SAMPLE_BYTES)
    if b"\x00" in raw:
        raise InputError(f"input file {path} is binary, not a delimited text table")
    whole = len(raw) < _SAMPLE_BYTES or b"\n" in raw or b"\r" in raw
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
        return text.removeprefix("\ufeff"), encoding, whole
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


def looks_like_header(first_row: list[str], schema: Schema | None) -> bool:
    """Whether the first row names columns: a schema column name, or distinct non-numeric cells."""
    cells = [cell.strip() for cell in first_row]
    if schema is not None and set(cells) & set(schema.columns):
        return True
    return all(cells) and len(set(cells)) == len(cells) and not any(_is_number(cell) for cell in cells)


def _first_row(sample: str, delimiter: str) -> list[str] | None:
    for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
        if row:
            return row
    return None


class _Reader:
    """Arrow's streaming CSV reader over one file, every column as text, errors as InputErrors.

    `names` name the columns in errors (the header's, or the layout's once chosen); every field
    read must keep `limit` bytes. Arrow's block holds any row of `count` fields that keep it (a
    quoted field of `limit` bytes takes at most 2 x limit + 2 with its quotes doubled)."""

    def __init__(self, path: Path, delimiter: str, encoding: str, header: list[str] | None, count: int, limit: int) -> None:
        self.path, self.delimiter, self.encoding, self.count, self.limit = path, delimiter, encoding, count, limit
        self.has_header = header is not None
        # Arrow's own names: the raw header cells, or positional names for a header-less file
        self.arrow_names = list(header) if header is not None else [f"f{i}" for i in range(count)]
        self.names = [cell.strip() for cell in header] if header is not None else []
        self.row_bytes = min(_MAX_BLOCK_BYTES, count * (2 * limit + 3) + 64 * 1024)
        self._bad: list[tuple[int, int]] = []

    def label(self, position: int) -> str:
        """The name of the column at `position`, for errors."""
        return self.names[position] if position < len(self.names) else f"field {position + 1}"

    def _on_invalid(self, row: Any) -> str:
        self._bad.append((row.expected_columns, row.actual_columns))
        return "error"

    def batches(self, positions: list[int], block_bytes: int = _BLOCK_BYTES) -> Iterator[pa.RecordBatch]:
        """Record batches of the columns at `positions` (text, untrimmed), in file order, each
        checked for fields longer than `limit` before it is returned."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        names = [self.arrow_names[i] for i in positions]
        self.block_bytes = max(block_bytes, self.row_bytes)
        read = pacsv.ReadOptions(
            block_size=self.block_bytes,
            encoding="utf8" if self.encoding == "utf-8" else self.encoding,
            column_names=None if self.has_header else self.arrow_names,
        )
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=self._on_invalid)
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            include_columns=names,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        start = 0
        try:
            with pacsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert) as reader:
                for batch in reader:
                    columns = {self.label(i): batch.column(j) for j, i in enumerate(positions)}
                    check_arrow_lengths(self.path, columns, start, self.limit)
                    start += batch.num_rows
                    yield batch
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> InputError:
        if "straddl" in str(exc):  # a row longer than the block: it holds a field over the limit
            found = locate_long_field(self.path, self.delimiter, self.encoding, header=self.has_header, names=self.names, limit=self.limit)
            return found or InputError(
                f"cannot parse {self.path}: a row of more than {self.block_bytes:,} bytes",
                hint=f"every row needs the same number of fields, each of at most {self.limit:,} bytes: input.max_field_bytes",
            )
        if not self._bad:
            return InputError(f"cannot parse {self.path}: {first_line(exc)}")
        expected, actual = self._bad[0]
        line = self._ragged_line(expected)
        where = f"in line {line}" if line else "in a row"
        return InputError(
            f"cannot parse {self.path}: Expected {expected} fields {where}, saw {actual}",
            hint="every row needs the same number of fields",
        )

    def _ragged_line(self, expected: int) -> int | None:
        """The physical line number of the first non-blank row without `expected` fields."""
        with self.path.open("r", encoding=self.encoding, errors="replace", newline="") as handle:
            rows = csv.reader(handle, delimiter=self.delimiter)
            try:
                for row in rows:
                    if row and len(row) != expected:
                        return rows.line_num
            except csv.Error:  # e.g. a field longer than csv's own limit
                return None
        return None


def open_text(path: Path, schema: Schema | None, *, target_optional: bool, limit: int) -> Table:
    """Sniff `path` and decide its columns (by header name, else by count); rows are read later.
    Every field must keep `limit` bytes."""
    sample, encoding, whole = decode_sample(path)
    delimiter = detect_delimiter(sample)
    if not whole:  # no line end in the sample: the first line is longer than it (a data row, not a header)
        names = list(schema.columns) if schema is not None else []
        long_field = locate_long_field(path, delimiter, encoding, header=False, names=names, limit=limit)
        if long_field is not None:
            raise long_field
    first = _first_row(sample, delimiter)
    if first is None:
        raise no_rows(path)
    if looks_like_header(first, schema):
        names = [cell.strip() for cell in first]
        check_duplicates(path, names)
        if schema is not None:
            check_names(path, schema, names, target_optional=target_optional)
        reader = _Reader(path, delimiter, encoding, first, len(first), limit)
        return Table(path, "text", names, None, schema, by_position=False, _blocks=_blocks(reader, names))
    named_by, layouts = headerless_layouts(path, schema, len(first), target_optional=target_optional)
    reader = _Reader(path, delimiter, encoding, None, len(first), limit)
    reader.names = common_names(layouts, len(first))
    head = _head(reader)
    names = choose_layout(path, named_by, lambda layout: dict(zip(layout, head, strict=True)), layouts)
    reader.names = names
    return Table(path, "text", names, None, named_by, by_position=True, _blocks=_blocks(reader, names))


def _head(reader: _Reader) -> list[Any]:
    """The first rows of every column (Arrow text), for choosing a layout."""
    import pyarrow as pa

    batches, rows = [], 0
    for batch in reader.batches(list(range(reader.count)), block_bytes=_HEAD_BLOCK_BYTES):
        batches.append(batch)
        rows += batch.num_rows
        if rows >= _HEAD_ROWS:
            break
    if rows == 0:
        raise no_rows(reader.path)
    table = pa.Table.from_batches(batches).slice(0, _HEAD_ROWS)
    return [table.column(i) for i in range(table.num_columns)]


def _blocks(reader: _Reader, names: list[str]) -> Any:
    """The chunk factory of a text table: Blocks of `chunk_size` rows holding the `wanted` columns."""

    def blocks(wanted: list[str], chunk_size: int) -> Iterator[Block]:
        import pyarrow as pa

        positions = [names.index(name) for name in wanted]
        pending: list[pa.RecordBatch] = []
        buffered = start = 0

        def emit(table: pa.Table) -> Block:
            return Block(start, {name: table.column(i) for i, name in enumerate(wanted)})

        for batch in reader.batches(positions):
            pending.append(batch)
            buffered += batch.num_rows
            if buffered < chunk_size:
                continue
            table = pa.Table.from_batches(pending)
            offset = 0
            while buffered - offset >= chunk_size:
                yield emit(table.slice(offset, chunk_size))
                offset += chunk_size
                start += chunk_size
            rest = table.slice(offset)
            pending, buffered = rest.to_batches(), rest.num_rows
        if buffered:
            yield emit(pa.Table.from_batches(pending))
            start += buffered
        if start == 0:
            raise no_rows(reader.path)

    return blocks
