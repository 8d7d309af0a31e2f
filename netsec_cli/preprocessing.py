"""The preprocessor: building it from the schema, and saving/loading it without executing code.

Numeric columns: KNNImputer (`transform.imputer_neighbors`) then a scaler (`transform.scaler`:
robust | standard | none). Categorical columns: most-frequent imputation then one-hot encoding
that ignores categories never seen in training (`transform.max_categories` caps each column,
grouping rare values). It is a scikit-learn ColumnTransformer working on a DataFrame whose
columns are `schema.features`.

KNNImputer keeps its whole fit matrix and its cost grows with (rows with gaps) x (fit rows), so
its neighbours come from a seeded sample of at most `transform.imputer_max_rows` training rows
(default 10,000); scaling and encoding are fitted on the full training split.

On disk it is a skops file. `load_preprocessor` opens it with an explicit list of trusted types
(scikit-learn's own estimators are trusted by skops; the only extra type is `numpy.dtype`), so a
file naming any other type - a tampered or foreign file - is refused before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler

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
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist" if options.max_categories else "ignore",
            max_categories=options.max_categories,
            sparse_output=False,
            dtype=float,
        )
        parts.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)), ("onehot", encoder)]), categorical))
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
