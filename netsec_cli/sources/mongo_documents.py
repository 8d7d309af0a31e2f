"""Rows of a table as MongoDB documents with deterministic `_id`s, so loading a file twice is a no-op.

`_id` is a hash of the column names, the row's values and the occurrence number of that exact
row within the file: identical rows (NSL-KDD has some) get distinct ids and all survive a round
trip, while loading the same file again reproduces the same ids and inserts nothing. `_row` keeps
the row's position in the file so the reader can return rows in file order.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ORDINAL = "_row"


def _column_values(frame: pd.DataFrame) -> list[list[Any]]:
    """Each column as a list of plain Python values, missing values as None."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        values = series.tolist()
        missing = series.isna().to_numpy()
        if missing.any():
            values = [None if gone else value for value, gone in zip(values, missing)]
        columns.append(values)
    return columns


class DocumentBuilder:
    """Builds documents batch by batch, remembering how often each row content has been seen."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = [str(c) for c in columns]
        self._prefix = json.dumps(self.columns, ensure_ascii=False).encode() + b"\x00"
        self._seen: Counter[bytes] = Counter()

    def row_id(self, values: list[Any] | tuple[Any, ...]) -> str:
        """The `_id` of the next occurrence of a row with these values."""
        payload = self._prefix + json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode()
        content = hashlib.blake2b(payload, digest_size=16).digest()
        occurrence = self._seen[content]
        self._seen[content] += 1
        return hashlib.blake2b(content + occurrence.to_bytes(8, "big"), digest_size=16).hexdigest()

    def documents(self, frame: pd.DataFrame, first_row: int) -> list[dict[str, Any]]:
        """The documents of `frame`'s rows, numbered from `first_row` (the position in the file)."""
        documents = []
        for offset, values in enumerate(zip(*_column_values(frame))):
            document: dict[str, Any] = {"_id": self.row_id(values), ORDINAL: first_row + offset}
            document.update(zip(self.columns, values))
            documents.append(document)
        return documents
