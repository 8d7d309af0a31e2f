"""etl's train/test split in bounded memory: which rows are test rows, then one routing pass.

`split_membership` turns the intrusion flag of every row (one byte a row, collected while the rows
were streamed to Parquet) into a test-row mask: exactly the test rows `stratified_split` picks
(the same draws from the same seed), without holding more than one class's permutation at a time.
`write_splits` reads the streamed rows back batch by batch and routes each row to train.parquet or
test.parquet (and to raw.parquet when the streamed files need their dtypes settled), keeping source
order inside each split, while it collects the categorical domains of the training rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from netsec_cli.artifacts import EtlFiles
    from netsec_cli.config.pipeline import SplitConfig
    from netsec_cli.schema import Schema

log = logging.getLogger("netsec_cli.stages.etl")


def split_membership(intrusion: np.ndarray, split: SplitConfig, warnings: list[str]) -> np.ndarray:
    """A mask of the test rows: the rows `stratified_split` (or, when one class has fewer than two
    rows, a plain seeded permutation) puts in the test split."""
    rows, test_size = len(intrusion), split.test_size
    n_test = math.ceil(test_size * rows)
    if not 0 < n_test < rows:
        raise InputError(f"cannot split {rows} row(s) with split.test_size={test_size}: need rows in both train and test")
    is_test = np.zeros(rows, dtype=bool)
    if split.stratify:
        counts = np.bincount(intrusion.astype(np.int64), minlength=2)
        if counts.min() >= 2:
            _mark_stratified(intrusion, n_test, split.seed, is_test)
            return is_test
        message = f"stratified split impossible: only {counts.min()} row(s) of one class; used a plain random split"
        log.warning(message)
        warnings.append(message)
    is_test[_permutation(np.random.default_rng(split.seed), rows)[:n_test]] = True
    return is_test


def _permutation(rng: np.random.Generator, count: int) -> np.ndarray:
    """`rng.permutation(count)` in 4 bytes a row: a shuffle takes the same draws whatever the dtype."""
    order = np.arange(count, dtype=np.int32 if count < 2**31 else np.int64)
    rng.shuffle(order)
    return order


def _class_takes(labels: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes, rows per class, test rows per class): largest remainder, one row each side at least."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n_test / len(labels)
    take = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    for index in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if take.sum() >= n_test:
            break
        take[index] = min(take[index] + 1, counts[index] - 1)
    return classes, counts, take


def _mark_stratified(labels: np.ndarray, n_test: int, seed: int, is_test: np.ndarray) -> None:
    """Set `is_test` for `stratified_split`'s test rows: shuffling a class's row numbers takes the
    same draws as shuffling their ranks, so each class needs only its ranks' permutation (4 bytes a
    row of the class, for a moment)."""
    rng = np.random.default_rng(seed)
    classes, counts, take = _class_takes(labels, n_test)
    for value, count, k in zip(classes, counts, take):
        chosen = np.zeros(count, dtype=bool)
        chosen[_permutation(rng, count)[:k]] = True
        is_test[labels == value] = chosen


def stratified_split(labels: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices with each class's share kept; exactly `n_test` test rows.

    Test rows per class are allotted by largest remainder, at least one row of each class on
    each side; both sides come back shuffled. Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    classes, _, take = _class_takes(labels, n_test)
    train_parts, test_parts = [], []
    for value, k in zip(classes, take):
        members = rng.permutation(np.flatnonzero(labels == value))
        test_parts.append(members[:k])
        train_parts.append(members[k:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema (with pandas metadata) of a frame in `schema`'s columns and dtypes."""
    import pandas as pd
    import pyarrow as pa

    empty = pd.DataFrame({c: pd.Series([], dtype=schema.dtypes[c]) for c in schema.columns})
    return pa.Schema.from_pandas(empty, preserve_index=False)


class _BufferedWriter:
    """A Parquet writer that writes row groups of at least `rows` rows (the last one smaller)."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int) -> None:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(path, schema)
        self.schema, self.rows = schema, rows
        self.pending: list[pa.Table] = []
        self.buffered = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.buffered += table.num_rows
        if self.buffered >= self.rows:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
        self.pending, self.buffered = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def write_splits(
    segments: Sequence[Path], is_test: np.ndarray, schema: Schema, files: EtlFiles, chunk_size: int
) -> dict[str, list[str]]:
    """Route the streamed rows (`segments`, in order) to files.train / files.test by `is_test`, cast
    to `schema`'s dtypes; files.raw is written too unless it is already the one segment in final
    dtypes. Returns the categorical domains of the training rows. The segments are removed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    final = arrow_schema(schema)
    if len(segments) == 1 and pq.read_schema(segments[0]).equals(final, check_metadata=False):
        segments = [segments[0].replace(files.raw)]
        outputs = {"train": files.train, "test": files.test}
    else:
        outputs = {"raw": files.raw, "train": files.train, "test": files.test}
    writers = {name: _BufferedWriter(path, final, chunk_size) for name, path in outputs.items()}
    domains: dict[str, set[str]] = {c: set() for c in schema.categorical}
    offset = 0
    try:
        for segment in segments:
            for batch in pq.ParquetFile(segment, pre_buffer=False).iter_batches(batch_size=chunk_size):
                table = pa.Table.from_batches([batch]).cast(final)
                test = pa.array(is_test[offset : offset + table.num_rows])
                offset += table.num_rows
                train = table.filter(pc.invert(test))
                _collect_domains(train, domains)
                writers["train"].write(train)
                writers["test"].write(table.filter(test))
                if "raw" in writers:
                    writers["raw"].write(table)
    finally:
        for writer in writers.values():
            writer.close()
    for segment in segments:
        if segment != files.raw:
            segment.unlink()
    return {c: sorted(values) for c, values in domains.items()}


def _collect_domains(train: pa.Table, domains: dict[str, set[str]]) -> None:
    """Add each categorical column's distinct values in `train` (as `schema_infer.domain` writes them)."""
    import pyarrow.compute as pc

    from netsec_cli.schema_infer import domain

    for column, values in domains.items():
        values.update(domain(pc.unique(train.column(column)).to_pandas()))

