"""The quantised matrices XGBoost is fitted on, from in-memory arrays or a chunk at a time.

Both paths build a `QuantileDMatrix` (the early-stopping slice with `ref=` the training matrix, so
it is binned on the same cuts, with the same `max_bin`). From an array it is built in one piece;
from a (possibly memory-mapped) matrix larger than `model.max_in_memory_rows`, through an
`xgboost.DataIter` that reads `chunk_rows` file rows per batch (`rows.row_chunks`), so what is
held is the quantised matrix (about one byte per value) plus one chunk, never the float32 array.
On data the sketch holds exactly, the two give the same cuts and so the same model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netsec_cli.models.rows import row_chunks

if TYPE_CHECKING:
    import numpy as np
    from xgboost import QuantileDMatrix


@dataclass(frozen=True)
class MatrixOptions:
    """How the columns are declared and binned: feature types (with categorical codes), `max_bin`, threads."""

    feature_types: list[str] | None
    categorical: bool
    max_bin: int | None
    threads: int | None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `QuantileDMatrix`."""
        return {
            "feature_types": self.feature_types,
            "enable_categorical": self.categorical,
            "max_bin": self.max_bin,
            "nthread": self.threads,
        }


def _row_iter(x: np.ndarray, y: np.ndarray, rows: np.ndarray, chunk_rows: int, feature_types: list[str] | None) -> Any:
    """An `xgboost.DataIter` over the sorted `rows` of (x, y), `chunk_rows` file rows per batch."""
    from xgboost import DataIter

    class RowIter(DataIter):
        def __init__(self) -> None:
            self._batches: Iterator[tuple[np.ndarray, np.ndarray]] | None = None
            super().__init__(release_data=True)

        def next(self, input_data: Any) -> bool:
            if self._batches is None:
                self._batches = row_chunks(x, rows, chunk_rows)
            found = next(self._batches, None)
            if found is None:
                return False
            positions, block = found
            input_data(data=block, label=y[rows[positions]], feature_types=feature_types)
            return True

        def reset(self) -> None:
            self._batches = None

    return RowIter()


def quantile_matrices(
    x: np.ndarray,
    y: np.ndarray,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    options: MatrixOptions,
    chunk_rows: int | None = None,
) -> tuple[QuantileDMatrix, QuantileDMatrix]:
    """(training matrix, early-stopping matrix binned on its cuts): in one piece when `chunk_rows`
    is None, else from `chunk_rows`-row batches."""
    from xgboost import QuantileDMatrix

    kwargs = options.kwargs()
    if chunk_rows is None:
        train = QuantileDMatrix(x[fit_rows], y[fit_rows], **kwargs)
        return train, QuantileDMatrix(x[val_rows], y[val_rows], ref=train, **kwargs)
    kwargs.pop("feature_types")  # an iterator's batches carry them
    train = QuantileDMatrix(_row_iter(x, y, fit_rows, chunk_rows, options.feature_types), **kwargs)
    return train, QuantileDMatrix(_row_iter(x, y, val_rows, chunk_rows, options.feature_types), ref=train, **kwargs)
