"""The trained model, loaded and applied to chunks of input rows: the one scoring path.

`load_model` opens the model unit, artifacts/train only, through `artifacts.open_model` (its
manifest checked, the model with the copy of the preprocessor and schema it was trained with, so
a newer artifacts/transform never changes what is scored); `load_model_folder` opens a copy of
the unit without a manifest (the MLflow model's); `features`
preprocesses one `FeatureChunk` (the `FastTransform` array fast path when the preprocessor has
the known structure, scikit-learn otherwise) and `score` gives its intrusion probabilities.
`netsec predict` and `netsec evaluate` both score through here, so they agree row for row;
`predictions_table` is the one definition of the output columns (predict, serve, the MLflow model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import open_model, open_model_folder
from netsec_cli.models import Detector, load_detector
from netsec_cli.preprocessing import (
    FastTransform,
    FeatureExplainer,
    chunk_features,
    fast_transform,
    load_preprocessor,
)
from netsec_cli.schema import Schema

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from netsec_cli.artifacts import ModelFiles
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
    version: str | None = None  # the registry version (None for a folder outside the registry)


def load_model(config: Config, threshold: float | None = None, needed_by: str = "predict", version: str | None = None) -> Model:
    """Schema, preprocessor and detector of the registry's champion (or `version`, `--model`),
    checked to belong together.

    The threshold is `threshold` when given (`--threshold`), else `predict.threshold` when it is
    a number, else the one train chose (`auto`). `needed_by` names the command in errors."""
    configured = config.predict.threshold
    chosen = threshold if threshold is not None else (None if configured == "auto" else configured)
    return _load(open_model(config.artifacts_dir, needed_by, version), chosen, config.compute.thread_count)


def load_model_folder(folder: Path, *, threshold: float | None = None, threads: int | None = None) -> Model:
    """The model unit in `folder`, a copy without a manifest (the one inside the logged MLflow
    model), checked by `artifacts.open_model_folder`. The threshold is `threshold` when given, else
    the one train chose; `threads` scoring threads (None: the library's default, all cores)."""
    return _load(open_model_folder(folder), threshold, threads)


def _load(files: ModelFiles, threshold: float | None, threads: int | None) -> Model:
    """The one way a `Model` is built: the detector and preprocessor by their safe loaders (never pickle)."""
    info = files.info
    detector = load_detector(info.kind, files.model, list(info.feature_types), threads=threads)
    preprocessor = load_preprocessor(files.preprocessor, rerun="train")
    return Model(
        schema=files.load_schema(),
        preprocessor=preprocessor,
        detector=detector,
        threshold=info.threshold if threshold is None else threshold,
        fast=fast_transform(preprocessor),
        feature_names=list(info.feature_names),
        kind=info.kind,
        version=files.version,
    )


def features(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """The preprocessed float32 matrix of one chunk: the array fast path when the preprocessor has
    the known structure (equal to the scikit-learn transform), else scikit-learn on a DataFrame."""
    return chunk_features(model.preprocessor, model.fast, chunk)


def score(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """Intrusion probabilities for one chunk."""
    assert model.detector is not None
    return model.detector.predict_proba(features(model, chunk))


def explain_rows(model: Model, explainer: FeatureExplainer | None, x: np.ndarray, chunk: FeatureChunk, rows: np.ndarray) -> np.ndarray:
    """The `top_features` text of the chunk's `rows` (`x` its matrix; contributions computed for
    those rows only, per path: exact TreeSHAP would cost ~70x more)."""
    import numpy as np

    assert model.detector is not None
    if explainer is None or len(rows) == 0:
        return np.full(len(rows), "", dtype=object)
    return explainer.describe(model.detector.contributions(x[rows], approximate=True), chunk, rows)


def flagged_notes(probability: np.ndarray, threshold: float, explain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The `top_features` column of one chunk: `explain(rows)` for the flagged rows, "" elsewhere."""
    import numpy as np

    notes = np.full(len(probability), "", dtype=object)
    flagged = np.flatnonzero(probability >= threshold)
    notes[flagged] = explain(flagged)
    return notes


def predictions_table(start: int, probability: np.ndarray, threshold: float, notes: Any = None) -> Any:
    """The output columns of every way netsec scores (predict, serve, the MLflow model), as an Arrow
    table: row (from `start`), prediction (0 normal, -1 intrusion, as the original API), label,
    probability, and `top_features` when `notes` is given. Intrusion when probability >= threshold."""
    import numpy as np
    import pyarrow as pa

    intrusion = probability >= threshold
    columns = {
        "row": pa.array(np.arange(start, start + len(probability), dtype=np.int64)),
        "prediction": pa.array(np.where(intrusion, -1, 0).astype(np.int8)),
        "label": pa.array(["normal", "intrusion"]).take(pa.array(intrusion.astype(np.int8))),
        "probability": pa.array(probability),
    }
    if notes is not None:
        columns["top_features"] = pa.array(notes, type=pa.string())
    return pa.table(columns)
