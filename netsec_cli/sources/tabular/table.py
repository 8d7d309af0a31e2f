"""An opened table of any format (see `reader.open_table`): checked columns and a block reader.

`Table.blocks` streams the rows in chunks of raw column values, which `chunks.conform` (predict)
or `frame.read_table` (etl) turn into typed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.schema import Schema

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Block:
    """Consecutive rows from row `start`: raw values per column (numpy arrays or Arrow text).

    For a 2-D `.npy`, `matrix` is the block the columns are views of and `positions` their indexes
    in it, so numeric columns can be parsed in one go.
    """

    start: int
    columns: dict[str, Any]
    matrix: np.ndarray | None = None
    positions: dict[str, int] | None = None


@dataclass
class Table:
    """A checked table: its column names in file order, row count when known, and a block reader.

    `schema` named the columns (the given one, or NSL-KDD for a header-less file without one);
    `by_position` is true when the names come from the column count rather than the file.
    """

    path: Path
    kind: str
    columns: list[str]
    rows: int | None
    schema: Schema | None
    by_position: bool
    _blocks: Callable[[list[str], int], Iterator[Block]] = field(repr=False)

    def blocks(self, wanted: list[str], chunk_size: int) -> Iterator[Block]:
        """Blocks of at most `chunk_size` rows (fewer for wide `.npy` rows) holding the `wanted` columns."""
        return self._blocks(wanted, chunk_size)
