"""Which training rows a model is fitted, early-stopped and cross-validated on: stratified, seeded.

`early_stopping_rows` and `sample_rows` give sorted index sets, so a large training split can be
read in one sequential pass over its file (`rows.py`); `early_stopping_split` applies the same
slice to in-memory arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np


def early_stopping_rows(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit_rows, validation_rows), sorted: a `fraction` slice held out for early stopping, stratified
    when each class has at least two rows; an InputError when a class is absent."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        raise InputError("the training split has only one class", hint="check data.target and data.normal_value")
    stratify = y if counts.min() >= 2 else None
    fit_rows, val_rows = train_test_split(np.arange(len(y)), test_size=fraction, stratify=stratify, random_state=seed)
    return np.sort(fit_rows), np.sort(val_rows)


def early_stopping_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_fit, x_val, y_fit, y_val): the rows of `early_stopping_rows`, in file order."""
    fit_rows, val_rows = early_stopping_rows(y, fraction, seed)
    return x[fit_rows], x[val_rows], y[fit_rows], y[val_rows]


def sample_rows(y: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """`rows` row indices, sorted, drawn with `seed` and stratified by class (every row when there
    are no more than `rows`)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    if rows >= len(y):
        return np.arange(len(y))
    stratify = y if np.bincount(y, minlength=2).min() >= 2 else None
    chosen, _ = train_test_split(np.arange(len(y)), train_size=rows, stratify=stratify, random_state=seed)
    return np.sort(chosen)
