"""The early-stopping slice every model type is fitted with: stratified, seeded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np


def early_stopping_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_fit, x_val, y_fit, y_val): a `fraction` slice held out for early stopping, stratified
    when each class has at least two rows; an InputError when a class is absent."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        raise InputError("the training split has only one class", hint="check data.target and data.normal_value")
    stratify = y if counts.min() >= 2 else None
    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=fraction, stratify=stratify, random_state=seed)
    return x_fit, x_val, y_fit, y_val
