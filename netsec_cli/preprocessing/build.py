"""Building the preprocessor from the schema and the `transform:` options, and applying it.

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
(default 10,000); scaling and encoding are fitted on the frame given (the transform stage passes
the training split, or a seeded sample of `transform.fit_max_rows` rows of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from netsec_cli.config import TransformConfig
    from netsec_cli.schema import Schema


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
    schema: Schema,
    options: TransformConfig,
    frame: pd.DataFrame,
    *,
    seed: int = 42,
    imputed: dict[bytes, np.ndarray] | None = None,
    threads: int = 1,
) -> ColumnTransformer:
    """Fit on the training features; the KNN imputer's neighbours come from a bounded sample.

    The ColumnTransformer's columns are fitted with cheap numeric stand-ins (a constant imputer,
    no scaler; the spec keeps the median imputer and the scaler, as it always has), then the KNN
    imputer is fitted on at most `imputer_max_rows` rows and the scaler refitted on the
    KNN-imputed training data, so the cost is (rows with gaps) x (sample) rather than n squared.
    The rows imputed for that (on `threads` threads) are added to `imputed` (row bytes -> imputed
    row, see `knn`), so a `FastTransform` seeded with it does not impute them again.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.impute import KNNImputer, SimpleImputer

    from netsec_cli.preprocessing.knn import IMPUTED_CACHE_ROWS, impute_gaps

    preprocessor = build_preprocessor(schema, options)
    features = frame[schema.features]
    spec = {name: part for name, part, _ in preprocessor.transformers}.get("num")
    scaler = spec.steps[1][1] if spec is not None and len(spec.steps) > 1 else None
    if spec is not None:  # cheap stand-ins while the columns are fitted; both replaced below
        preprocessor.set_params(num__impute=SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True))
        if scaler is not None:
            preprocessor.set_params(num__scale="passthrough")
    preprocessor.fit(features)
    if spec is not None:
        preprocessor.set_params(num__impute=SimpleImputer(strategy="median", keep_empty_features=True))
        if scaler is not None:
            preprocessor.set_params(num__scale=scaler)
        pipeline = preprocessor.named_transformers_["num"]
        columns = list(preprocessor.transformers_[0][2])
        numeric = features[columns]
        sample = numeric.sample(n=min(len(numeric), options.imputer_max_rows), random_state=seed)
        imputer = KNNImputer(n_neighbors=options.imputer_neighbors, keep_empty_features=True).fit(sample)
        steps: list[tuple[str, Any]] = [("impute", imputer)]
        if scaler is not None:
            values = numeric.to_numpy(dtype=np.float64, copy=True)  # the layout KNNImputer.transform gives
            impute_gaps(imputer, values, columns, {} if imputed is None else imputed, IMPUTED_CACHE_ROWS, threads)
            steps.append(("scale", clone(scaler).fit(values)))
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
