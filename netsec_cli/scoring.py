"""The trained model, loaded and applied to chunks of input rows: the one scoring path.

`load_model` opens the model unit, artifacts/train only, through `artifacts.open_model` (its
manifest checked, the model with the copy of the preprocessor and schema it was trained with, so
a newer artifacts/transform never changes what is scored); `features`
preprocesses one `FeatureChunk` (the `FastTransform` array fast path when the preprocessor has
the known structure, scikit-learn otherwise) and `score` gives its intrusion probabilities.
`netsec predict` and `netsec evaluate` both score through here, so they agree row for row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import open_model
from netsec_cli.models import Detector, load_detector
from netsec_cli.preprocessing import (
    FastTransform,
    chunk_features,
    fast_transform,
    load_preprocessor,
)
from netsec_cli.schema import Schema

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config
    from netsec_cli.sources.tabular import FeatureChunk


@dataclass
class Model:
    """The loaded artifacts needed to score rows."""

    schema: Schema
    preprocessor: Any
    detector: Detector | None
    threshold: float
    fast: FastTransform | None = None
    feature_names: list[str] = field(default_factory=list)
    kind: str = "xgboost"


def load_model(config: Config, threshold: float | None = None, needed_by: str = "predict") -> Model:
    """Schema, preprocessor and detector from the published artifacts, checked to belong together.

    The threshold is `threshold` when given (`--threshold`), else `predict.threshold` when it is
    a number, else the one train chose (`auto`). `needed_by` names the command in errors."""
    files = open_model(config.artifacts_dir, needed_by)
    info = files.info
    detector = load_detector(info.kind, files.model, list(info.feature_types), threads=config.compute.thread_count)
    preprocessor = load_preprocessor(files.preprocessor, rerun="train")
    configured = config.predict.threshold
    return Model(
        schema=files.load_schema(),
        preprocessor=preprocessor,
        detector=detector,
        threshold=threshold if threshold is not None else (configured if configured != "auto" else info.threshold),
        fast=fast_transform(preprocessor),
        feature_names=list(info.feature_names),
        kind=info.kind,
    )


def features(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """The preprocessed float32 matrix of one chunk: the array fast path when the preprocessor has
    the known structure (equal to the scikit-learn transform), else scikit-learn on a DataFrame."""
    return chunk_features(model.preprocessor, model.fast, chunk)


def score(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """Intrusion probabilities for one chunk."""
    assert model.detector is not None
    return model.detector.predict_proba(features(model, chunk))
