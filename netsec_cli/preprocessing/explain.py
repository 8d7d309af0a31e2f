"""Per-flow explanations in the input's terms, from a model's per-feature contributions.

The fitted preprocessor's output columns map back to its input columns: a numeric output to its
numeric input (1:1; the output is imputed and scaled), a native category code to its categorical
input (1:1), and each one-hot column to the categorical input it encodes (many:1).
`FeatureExplainer` sums a model's contributions to the margin over each input's output columns
and names a row's largest positive ones with the row's raw input value and original column name:
`src_bytes=0 (+2.1); flag=S0 (+1.4); count=511 (+0.9)`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    from sklearn.compose import ColumnTransformer

    from netsec_cli.preprocessing.fast import ChunkArrays

TOP_FEATURES = 3
MISSING_TEXT = "?"


def output_inputs(preprocessor: ColumnTransformer) -> list[str]:
    """The input column each output column of a fitted preprocessor comes from, in output order."""
    width = int(max((s.stop for s in preprocessor.output_indices_.values()), default=0))
    owner = [""] * width
    for name, part, columns in preprocessor.transformers_:
        where = preprocessor.output_indices_[name]
        if part == "drop" or where.stop == where.start:
            continue
        counts = _output_counts(part, [str(c) for c in columns], where.stop - where.start)
        owner[where] = [column for column, count in zip(columns, counts, strict=True) for _ in range(count)]
    if "" in owner:
        raise InputError("the preprocessor has output columns that come from no input column", hint="re-run `netsec transform`")
    return owner


def _output_counts(part: Any, columns: list[str], width: int) -> list[int]:
    """How many output columns each input column of one transformer gives."""
    last = part.steps[-1][1] if hasattr(part, "steps") else part
    if hasattr(last, "drop_idx_"):  # a OneHotEncoder: one column per kept category (infrequent ones grouped)
        counts = list(getattr(last, "_n_features_outs", None) or [len(c) for c in last.categories_])
    else:
        counts = [1] * len(columns)
    if sum(counts) != width or len(counts) != len(columns):
        raise InputError(
            f"cannot map the preprocessor's {width} output columns back to {', '.join(columns)}",
            hint="re-run `netsec transform`",
        )
    return counts


class FeatureExplainer:
    """Contributions per output column → per input column → each row's top positive inputs as text."""

    def __init__(self, preprocessor: ColumnTransformer, top: int = TOP_FEATURES) -> None:
        import numpy as np

        owner = output_inputs(preprocessor)
        starts = [j for j, name in enumerate(owner) if j == 0 or owner[j - 1] != name]
        self.inputs = [owner[j] for j in starts]
        self.width = len(owner)
        self._starts = np.array(starts, dtype=np.intp)
        self._one_to_one = len(starts) == len(owner)
        self.top = top

    def by_input(self, contributions: np.ndarray) -> np.ndarray:
        """Rows x inputs: the contributions (bias column dropped) summed over each input's outputs."""
        import numpy as np

        values = np.asarray(contributions[:, : self.width], dtype=np.float64)
        return values if self._one_to_one else np.add.reduceat(values, self._starts, axis=1)

    def describe(self, contributions: np.ndarray, chunk: ChunkArrays, rows: np.ndarray) -> np.ndarray:
        """Per row of `contributions` (the chunk's rows `rows`), its `top` largest positive inputs as
        `name=raw value (+contribution)` joined by "; " (object array of str; "" when none is positive)."""
        import numpy as np

        grouped = self.by_input(contributions)
        text = np.full(len(grouped), "", dtype=object)
        k = min(self.top, grouped.shape[1])
        if len(grouped) == 0 or k == 0:
            return text
        best = np.argpartition(-grouped, k - 1, axis=1)[:, :k]
        picked = np.take_along_axis(grouped, best, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        best, picked = np.take_along_axis(best, order, axis=1), np.take_along_axis(picked, order, axis=1)
        for rank in range(k):
            where = np.flatnonzero(picked[:, rank] > 0)
            if len(where) == 0:
                break
            pieces = self._pieces(best[where, rank], picked[where, rank], chunk, rows[where])
            text[where] = pieces if rank == 0 else text[where] + "; " + pieces
        return text

    def _pieces(self, columns: np.ndarray, values: np.ndarray, chunk: ChunkArrays, rows: np.ndarray) -> np.ndarray:
        """`name=raw (+value)` for each (input column, contribution, chunk row)."""
        import numpy as np

        out = np.empty(len(columns), dtype=object)
        amounts = np.array([f"{v:+.1f}" if v >= 0.1 else f"{v:+.1g}" for v in values.tolist()], dtype=object)
        for j in np.unique(columns).tolist():
            mask = columns == j
            name = self.inputs[j]
            out[mask] = name + "=" + raw_text(chunk, name, rows[mask]) + " (" + amounts[mask] + ")"
        return out


def raw_text(chunk: ChunkArrays, column: str, rows: np.ndarray) -> np.ndarray:
    """The input values of `column` at the chunk's `rows` as text (object array): categories as
    read, numbers in their shortest form (integers without a decimal point), missing as "?"."""
    import numpy as np

    if column in chunk.categorical:
        values, missing = chunk.categorical[column]
        return np.where(missing[rows], MISSING_TEXT, values[rows]).astype(object)
    numbers = chunk.numeric[rows, chunk.numeric_columns.index(column)]
    distinct, inverse = np.unique(numbers, return_inverse=True)
    return np.array([_number(v) for v in distinct.tolist()], dtype=object)[inverse.ravel()]


def _number(value: float) -> str:
    if math.isnan(value):
        return MISSING_TEXT
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
