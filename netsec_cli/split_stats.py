"""One streaming pass over a Parquet table: row and null counts, value counts, a seeded row sample.

What `pandas.read_parquet` would give, without holding the table: `frame` is its zero-row frame
(the columns and dtypes it reads, pandas index columns left out), `nulls` counts what `isna`
counts (nulls, and NaN in float columns), `counts` holds each listed column's distinct values with
their counts in first-occurrence order. `sample` keeps at most `sample_rows` rows of the numeric
columns as float64 (NaN for missing): every row gets a key from `numpy.random.default_rng(seed)`
drawn in row order (so the batch size does not change it) and the rows with the smallest keys are
kept, in file order; a table of at most `sample_rows` rows is kept whole. Memory depends on the
batch size, the sample size and the number of distinct values (plus the Parquet reader's own
buffers), not on the row count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


@dataclass
class SplitStats:
    """The statistics of one table (see the module docstring)."""

    rows: int
    frame: pd.DataFrame
    nulls: dict[str, int]
    counts: dict[str, dict[Any, int]]
    sample: dict[str, np.ndarray]
    sampled: bool
    sample_size: int = 0
    columns: list[str] = field(default_factory=list)

    def dtype(self, column: str) -> Any:
        """The pandas dtype the whole column would have (an integer column with nulls reads as float64)."""
        import pandas as pd

        dtype = self.frame[column].dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iu" and self.nulls[column]:
            return np.dtype("float64")
        return None if isinstance(dtype, pd.CategoricalDtype) else dtype

    def string_counts(self, column: str) -> pd.Series:
        """Counts per value as `Series.dropna().astype("string").value_counts()` of the whole column gives them."""
        import pandas as pd

        raw = self.counts[column]
        keys = pd.Series(list(raw), dtype=self.dtype(column)).astype("string")
        counts = pd.Series(list(raw.values()), index=pd.Index(keys, dtype="string"), dtype="int64", name="count")
        counts = counts.groupby(level=0, sort=False).sum()
        counts.index.name = column
        return counts.sort_values(ascending=False, kind="stable")


class ChunkMapper(Protocol):
    """What runs the per-batch counting: a `netsec_cli.compute` engine (here or on Dask workers)."""

    def map(self, function: Callable[..., Any], items: Iterable[Any], *shared: Any) -> Iterator[Any]: ...


def scan_parquet(
    path: Path,
    *,
    counted: Sequence[str],
    numeric: Sequence[str],
    sample_rows: int,
    seed: int | Sequence[int],
    batch_size: int,
    mapper: ChunkMapper,
) -> SplitStats:
    """Read `path` once in batches of `batch_size` rows; count `counted` columns' values, sample `numeric` ones.

    `mapper` runs the per-batch null and value counts (`batch_counts`); the sample is drawn here."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    frame = source.schema_arrow.empty_table().to_pandas()
    columns = [str(c) for c in frame.columns]
    counted = [c for c in counted if c in columns]
    numeric = [c for c in numeric if c in columns and frame[c].dtype.kind in "iuf"]
    stats = SplitStats(0, frame, dict.fromkeys(columns, 0), {c: {} for c in counted}, {}, False, columns=columns)
    reservoir = _Reservoir(numeric, sample_rows, seed)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source.iter_batches(batch_size=batch_size, columns=columns, use_pandas_metadata=False):
            reservoir.add(batch)
            yield batch

    for rows, nulls, counts in mapper.map(batch_counts, batches(), counted):
        stats.rows += rows
        for column, missing in nulls.items():
            stats.nulls[column] += missing
        for column, found in counts.items():
            merged = stats.counts[column]
            for value, count in found.items():
                merged[value] = merged.get(value, 0) + count
    stats.sample, stats.sampled = reservoir.result()
    stats.sample_size = min(stats.rows, sample_rows)
    return stats


def batch_counts(batch: pa.RecordBatch, counted: Sequence[str]) -> tuple[int, dict[str, int], dict[str, dict[Any, int]]]:
    """One batch's rows, missing values per column and value counts of the `counted` columns."""
    nulls = {str(name): _missing(batch.column(i)) for i, name in enumerate(batch.schema.names)}
    counts: dict[str, dict[Any, int]] = {}
    for column in counted:
        counts[column] = {}
        _count_values(batch.column(column), counts[column])
    return batch.num_rows, nulls, counts


def _missing(values: pa.Array) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    nan = 0
    if pa.types.is_floating(values.type):
        nan = int(pc.sum(pc.is_nan(values)).as_py() or 0)
    return int(values.null_count) + nan


def _count_values(values: pa.Array, counts: dict[Any, int]) -> None:
    import pyarrow.compute as pc

    found = pc.value_counts(values)
    for value, count in zip(found.field("values").to_pylist(), found.field("counts").to_pylist()):
        if value is None or (isinstance(value, float) and math.isnan(value)):  # what dropna drops
            continue
        counts[value] = counts.get(value, 0) + count


class _Reservoir:
    """The rows with the smallest seeded random keys, at most `size` of them.

    Rows are held until `size // 4` more than `size` have come, then merged down to `size`; after a
    merge a row whose key is above the largest kept one can never be chosen and is not held.
    """

    def __init__(self, columns: Sequence[str], size: int, seed: int | Sequence[int]) -> None:
        self.columns = list(columns)
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.keys: list[np.ndarray] = [np.empty(0)]
        self.values: list[np.ndarray] = [np.empty((len(self.columns), 0))]  # one row per column
        self.limit = np.inf
        self.held = 0
        self.seen = 0

    def add(self, batch: pa.RecordBatch) -> None:
        """Draw the batch's keys (one per row, in row order) and hold the rows that may be chosen."""
        import pyarrow as pa

        keys = self.rng.random(batch.num_rows)
        self.seen += batch.num_rows
        if self.limit < np.inf:
            chosen = keys < self.limit
            keys, batch = keys[chosen], batch.filter(pa.array(chosen))
        block = np.empty((len(self.columns), batch.num_rows))
        for j, column in enumerate(self.columns):
            block[j] = batch.column(column).to_numpy(zero_copy_only=False)
        self.keys.append(keys)
        self.values.append(block)
        self.held += len(keys)
        if self.held > self.size + self.size // 4:
            self._merge()

    def _merge(self) -> None:
        """Keep the `size` smallest keys, gathering the chosen rows piece by piece (no full copy)."""
        keys = np.concatenate(self.keys)
        if len(keys) <= self.size:
            self.keys, self.values = [keys], [np.concatenate(self.values, axis=1)]
            return
        keep = np.sort(np.argpartition(keys, self.size - 1)[: self.size])
        values = np.empty((len(self.columns), self.size))
        start = done = 0
        for piece in self.values:
            stop = start + piece.shape[1]
            mine = keep[np.searchsorted(keep, start) : np.searchsorted(keep, stop)] - start
            values[:, done : done + len(mine)] = piece[:, mine]
            done += len(mine)
            start = stop
        self.keys, self.values, self.held = [keys[keep]], [values], self.size
        self.limit = float(self.keys[0].max())

    def result(self) -> tuple[dict[str, np.ndarray], bool]:
        """The sample per column, in file order, and whether rows were left out."""
        self._merge()
        values = self.values[0]
        return {c: values[j] for j, c in enumerate(self.columns)}, self.seen > self.size
