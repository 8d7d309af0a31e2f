"""`FastTransform`: the fitted preprocessor applied to plain arrays, for predict's chunks.

It mirrors the scikit-learn preprocessor of `build.py` exactly (tests compare the two), without
the DataFrame and object-array round trips, so a million-row predict stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from netsec_cli.preprocessing.build import transform_features
from netsec_cli.preprocessing.knn import IMPUTED_CACHE_ROWS, impute_gaps

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer


class FastTransform:
    """The fitted preprocessor applied to plain arrays, equal to `transform_features` on the same rows.

    Built by `fast_transform`; it skips the DataFrame and object-array round trips of the
    scikit-learn path. Numeric part: rows without missing values skip the KNN imputer (as
    scikit-learn does); rows with gaps are de-duplicated and only the distinct ones go through the
    fitted KNNImputer (`knn.impute_gaps`, value for value; each row's imputation depends only on
    that row and the fit data); later
    steps (the scaler) run their own `transform`. Imputed rows are remembered across chunks (up to
    `IMPUTED_CACHE_ROWS`), so a gap pattern seen before is not imputed again. Categorical part: most-frequent fill and one-hot
    encoding are looked up from the fitted `statistics_` and `categories_` with a sorted search,
    unknown categories giving all zeros as `handle_unknown="ignore"` does; with the native
    encoding (OrdinalEncoder) the same search gives the code, unknown categories `unknown_value`.
    A coded text column (`codes` into distinct `uniques`, see `CodedText`) is looked up once per
    distinct value and taken by code, so no fixed-width unicode is ever built from it.
    """

    def __init__(
        self, preprocessor: ColumnTransformer, imputed: dict[bytes, np.ndarray] | None = None, threads: int = 1
    ) -> None:
        self._imputed: dict[bytes, np.ndarray] = {} if imputed is None else imputed
        self._threads = threads
        self.width = int(max((s.stop for s in preprocessor.output_indices_.values()), default=0))
        self.numeric_columns: list[str] = []
        self.categorical_columns: list[str] = []
        self._numeric: tuple[slice, Any, list[Any]] | None = None
        self._categorical: list[tuple[int, str, np.ndarray, np.ndarray]] = []
        self._category_index: list[dict[str, int]] = []  # per categorical column: category -> its position
        self._unknown_code: float | None = None  # set for the native (ordinal) encoding
        for name, part, columns in preprocessor.transformers_:
            if part == "drop" or not len(columns):
                continue
            out = preprocessor.output_indices_[name]
            if name == "num" and self._numeric is None:
                self._numeric = _numeric_plan(part, out)
                self.numeric_columns = list(columns)
            elif name == "cat" and not self._categorical:
                self._categorical, self._unknown_code = _categorical_plan(part, out, list(columns))
                self._category_index = [
                    {str(category): int(position) for category, position in zip(ordered, positions, strict=True)}
                    for _, _, ordered, positions in self._categorical
                ]
                self.categorical_columns = list(columns)
            else:
                raise ValueError(f"no fast path for transformer {name!r}")

    def transform(self, numeric: np.ndarray, categorical: list[tuple[Any, np.ndarray]]) -> np.ndarray:
        """Dense float32 features from numeric (rows x numeric_columns, float64, NaN missing) and,
        per categorical column, (values, missing mask): values unicode, or `CodedText`."""
        import numpy as np

        rows = numeric.shape[0] if self.numeric_columns else len(categorical[0][0])
        out = np.zeros((rows, self.width), dtype=np.float32)
        if self._numeric is not None:
            where, imputer, steps = self._numeric
            out[:, where] = _numeric_part(numeric, imputer, steps, self.numeric_columns, self._imputed, self._threads)
        for plan, index, (values, missing) in zip(self._categorical, self._category_index, categorical, strict=True):
            offset, fill, ordered, positions = plan
            if hasattr(values, "codes"):  # CodedText: one lookup per distinct value, then by code
                found = np.array([index.get(value, -1) for value in values.uniques.tolist()], dtype=np.intp)
                position = found[values.codes]
                if missing.any():
                    position = np.where(missing, index.get(fill, -1), position)
                known = position >= 0
                if self._unknown_code is None:
                    out[np.flatnonzero(known), offset + position[known]] = 1.0
                else:
                    out[:, offset] = np.where(known, position, self._unknown_code)
                continue
            filled = np.where(missing, fill, values) if missing.any() else values
            slot = np.searchsorted(ordered, filled)
            slot[slot == len(ordered)] = 0
            known = ordered[slot] == filled
            if self._unknown_code is None:
                out[np.flatnonzero(known), offset + positions[slot[known]]] = 1.0
            else:
                out[:, offset] = np.where(known, positions[slot], self._unknown_code)
        return out


def _numeric_plan(pipeline: Any, where: slice) -> tuple[slice, Any, list[Any]]:
    import numpy as np
    from sklearn.impute import KNNImputer
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or not pipeline.steps:
        raise ValueError("numeric part is not a pipeline")
    first = pipeline.steps[0][1]
    if not isinstance(first, KNNImputer) or first.add_indicator or not np.all(getattr(first, "_valid_mask", [False])):
        raise ValueError("numeric part does not start with a plain KNNImputer")
    if not (isinstance(first.missing_values, float) and np.isnan(first.missing_values)):
        raise ValueError("KNNImputer missing_values is not NaN")
    return where, first, [step for _, step in pipeline.steps[1:] if step not in (None, "passthrough")]


def _numeric_part(
    numeric: np.ndarray, imputer: Any, steps: list[Any], columns: list[str], cache: dict[bytes, np.ndarray], threads: int
) -> np.ndarray:
    """Impute (distinct rows with gaps only, remembered across chunks in `cache`) then the later steps."""
    import warnings

    import numpy as np

    values = np.array(numeric, dtype=np.float64, order="C")
    impute_gaps(imputer, values, columns, cache, IMPUTED_CACHE_ROWS, threads)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        for step in steps:
            values = step.transform(values)
    return np.asarray(values)


def _categorical_plan(
    pipeline: Any, where: slice, columns: list[str]
) -> tuple[list[tuple[int, str, np.ndarray, np.ndarray]], float | None]:
    """(per column: output offset, fill, sorted categories, their positions), and the unknown
    code for an OrdinalEncoder (None for one-hot)."""
    import numpy as np
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    steps = [step for _, step in pipeline.steps] if isinstance(pipeline, Pipeline) else []
    if len(steps) != 2 or not isinstance(steps[0], SimpleImputer) or not isinstance(steps[1], (OneHotEncoder, OrdinalEncoder)):
        raise ValueError("categorical part is not SimpleImputer + OneHotEncoder or OrdinalEncoder")
    imputer, encoder = steps
    missing_values = imputer.missing_values
    if imputer.add_indicator or not (isinstance(missing_values, float) and np.isnan(missing_values)):
        raise ValueError("categorical imputer is not a plain NaN imputer")
    unknown_code: float | None = None
    if isinstance(encoder, OrdinalEncoder):
        if encoder.handle_unknown != "use_encoded_value" or getattr(encoder, "_infrequent_enabled", True):
            raise ValueError("ordinal encoder uses infrequent categories or errors on unknown ones")
        unknown_code = float(encoder.unknown_value)
    elif encoder.handle_unknown != "ignore" or encoder.drop_idx_ is not None or getattr(encoder, "_infrequent_enabled", True):
        raise ValueError("encoder uses drop or infrequent categories")
    plan = []
    offset = where.start
    for column, fill, categories in zip(columns, imputer.statistics_, encoder.categories_, strict=True):
        if not isinstance(fill, str) or not all(isinstance(c, str) for c in categories):
            raise ValueError(f"column {column!r} has non-string categories")
        text = np.array(list(categories), dtype=str)
        if len(text) and (np.array([len(c) for c in categories]) != np.char.str_len(text)).any():
            raise ValueError(f"column {column!r} has categories numpy strings cannot hold")
        order = np.argsort(text, kind="stable")
        plan.append((offset, fill, text[order], order))
        offset += len(categories) if unknown_code is None else 1
    if offset != where.stop:
        raise ValueError("categorical width does not match the encoder output")
    return plan, unknown_code


class CodedText(Protocol):
    """A text column as `codes` (one per row) into `uniques` (distinct values, object array of
    str): netsec_cli.sources.tabular.TextColumn. Indexed like the text array it stands for."""

    codes: np.ndarray
    uniques: np.ndarray

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> Any: ...


class ChunkArrays(Protocol):
    """A chunk of input rows as plain arrays (netsec_cli.sources.tabular.FeatureChunk): float64
    numerics (rows x numeric_columns, NaN missing), per categorical column (values, missing
    mask) with values unicode or `CodedText`, and the same rows as the DataFrame scikit-learn takes."""

    numeric_columns: list[str]
    numeric: np.ndarray
    categorical: dict[str, tuple[Any, np.ndarray]]

    def frame(self) -> pd.DataFrame: ...


def chunk_features(preprocessor: ColumnTransformer, fast: FastTransform | None, chunk: ChunkArrays) -> np.ndarray:
    """The preprocessed float32 matrix of one chunk: `fast` when the preprocessor has the known
    structure (equal to the scikit-learn transform), else scikit-learn on the chunk's DataFrame."""
    import numpy as np

    if fast is None:
        return transform_features(preprocessor, chunk.frame())
    numeric = chunk.numeric
    if fast.numeric_columns != chunk.numeric_columns:
        position = {name: j for j, name in enumerate(chunk.numeric_columns)}
        numeric = numeric[:, [position[name] for name in fast.numeric_columns]]
    categorical = [chunk.categorical[name] for name in fast.categorical_columns]
    return np.ascontiguousarray(fast.transform(numeric, categorical), dtype=np.float32)


def fast_transform(
    preprocessor: ColumnTransformer, imputed: dict[bytes, np.ndarray] | None = None, threads: int = 1
) -> FastTransform | None:
    """A `FastTransform` for a netsec-built preprocessor, or None when its structure is not the
    known one (callers then use `transform_features` on a DataFrame). `imputed` seeds its cache of
    imputed rows (row bytes -> imputed row, as `fit_preprocessor` fills it); `threads` impute."""
    try:
        return FastTransform(preprocessor, imputed, threads)
    except (ValueError, AttributeError, TypeError):
        return None
