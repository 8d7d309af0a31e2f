"""The preprocessor: building it from the schema, and saving/loading it without executing code.

Numeric columns: KNNImputer (`transform.imputer_neighbors`) then a scaler (`transform.scaler`:
robust | standard | none). Categorical columns: most-frequent imputation then, by
`transform.categorical_encoding`, either `native` - one code per column (0, 1, ... over the
sorted training categories) that the model treats as categorical (`feature_types`), so one XGBoost
split can send a learnt group of categories one way; a category never seen in training becomes
-1, which XGBoost sends the way of every category outside the learnt groups - or `onehot` - one
0/1 column per category, an unseen category all zeros. `transform.max_categories` caps each
column, grouping rare values. It is a scikit-learn ColumnTransformer working on a
DataFrame whose columns are `schema.features`.

KNNImputer keeps its whole fit matrix and its cost grows with (rows with gaps) x (fit rows), so
its neighbours come from a seeded sample of at most `transform.imputer_max_rows` training rows
(default 10,000); scaling and encoding are fitted on the full training split.

On disk it is a skops file. `load_preprocessor` opens it with an explicit list of trusted types
(scikit-learn's own estimators are trusted by skops; the only extra type is `numpy.dtype`), so a
file naming any other type - a tampered or foreign file - is refused before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from netsec_cli.config import TransformConfig
    from netsec_cli.schema import Schema

PREPROCESSOR_FILE = "preprocessor.skops"
# Types skops does not trust by default that a netsec preprocessor legitimately contains.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)


def build_preprocessor(schema: Schema, options: TransformConfig) -> ColumnTransformer:
    """An unfitted ColumnTransformer for `schema.features` configured from `transform:`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import KNNImputer, SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
    )

    numeric = [c for c in schema.features if c in set(schema.numerical)]
    categorical = [c for c in schema.features if c in set(schema.categorical)]
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        steps: list[tuple[str, Any]] = [
            ("impute", KNNImputer(n_neighbors=options.imputer_neighbors, keep_empty_features=True))
        ]
        if options.scaler == "robust":
            steps.append(("scale", RobustScaler()))
        elif options.scaler == "standard":
            steps.append(("scale", StandardScaler()))
        parts.append(("num", Pipeline(steps), numeric))
    if categorical:
        encoder: Any
        if options.categorical_encoding == "native":
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                max_categories=options.max_categories,
                dtype=float,
            )
        else:
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist" if options.max_categories else "ignore",
                max_categories=options.max_categories,
                sparse_output=False,
                dtype=float,
            )
        parts.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)), ("encode", encoder)]), categorical))
    if not parts:
        raise InputError("the schema has no feature columns (numerical or categorical)", hint="check the schema YAML")
    return ColumnTransformer(parts, sparse_threshold=0.0, verbose_feature_names_out=True)


def fit_preprocessor(
    schema: Schema, options: TransformConfig, frame: pd.DataFrame, *, seed: int = 42
) -> ColumnTransformer:
    """Fit on the training features; the KNN imputer's neighbours come from a bounded sample.

    The ColumnTransformer is fitted with a median imputer standing in for KNN, then the KNN
    imputer is fitted on at most `imputer_max_rows` rows and the scaler refitted on the
    KNN-imputed training data, so the cost is (rows with gaps) x (sample) rather than n squared.
    """
    from sklearn.base import clone
    from sklearn.impute import KNNImputer, SimpleImputer

    preprocessor = build_preprocessor(schema, options)
    features = frame[schema.features]
    has_numeric = any(name == "num" for name, _, _ in preprocessor.transformers)
    if has_numeric:
        preprocessor.set_params(num__impute=SimpleImputer(strategy="median", keep_empty_features=True))
    preprocessor.fit(features)
    if has_numeric:
        pipeline = preprocessor.named_transformers_["num"]
        numeric = features[preprocessor.transformers_[0][2]]
        sample = numeric.sample(n=min(len(numeric), options.imputer_max_rows), random_state=seed)
        imputer = KNNImputer(n_neighbors=options.imputer_neighbors, keep_empty_features=True).fit(sample)
        steps: list[tuple[str, Any]] = [("impute", imputer)]
        if len(pipeline.steps) > 1:
            steps.append(("scale", clone(pipeline.steps[1][1]).fit(imputer.transform(numeric))))
        pipeline.steps = steps
    return preprocessor


def feature_types(preprocessor: ColumnTransformer) -> list[str]:
    """XGBoost's type of each output column: "c" for a native category code, "q" otherwise."""
    from sklearn.preprocessing import OrdinalEncoder

    width = max((s.stop for s in preprocessor.output_indices_.values()), default=0)
    types = ["q"] * width
    for name, part, _ in preprocessor.transformers_:
        last = part.steps[-1][1] if hasattr(part, "steps") else part
        if isinstance(last, OrdinalEncoder):
            where = preprocessor.output_indices_[name]
            types[where] = ["c"] * (where.stop - where.start)
    return types


def feature_frame(schema: Schema, frame: pd.DataFrame) -> pd.DataFrame:
    """The feature columns with the dtypes the preprocessor expects (float numerics, object strings)."""
    import numpy as np
    import pandas as pd

    numeric = set(schema.numerical)
    out = {}
    for column in schema.features:
        values = frame[column]
        if column in numeric:
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            as_object = values.astype(object)
            out[column] = as_object.where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def transform_features(preprocessor: ColumnTransformer, frame: pd.DataFrame) -> np.ndarray:
    """Apply a fitted preprocessor; returns a dense float32 matrix (XGBoost's own precision)."""
    import numpy as np

    return np.ascontiguousarray(preprocessor.transform(frame), dtype=np.float32)


def save_preprocessor(preprocessor: ColumnTransformer, path: Path) -> None:
    """Write the fitted preprocessor as a skops file (atomically)."""
    import skops.io as sio

    from netsec_cli.artifacts import atomic_path

    with atomic_path(path) as tmp:
        sio.dump(preprocessor, tmp)


def load_preprocessor(path: Path) -> ColumnTransformer:
    """Load a skops preprocessor trusting only `TRUSTED_TYPES` (plus skops' defaults); never unpickles."""
    import zipfile

    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    if not path.is_file():
        raise InputError(f"preprocessor not found: {path}", hint="run `netsec transform`")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise InputError(
                f"refusing to load preprocessor {path}: it contains untrusted types {', '.join(untrusted)}",
                hint="re-run `netsec transform` to rebuild it",
            )
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise InputError(
            f"refusing to load preprocessor {path}: {exc}", hint="re-run `netsec transform` to rebuild it"
        ) from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, OSError) as exc:
        raise InputError(
            f"preprocessor {path} is corrupt or not a netsec preprocessor ({type(exc).__name__})",
            hint="re-run `netsec transform`",
        ) from None


# Imputed rows FastTransform remembers across chunks (each 8 bytes x numeric columns, twice).
IMPUTED_CACHE_ROWS = 50_000


class FastTransform:
    """The fitted preprocessor applied to plain arrays, equal to `transform_features` on the same rows.

    Built by `fast_transform`; it skips the DataFrame and object-array round trips of the
    scikit-learn path. Numeric part: rows without missing values skip the KNN imputer (as
    scikit-learn does); rows with gaps are de-duplicated and only the distinct ones go through the
    fitted KNNImputer (each row's imputation depends only on that row and the fit data); later
    steps (the scaler) run their own `transform`. Imputed rows are remembered across chunks (up to
`IMPUTED_CACHE_ROWS`), so a gap pattern seen before is not imputed again. Categorical part: most-frequent fill and one-hot
    encoding are looked up from the fitted `statistics_` and `categories_` with a sorted search,
    unknown categories giving all zeros as `handle_unknown="ignore"` does; with the native
    encoding (OrdinalEncoder) the same search gives the code, unknown categories `unknown_value`.
    """

    def __init__(self, preprocessor: ColumnTransformer) -> None:

        self._imputed: dict[bytes, np.ndarray] = {}
        self.width = int(max((s.stop for s in preprocessor.output_indices_.values()), default=0))
        self.numeric_columns: list[str] = []
        self.categorical_columns: list[str] = []
        self._numeric: tuple[slice, Any, list[Any]] | None = None
        self._categorical: list[tuple[int, str, np.ndarray, np.ndarray]] = []
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
                self.categorical_columns = list(columns)
            else:
                raise ValueError(f"no fast path for transformer {name!r}")

    def transform(self, numeric: np.ndarray, categorical: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Dense float32 features from numeric (rows x numeric_columns, float64, NaN missing) and,
        per categorical column, (unicode values, missing mask)."""
        import numpy as np

        rows = numeric.shape[0] if self.numeric_columns else len(categorical[0][0])
        out = np.zeros((rows, self.width), dtype=np.float32)
        if self._numeric is not None:
            where, imputer, steps = self._numeric
            out[:, where] = _numeric_part(numeric, imputer, steps, self.numeric_columns, self._imputed)
        for (offset, fill, ordered, positions), (values, missing) in zip(self._categorical, categorical, strict=True):
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
    numeric: np.ndarray, imputer: Any, steps: list[Any], columns: list[str], cache: dict[bytes, np.ndarray]
) -> np.ndarray:
    """Impute (distinct rows with gaps only, remembered across chunks in `cache`) then the later steps."""
    import warnings

    import numpy as np
    import pandas as pd

    values = np.array(numeric, dtype=np.float64, order="C")
    gaps = np.flatnonzero(np.isnan(values).any(axis=1))
    if len(gaps):
        rows = np.ascontiguousarray(values[gaps])
        keys = rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        names = [key.tobytes() for key in unique]
        new = [i for i, name in enumerate(names) if name not in cache]
        if new:
            imputed = np.asarray(imputer.transform(pd.DataFrame(rows[first[new]], columns=columns)), dtype=np.float64)
            if len(cache) + len(new) > IMPUTED_CACHE_ROWS:
                cache.clear()
            cache.update(zip((names[i] for i in new), imputed, strict=True))
        values[gaps] = np.stack([cache[name] for name in names])[inverse.ravel()]
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


class ChunkArrays(Protocol):
    """A chunk of input rows as plain arrays (netsec_cli.sources.tabular.FeatureChunk): float64
    numerics (rows x numeric_columns, NaN missing), per categorical column (unicode values,
    missing mask), and the same rows as the DataFrame scikit-learn takes."""

    numeric_columns: list[str]
    numeric: np.ndarray
    categorical: dict[str, tuple[np.ndarray, np.ndarray]]

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


def fast_transform(preprocessor: ColumnTransformer) -> FastTransform | None:
    """A `FastTransform` for a netsec-built preprocessor, or None when its structure is not the
    known one (callers then use `transform_features` on a DataFrame)."""
    try:
        return FastTransform(preprocessor)
    except (ValueError, AttributeError, TypeError):
        return None
