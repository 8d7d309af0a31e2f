"""`netsec predict FILE`: score flows with the trained model, streaming in bounded chunks.

Loads the model unit - artifacts/train only: the model with the copy of the schema and
preprocessor it was trained with - through `artifacts.open_model`, which checks its manifest, so
a newer artifacts/transform (a `netsec run` still training, or whose train failed) changes
nothing here. Reads the input chunk by chunk (netsec_cli.sources.tabular, the reader etl uses
too), preprocesses each chunk with the array fast path of netsec_cli.preprocessing.FastTransform
(equal to the scikit-learn transform; scikit-learn itself when the preprocessor has another
structure), scores it with the trained detector (XGBoost's inplace_predict on a float32 matrix,
or CatBoost) and appends it to the output, so memory is bounded by the chunk, not the file.
Chunks are scored by `score_chunk` on the compute engine (`compute.engine`: here, or on Dask
workers with the model scattered once), results in input order; each chunk also returns its own
most suspicious rows, merged here into the `predict.top` list (ties go to the earlier row).
It writes one output row per input row:
  row          0-based row index in the input
  prediction   0 normal, -1 intrusion (as the original API)
  label        "normal" or "intrusion"
  probability  probability of intrusion; intrusion when >= the operating threshold (chosen at
               train, or predict.threshold, or --threshold)
  top_features with `explain` only: for an intrusion, the three inputs that raised its score most,
               from the model's own per-feature contributions mapped back onto the input
               columns (netsec_cli.preprocessing.explain), e.g. `flag=S0 (+1.4); count=511 (+0.9)`;
               empty for normal rows. Contributions are computed for the flagged rows only, per
               path (`approximate=True`: exact TreeSHAP costs ~70x more and would make --explain
               25x slower than predict on a million rows); they still sum to each row's margin.
The most suspicious rows returned carry the same `top_features` text, with or without `explain`.
The output format follows the suffix of `output` (.csv, .json - an array of records - or
.parquet) and is written to a temporary file renamed into place at the end, so a failure leaves
nothing behind. Without `output` it is artifacts/predict/predictions.csv, published as a stage
(with manifest) under the artifacts lock and mirrored with `--sync`; an explicit `--output`
publishes nothing, so it takes no lock and refuses `--sync`. An `--output` that resolves to the
input file, or to anywhere inside the artifacts folder, is refused up front (exit 2,
`artifacts.check_output_path`): only the stage's own publish writes under artifacts/.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    PredictFiles,
    atomic_path,
    check_output_path,
    stage_dir,
    write_json_atomic,
)
from netsec_cli.compute import open_engine
from netsec_cli.errors import InputError
from netsec_cli.preprocessing import FeatureExplainer
from netsec_cli.runner import RunOptions, StageRun, run_stage
from netsec_cli.scoring import (
    Model,
    explain_rows,
    features,
    flagged_notes,
    load_model,
    predictions_table,
)
from netsec_cli.sources.tabular import FeatureChunk, PredictInput, open_input

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config

OUTPUT_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet"}
DISPLAY_COLUMNS = 5
_Entry = tuple[float, int, dict[str, str], str]  # (probability, -row, displayed values, top_features)


@dataclass
class SuspiciousRow:
    """One of the rows with the highest intrusion probability."""

    row: int
    probability: float
    values: dict[str, str]
    top_features: str = ""


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
    model_version: str | None = None  # the registry version that scored


def output_format(path: Path) -> str:
    """csv | json | parquet from the output suffix; anything else is an InputError."""
    kind = OUTPUT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"unsupported output type {path.suffix or '(none)'!r} for {path} (use .csv, .json or .parquet)")
    return kind


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


@dataclass
class ChunkScores:
    """One scored chunk: its probabilities, its `top_features` column (with `explain`) and its own
    most suspicious rows (position in the chunk, probability, displayed values, top_features)."""

    probability: np.ndarray
    notes: np.ndarray | None
    top: list[tuple[int, float, dict[str, str], str]]


def score_chunk(chunk: FeatureChunk, model: Model, explainer: FeatureExplainer | None, explain: bool, keep: int) -> ChunkScores:
    """Score one chunk, as an engine maps it (here or on a Dask worker): probabilities, notes for
    the flagged rows with `explain`, and the chunk's `keep` most probable rows, explained."""
    import numpy as np

    assert model.detector is not None
    x = features(model, chunk)
    probability = model.detector.predict_proba(x)
    why = functools.partial(explain_rows, model, explainer, x, chunk)
    notes = flagged_notes(probability, model.threshold, why) if explain else None
    take = min(keep, len(probability))
    if take == 0:
        return ChunkScores(probability, notes, [])
    kth = np.partition(probability, len(probability) - take)[len(probability) - take]
    tied_or_above = np.flatnonzero(probability >= kth)  # in row order: ties go to the earlier row
    candidates = tied_or_above[np.argsort(-probability[tied_or_above], kind="stable")[:take]]
    texts = why(candidates)
    columns = chunk.features[:DISPLAY_COLUMNS]
    top = [
        (int(i), float(probability[i]), {c: _display(chunk.value(c, int(i))) for c in columns}, str(text))
        for i, text in zip(candidates.tolist(), texts.tolist(), strict=True)
    ]
    return ChunkScores(probability, notes, top)


def _update_top(heap: list[_Entry], keep: int, start: int, scores: ChunkScores) -> None:
    """Keep the `keep` most probable rows seen so far (a bounded heap across chunks)."""
    for i, probability, values, note in scores.top:
        entry = (probability, -(start + i), values, note)
        if len(heap) < keep:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)


def _display(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else (str(int(value)) if value.is_integer() else f"{value:g}")
    return str(value)


@contextlib.contextmanager
def _destination(run: StageRun, output: Path | None) -> Iterator[Path]:
    """A temporary file that becomes `output`, or the stage's predictions file, on success."""
    if output is None:
        yield PredictFiles(run.folder).predictions
        return
    if output.is_dir():
        raise InputError(f"output path {output} is a folder", hint="pass a file name ending in .csv, .json or .parquet")
    with atomic_path(output) as tmp:
        yield tmp


def run_predict(
    config: Config,
    input_path: Path,
    *,
    output: Path | None = None,
    threshold: float | None = None,
    explain: bool = False,
    model_version: str | None = None,
    options: RunOptions = RunOptions(),
) -> PredictResult:
    """Score every row of `input_path` and write the predictions file.

    `threshold` overrides the model's operating threshold for this run; `explain` adds the
    `top_features` column (filled for flagged rows); `model_version` scores with that registered
    version instead of the champion (`--model`).
    Without `output` the predictions are published as artifacts/predict (and mirrored with
    `options.sync`); with `output` they go only there, so `options.sync` is refused up front.
    """
    import numpy as np

    if output is not None:
        hint = "write elsewhere, or omit --output to publish artifacts/predict"
        check_output_path(output, option="--output", input_file=input_path, artifacts=config.artifacts_dir, hint=hint)
    if output is not None and options.sync:
        raise InputError(
            f"--sync mirrors artifacts/predict, but --output writes the predictions to {output}",
            hint="drop --output to publish artifacts/predict/predictions.csv, or drop --sync",
        )
    kind = output_format(output) if output is not None else "csv"
    final = output if output is not None else PredictFiles(stage_dir(config.artifacts_dir, "predict")).predictions
    with run_stage(config, "predict", options, publishes=output is None, input=input_path, output=final) as run:
        model = load_model(config, threshold, version=model_version)
        source: PredictInput = open_input(Path(input_path), model.schema, config.predict.chunk_size, max_field_bytes=config.input.max_field_bytes)
        rows = intrusions = 0
        heap: list[_Entry] = []
        explainer = FeatureExplainer(model.preprocessor) if explain or config.predict.top else None
        with (
            _destination(run, output) as target,
            options.progress.task("predict", total=source.rows) as bar,
            open_engine(config) as engine,
        ):
            writer = _Writer(target, kind)
            try:
                for scores in engine.map(score_chunk, source.chunks(), model, explainer, explain, config.predict.top):
                    probability = scores.probability
                    writer.write(predictions_table(rows, probability, model.threshold, scores.notes))
                    _update_top(heap, config.predict.top, rows, scores)
                    intrusions += int(np.count_nonzero(probability >= model.threshold))
                    rows += len(probability)
                    bar.advance(len(probability))
            finally:
                writer.close()
        if output is None:
            summary = {"input": str(input_path), "rows": rows, "intrusions": intrusions, "threshold": model.threshold}
            write_json_atomic(PredictFiles(run.folder).summary, summary)
        run.summary.update(layout=source.kind, rows=rows, intrusions=intrusions)
    top = [SuspiciousRow(row=-neg, probability=round(p, 6), values=v, top_features=t) for p, neg, v, t in sorted(heap, reverse=True)]
    return PredictResult(
        input=Path(input_path),
        output=final,
        rows=rows,
        intrusions=intrusions,
        normal=rows - intrusions,
        threshold=model.threshold,
        top=top,
        duration=run.elapsed(),
        model_version=model.version,
    )
