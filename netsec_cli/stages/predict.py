"""`netsec predict FILE`: score flows with the trained model, streaming in bounded chunks.

Loads artifacts/transform (schema + preprocessor) and artifacts/train (model), checking both
manifests and that the model was trained with this preprocessor. Reads the input chunk by chunk
(see netsec_cli.predict_input), preprocesses each chunk with the array fast path of
netsec_cli.preprocessing.FastTransform (equal to the scikit-learn transform; scikit-learn itself
when the preprocessor has another structure), scores it with XGBoost's inplace_predict on a
float32 matrix and appends it to the output, so memory is bounded by the chunk, not the file.
It writes one output row per input row:
  row          0-based row index in the input
  prediction   0 normal, -1 intrusion (as the original API)
  label        "normal" or "intrusion"
  probability  probability of intrusion; intrusion when >= predict.threshold
The output format follows the suffix of `output` (.csv, .json - an array of records - or
.parquet) and is written to a temporary file renamed into place at the end, so a failure leaves
nothing behind. Without `output` it is artifacts/predict/predictions.csv, published as a stage
(with manifest) under the pipeline lock; an explicit `--output` elsewhere takes no lock.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import atomic_path, pipeline_lock, staged_stage, write_json_atomic
from netsec_cli.errors import InputError
from netsec_cli.logging_setup import stage_log
from netsec_cli.predict_input import FeatureChunk, PredictInput, open_input
from netsec_cli.preprocessing import PREPROCESSOR_FILE, FastTransform, fast_transform, load_preprocessor, transform_features
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.schema import Schema
from netsec_cli.stages.train import MODEL_FILE, MODEL_INFO, preprocessor_digest
from netsec_cli.stages.transform import checked_stage

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config

OUTPUT_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet"}
DEFAULT_OUTPUT = "predictions.csv"
DISPLAY_COLUMNS = 5


@dataclass
class SuspiciousRow:
    """One of the rows with the highest intrusion probability."""

    row: int
    probability: float
    values: dict[str, str]


@dataclass
class PredictResult:
    """What `netsec predict` produced."""

    input: Path
    output: Path
    rows: int
    intrusions: int
    normal: int
    threshold: float
    top: list[SuspiciousRow] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class Model:
    """The loaded artifacts needed to score rows."""

    schema: Schema
    preprocessor: Any
    booster: Any
    threshold: float
    fast: FastTransform | None = None


def output_format(path: Path) -> str:
    """csv | json | parquet from the output suffix; anything else is an InputError."""
    kind = OUTPUT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"unsupported output type {path.suffix or '(none)'!r} for {path} (use .csv, .json or .parquet)")
    return kind


def load_model(config: Config) -> Model:
    """Schema, preprocessor and booster from the published artifacts, checked to belong together."""
    from xgboost import Booster
    from xgboost.core import XGBoostError

    artifacts = config.artifacts_dir
    train_dir = checked_stage(artifacts, "train", "predict")
    transform_dir = checked_stage(artifacts, "transform", "predict")
    info = json.loads((train_dir / MODEL_INFO).read_text(encoding="utf-8"))
    if info.get("preprocessor_sha256") != preprocessor_digest(transform_dir):
        raise InputError(
            f"the model in {train_dir} was trained with a different preprocessor than {transform_dir}",
            hint="run `netsec train` again",
        )
    booster = Booster()
    try:
        booster.load_model(str(train_dir / MODEL_FILE))
    except XGBoostError:
        raise InputError(f"model {train_dir / MODEL_FILE} is corrupt", hint="run `netsec train` again") from None
    preprocessor = load_preprocessor(transform_dir / PREPROCESSOR_FILE)
    return Model(
        schema=Schema.load(transform_dir / "schema.yaml"),
        preprocessor=preprocessor,
        booster=booster,
        threshold=config.predict.threshold,
        fast=fast_transform(preprocessor),
    )


def features(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """The preprocessed float32 matrix of one chunk: the array fast path when the preprocessor has
    the known structure (equal to the scikit-learn transform), else scikit-learn on a DataFrame."""
    import numpy as np

    fast = model.fast
    if fast is None:
        return transform_features(model.preprocessor, chunk.frame())
    position = {name: j for j, name in enumerate(chunk.numeric_columns)}
    numeric = chunk.numeric
    if fast.numeric_columns != chunk.numeric_columns:
        numeric = numeric[:, [position[name] for name in fast.numeric_columns]]
    categorical = [chunk.categorical[name] for name in fast.categorical_columns]
    return np.ascontiguousarray(fast.transform(numeric, categorical), dtype=np.float32)


def score(model: Model, chunk: FeatureChunk) -> np.ndarray:
    """Intrusion probabilities for one chunk."""
    import numpy as np

    return np.asarray(model.booster.inplace_predict(features(model, chunk)), dtype=np.float64)


class _Writer:
    """Appends prediction chunks to a CSV, JSON-array or Parquet file."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self._writer: Any = None
        self._handle: Any = None
        self._first = True

    def write(self, table: Any) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self.kind == "parquet":
            self._writer = self._writer or pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        elif self.kind == "csv":
            self._writer = self._writer or pacsv.CSVWriter(self.path, table.schema)
            self._writer.write_table(table)
        else:
            self._write_json(table)

    def _write_json(self, table: Any) -> None:
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8")
            self._handle.write("[\n")
        frame = table.to_pandas()
        text = frame.to_json(orient="records", lines=True, double_precision=6).strip()
        if text:
            self._handle.write(("" if self._first else ",\n") + text.replace("\n", ",\n"))
            self._first = False

    def close(self) -> None:
        if self.kind == "json":
            if self._handle is None:
                self._handle = self.path.open("w", encoding="utf-8")
                self._handle.write("[")
            self._handle.write("\n]\n")
            self._handle.close()
        elif self._writer is not None:
            self._writer.close()


def _table(start: int, probability: np.ndarray, threshold: float) -> Any:
    import numpy as np
    import pyarrow as pa

    intrusion = probability >= threshold
    return pa.table(
        {
            "row": pa.array(np.arange(start, start + len(probability), dtype=np.int64)),
            "prediction": pa.array(np.where(intrusion, -1, 0).astype(np.int8)),
            "label": pa.array(["normal", "intrusion"]).take(pa.array(intrusion.astype(np.int8))),
            "probability": pa.array(probability),
        }
    )


def _update_top(heap: list[tuple[float, int, dict[str, str]]], keep: int, start: int, probability: np.ndarray, chunk: FeatureChunk) -> None:
    """Keep the `keep` most probable intrusions seen so far (bounded heap across chunks)."""
    import numpy as np

    if keep == 0 or len(probability) == 0:
        return
    take = min(keep, len(probability))
    candidates = np.argpartition(-probability, take - 1)[:take]
    columns = chunk.features[:DISPLAY_COLUMNS]
    for i in candidates:
        item = (float(probability[i]), -(start + int(i)))
        if len(heap) < keep or item > heap[0][:2]:
            values = {c: _display(chunk.value(c, int(i))) for c in columns}
            entry = (item[0], item[1], values)
            if len(heap) < keep:
                heapq.heappush(heap, entry)
            else:
                heapq.heapreplace(heap, entry)


def _display(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else (str(int(value)) if value.is_integer() else f"{value:g}")
    return str(value)


@contextlib.contextmanager
def _destination(config: Config, output: Path | None) -> Iterator[Path]:
    """A temporary file that becomes `output` (or the published artifacts/predict) on success."""
    if output is None:
        artifacts = config.artifacts_dir
        with pipeline_lock(artifacts), staged_stage(artifacts, "predict") as staging:
            yield staging / DEFAULT_OUTPUT
        return
    if output.is_dir():
        raise InputError(f"output path {output} is a folder", hint="pass a file name ending in .csv, .json or .parquet")
    with atomic_path(output) as tmp:
        yield tmp


def run_predict(
    config: Config, input_path: Path, *, output: Path | None = None, progress: Progress = NO_PROGRESS
) -> PredictResult:
    """Score every row of `input_path` and write the predictions file."""
    import numpy as np

    started = time.perf_counter()
    kind = output_format(output) if output is not None else "csv"
    model = load_model(config)
    source: PredictInput = open_input(Path(input_path), model.schema, config.predict.chunk_size)
    final = output if output is not None else config.artifacts_dir / "predict" / DEFAULT_OUTPUT
    with stage_log("predict", input=input_path, output=final, layout=source.kind) as log:
        rows = intrusions = 0
        heap: list[tuple[float, int, dict[str, str]]] = []
        with _destination(config, output) as target, progress.task("predict", total=source.rows) as bar:
            writer = _Writer(target, kind)
            try:
                for chunk in source.chunks():
                    probability = score(model, chunk)
                    writer.write(_table(rows, probability, model.threshold))
                    _update_top(heap, config.predict.top, rows, probability, chunk)
                    intrusions += int(np.count_nonzero(probability >= model.threshold))
                    rows += len(probability)
                    bar.advance(len(probability))
            finally:
                writer.close()
            if output is None:
                summary = {"input": str(input_path), "rows": rows, "intrusions": intrusions, "threshold": model.threshold}
                write_json_atomic(target.parent / "summary.json", summary)
        top = [SuspiciousRow(row=-neg, probability=round(p, 6), values=v) for p, neg, v in sorted(heap, reverse=True)]
        result = PredictResult(
            input=Path(input_path),
            output=final,
            rows=rows,
            intrusions=intrusions,
            normal=rows - intrusions,
            threshold=model.threshold,
            top=top,
            duration=round(time.perf_counter() - started, 3),
        )
        log.update(rows=rows, intrusions=intrusions, output=final)
    return result
