"""The fitted KNN imputer applied to rows with gaps: equal to `KNNImputer.transform`, faster.

`impute_gaps` fills the gaps of a float64 matrix in place: rows with gaps are de-duplicated, rows
already imputed are taken from a cache (each row's imputation depends only on that row and the
imputer's fit rows), and the rest go through `knn_transform`. For netsec's imputer (NaN missing,
`nan_euclidean`, no indicator, no all-missing fit column) `knn_transform` runs scikit-learn's own
steps on blocks of `BLOCK_ROWS` rows: the same `euclidean_distances` and products as
`nan_euclidean_distances`, except that the count of coordinates present in both rows is one
float64 matrix product (exact: small integers) instead of scikit-learn's integer product, which
has no BLAS kernel and took most of the time; then `KNNImputer._calc_impute` per column. Blocks
are independent (each row's distances depend only on that row), so they may run on several
threads. Any other imputer goes through `transform` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Imputed rows remembered across chunks (each 8 bytes x numeric columns, twice).
IMPUTED_CACHE_ROWS = 50_000
# Rows of one distance block (each row is 8 bytes x the imputer's fit rows, in a few temporaries:
# about 80 MB per thread with the default 10,000 fit rows).
BLOCK_ROWS = 256


def _plain(imputer: Any) -> bool:
    """True for a KNNImputer with NaN gaps, nan_euclidean distances and every fit column usable."""
    import numpy as np

    missing = imputer.missing_values
    return bool(
        imputer.metric == "nan_euclidean"
        and isinstance(missing, float)
        and np.isnan(missing)
        and not imputer.add_indicator
        and np.all(getattr(imputer, "_valid_mask", [False]))
        and hasattr(imputer, "_calc_impute")
    )


class _FitSide:
    """What every block needs from the imputer's fit rows (as `nan_euclidean_distances` makes it)."""

    def __init__(self, imputer: Any) -> None:
        import numpy as np

        fit = np.array(imputer._fit_X, dtype=np.float64)
        self.values = imputer._fit_X
        self.mask = np.asarray(imputer._mask_fit_X, dtype=bool)
        fit[self.mask] = 0
        self.zeroed = fit
        self.squares_t = (fit * fit).T
        self.present_t = np.ascontiguousarray((~self.mask).T, dtype=np.float64)
        self.donors = [np.flatnonzero(~self.mask[:, col]) for col in range(fit.shape[1])]


def _distances(rows: np.ndarray, missing: np.ndarray, fit: _FitSide) -> np.ndarray:
    """`nan_euclidean_distances(rows, fit rows)`, value for value."""
    import numpy as np
    from sklearn.metrics.pairwise import euclidean_distances

    zeroed = np.array(rows, dtype=np.float64)
    zeroed[missing] = 0
    distances = euclidean_distances(zeroed, fit.zeroed, squared=True)
    distances -= np.dot(zeroed * zeroed, fit.mask.T)
    distances -= np.dot(missing, fit.squares_t)
    np.clip(distances, 0, None, out=distances)
    present = np.dot((~missing).astype(np.float64), fit.present_t)
    distances[present == 0] = np.nan
    np.maximum(1, present, out=present)
    distances /= present
    distances *= rows.shape[1]
    np.sqrt(distances, out=distances)
    return distances


def knn_transform(imputer: Any, rows: np.ndarray, columns: list[str], threads: int = 1) -> np.ndarray:
    """`imputer.transform(rows)` as float64 (rows: float64, NaN missing, in `columns` order), its
    blocks on up to `threads` threads (BLAS kept to one thread each meanwhile)."""
    import numpy as np
    import pandas as pd

    if not _plain(imputer):
        return np.asarray(imputer.transform(pd.DataFrame(rows, columns=columns)), dtype=np.float64)
    out = np.array(rows, dtype=np.float64)
    mask = np.isnan(out)
    fit = _FitSide(imputer)

    def impute(start: int) -> None:
        block = np.arange(start, min(start + BLOCK_ROWS, len(out)))
        block = block[mask[block].any(axis=1)]
        if len(block):
            distances = _distances(out[block], mask[block], fit)
            for col in np.flatnonzero(mask[block].any(axis=0)):
                _impute_column(imputer, out, fit, int(col), block, mask[block, col], distances)

    starts = range(0, len(out), BLOCK_ROWS)
    if threads > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(1), ThreadPoolExecutor(min(threads, len(starts))) as pool:
            list(pool.map(impute, starts))
    else:
        for start in starts:
            impute(start)
    return out


def _impute_column(imputer: Any, out: np.ndarray, fit: _FitSide, col: int, block: np.ndarray, gaps: np.ndarray, distances: np.ndarray) -> None:
    """One column of one block, as `KNNImputer.transform`'s per-chunk step does it."""
    import numpy as np

    donors = fit.donors[col]
    local = np.flatnonzero(gaps)
    subset = distances[local][:, donors]
    no_distance = np.isnan(subset).all(axis=1)
    if no_distance.any():
        out[block[local[no_distance]], col] = np.ma.array(fit.values[:, col], mask=fit.mask[:, col]).mean()
        if no_distance.all():
            return
        local = local[~no_distance]
        subset = distances[local][:, donors]
    neighbours = min(imputer.n_neighbors, len(donors))
    out[block[local], col] = imputer._calc_impute(subset, neighbours, fit.values[donors, col], fit.mask[donors, col])


def impute_gaps(
    imputer: Any, values: np.ndarray, columns: list[str], cache: dict[bytes, np.ndarray], limit: int, threads: int = 1
) -> None:
    """Fill the gaps of `values` (float64) in place; distinct rows with gaps only, those
    already in `cache` (row bytes -> imputed row) taken from it, new ones added (cleared past `limit`)."""
    import numpy as np

    gaps = np.flatnonzero(np.isnan(values).any(axis=1))
    if not len(gaps):
        return
    rows = np.ascontiguousarray(values[gaps])
    keys = rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    names = [key.tobytes() for key in unique]
    new = [i for i, name in enumerate(names) if name not in cache]
    found = {name: cache[name] for name in names if name in cache}
    if new:
        imputed = knn_transform(imputer, rows[first[new]], columns, threads)
        found.update(zip((names[i] for i in new), imputed, strict=True))
        if len(cache) + len(new) > limit:
            cache.clear()
        if len(new) <= limit:
            cache.update(zip((names[i] for i in new), imputed, strict=True))
    values[gaps] = np.stack([found[name] for name in names])[inverse.ravel()]
