"""The preprocessor: `build` (from the schema and `transform:` options), `store` (skops file,
loaded with a trust list, never unpickled), `fast` (the array fast path predict and transform
use), `knn` (the KNN imputer applied to rows with gaps, value for value, faster) and `explain`
(model contributions mapped back onto the input columns, for per-flow explanations)."""

from netsec_cli.preprocessing.build import (
    build_preprocessor,
    feature_frame,
    feature_types,
    fit_preprocessor,
    transform_features,
)
from netsec_cli.preprocessing.explain import FeatureExplainer, output_inputs
from netsec_cli.preprocessing.fast import (
    ChunkArrays,
    FastTransform,
    chunk_features,
    fast_transform,
)
from netsec_cli.preprocessing.store import (
    TRUSTED_TYPES,
    load_preprocessor,
    save_preprocessor,
)

__all__ = [
    "TRUSTED_TYPES",
    "ChunkArrays",
    "FeatureExplainer",
    "FastTransform",
    "build_preprocessor",
    "chunk_features",
    "fast_transform",
    "feature_frame",
    "feature_types",
    "fit_preprocessor",
    "load_preprocessor",
    "output_inputs",
    "save_preprocessor",
    "transform_features",
]
