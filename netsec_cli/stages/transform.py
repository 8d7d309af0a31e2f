"""`netsec transform`: fit the preprocessor on the training split and transform both splits.

Reads artifacts/etl/{train,test}.parquet and schema.yaml; writes artifacts/transform/:
  preprocessor.skops   the fitted ColumnTransformer (loads without executing code)
  schema.yaml          the schema it was fitted for (predict reads this one)
  X_train.npy y_train.npy X_test.npy y_test.npy   float32 features, int8 target (1 = intrusion)
  feature_names.json   output column names, in order
  transform.json       row counts and options
The splits are read in chunks of `predict.chunk_size` rows by the reader predict uses
(netsec_cli.sources.tabular), so memory depends on the chunk size and the fit sample, not on the
row count. The preprocessor is fitted on the whole training split when it has at most
`transform.fit_max_rows` rows, else on a uniform sample of that many rows drawn with
`split.seed` (the same rows every run). Each chunk is then transformed (`chunk_rows`, on the
compute engine: here, or on Dask workers with the preprocessor scattered once) with the array fast path
(`preprocessing.chunk_features`, equal to the scikit-learn transform) and written into .npy files
of the final shape (`np.lib.format.open_memmap`), the target chunk by chunk from its column.
SMOTE (when `transform.smote`) oversamples the transformed training split only; it needs that
whole matrix in memory, so it is refused when the training split has more than `fit_max_rows`
rows (the fit sample's bound: rows x output columns x 4 bytes, about 250 MB with one-hot
encoding at the default 500,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    TransformFiles,
    open_stage,
    stage_dir,
    write_json_atomic,
    write_text_atomic,
)
from netsec_cli.compute import Engine, open_engine
from netsec_cli.errors import InputError
from netsec_cli.preprocessing import (
    chunk_features,
    fast_transform,
    fit_preprocessor,
    save_preprocessor,
)
from netsec_cli.runner import RunOptions, run_stage, unchanged
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular import (
    FeatureChunk,
    PredictInput,
    TextColumn,
    open_input,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from netsec_cli.config import Config
    from netsec_cli.preprocessing import FastTransform
    from netsec_cli.progress import TaskHandle


@dataclass
class TransformResult:
    """What `netsec transform` produced."""

    train_rows: int
    test_rows: int
    input_features: int
    output_features: int
    smote_added: int
    intrusion_share_train: float
    output_dir: Path
    duration: float
    skipped: bool = False  # unchanged inputs: the published folder's recorded result (`runner.unchanged`)


def binary_target(schema: Schema, frame: pd.DataFrame) -> np.ndarray:
    """1 for intrusion rows, 0 for normal rows."""
    import numpy as np

    return (~schema.is_normal(frame[schema.target])).to_numpy(dtype=bool).astype(np.int8)


def _smote(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    from imblearn.over_sampling import SMOTE

    minority = int(min(np.bincount(y, minlength=2)))
    if minority < 2:
        raise InputError("SMOTE needs at least 2 rows of each class in the training split", hint="set transform.smote: false")
    x_res, y_res = SMOTE(random_state=seed, k_neighbors=min(5, minority - 1)).fit_resample(x, y)
    return np.ascontiguousarray(x_res, dtype=np.float32), np.asarray(y_res, dtype=np.int8)


def check_smote_budget(config: Config, train_rows: int) -> None:
    """Refuse SMOTE for a training split above `transform.fit_max_rows` rows (it needs it whole in memory)."""
    limit = config.transform.fit_max_rows
    if config.transform.smote and train_rows > limit:
        raise InputError(
            f"SMOTE needs the whole training matrix in memory: the training split has {train_rows:,} rows, "
            f"more than transform.fit_max_rows ({limit:,})",
            hint="set transform.smote: false, or raise transform.fit_max_rows if the matrix fits in memory",
        )


def parquet_rows(path: Path) -> int:
    """The row count from a Parquet file's metadata (nothing else is read)."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise InputError(f"cannot read {path}: {exc}", hint="re-run `netsec etl`") from None


def sample_rows(rows: int, limit: int, seed: int) -> np.ndarray | None:
    """The sorted row numbers the preprocessor is fitted on: None (every row) when `rows` <= `limit`,
    else a uniform sample of `limit` rows without replacement drawn with `seed`."""
    import numpy as np

    if rows <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def _subset(chunk: FeatureChunk, rows: np.ndarray) -> FeatureChunk:
    """The chunk's `rows` (positions within it) as a chunk of their own."""
    categorical: dict[str, tuple[Any, np.ndarray]] = {}
    for name, (values, missing) in chunk.categorical.items():
        kept = TextColumn(values.codes[rows], values.uniques) if isinstance(values, TextColumn) else values[rows]
        categorical[name] = (kept, missing[rows])
    return FeatureChunk(
        start=chunk.start,
        rows=len(rows),
        features=chunk.features,
        numeric_columns=chunk.numeric_columns,
        numeric=chunk.numeric[rows],
        categorical=categorical,
    )


def fit_frame(source: PredictInput, rows: int, limit: int, seed: int) -> pd.DataFrame:
    """The training rows the preprocessor is fitted on, as the DataFrame scikit-learn takes: every
    row up to `limit` rows, else the seeded sample of `sample_rows` (only those rows are kept)."""
    import numpy as np
    import pandas as pd

    chosen = sample_rows(rows, limit, seed)
    frames: list[pd.DataFrame] = []
    for chunk in source.chunks():
        if chosen is not None:
            low, high = np.searchsorted(chosen, [chunk.start, chunk.start + len(chunk)])
            chunk = _subset(chunk, chosen[low:high] - chunk.start)
        frames.append(chunk.frame())
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


class _Rows:
    """One output array filled in row order: a .npy file of its final shape written block by block
    (never held whole; the same bytes `np.save` writes), or, without a path, kept in memory."""

    def __init__(self, path: Path | None, shape: tuple[int, ...], dtype: Any) -> None:
        import numpy as np

        self.shape, self.dtype, self.rows, self.ones = shape, np.dtype(dtype), 0, 0
        self._blocks: list[np.ndarray] = []
        self._handle = path.open("wb") if path is not None else None
        if self._handle is not None:
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(self._handle, header)

    def write(self, block: np.ndarray) -> None:
        import numpy as np

        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.ndim == 1:
            self.ones += int(np.count_nonzero(block))
        if self._handle is None:
            self._blocks.append(block)
        else:
            self._handle.write(block.data)
        self.rows += len(block)

    def close(self) -> np.ndarray | None:
        """The array when kept in memory (None for a file); the file is closed either way."""
        import numpy as np

        if self._handle is not None:
            self._handle.close()
            return None
        return np.concatenate(self._blocks) if self._blocks else np.empty(self.shape, dtype=self.dtype)


def _fill(
    config: Config,
    schema: Schema,
    path: Path,
    transform: ChunkTransform,
    bar: TaskHandle,
    x: _Rows,
    y: _Rows,
) -> None:
    """Transform the split at `path` chunk by chunk into `x`, its target (`binary_target`) into `y`."""
    import pyarrow.parquet as pq

    if x.shape[0]:
        chunks = open_input(path, schema, config.predict.chunk_size, max_field_bytes=config.input.max_field_bytes).chunks()
        for block in transform.engine.map(chunk_rows, chunks, transform.preprocessor, transform.fast):
            x.write(block)
            bar.advance(len(block))
        for batch in pq.ParquetFile(path).iter_batches(batch_size=config.predict.chunk_size, columns=[schema.target]):
            y.write(binary_target(schema, batch.to_pandas()))
    if x.rows != x.shape[0] or y.rows != y.shape[0]:
        raise InputError(f"{path} gave {x.rows:,} rows and {y.rows:,} targets, not {x.shape[0]:,}", hint="re-run `netsec etl`")


def _split_arrays(
    config: Config,
    schema: Schema,
    path: Path,
    width: int,
    transform: ChunkTransform,
    bar: TaskHandle,
    files: tuple[Path, Path] | None,
    rows: int,
) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """X and y of one split written to the .npy `files` (X, y), or returned when `files` is None;
    and the number of intrusion rows."""
    import numpy as np

    x = _Rows(files[0] if files else None, (rows, width), np.float32)
    y = _Rows(files[1] if files else None, (rows,), np.int8)
    try:
        _fill(config, schema, path, transform, bar, x, y)
    finally:
        x_array, y_array = x.close(), y.close()
    return x_array, y_array, y.ones


@dataclass(frozen=True)
class ChunkTransform:
    """The fitted preprocessor, its array fast path, and the engine chunks are transformed on."""

    engine: Engine
    preprocessor: ColumnTransformer
    fast: FastTransform | None


def chunk_rows(chunk: FeatureChunk, preprocessor: ColumnTransformer, fast: FastTransform | None) -> np.ndarray:
    """One chunk's float32 feature matrix (`preprocessing.chunk_features`), as engines map it."""
    return chunk_features(preprocessor, fast, chunk)


def run_transform(config: Config, *, options: RunOptions = RunOptions()) -> TransformResult:
    """Fit the preprocessor on artifacts/etl/train.parquet and publish artifacts/transform.

    Skipped, returning the published result, when nothing it reads changed (`runner.unchanged`)."""
    import numpy as np

    recorded = unchanged(config, "transform", options)
    if recorded is not None:
        return TransformResult(**recorded.result, output_dir=recorded.folder, duration=recorded.seconds, skipped=True)
    settings = config.transform
    inputs = {"scaler": settings.scaler, "smote": settings.smote, "fit_max_rows": settings.fit_max_rows}
    with run_stage(config, "transform", options, fingerprint={}, **inputs) as run, open_engine(config) as engine:
        etl = open_stage(config.artifacts_dir, "etl", "transform")
        schema = etl.load_schema()
        train_rows, test_rows = parquet_rows(etl.train), parquet_rows(etl.test)
        if train_rows == 0:
            raise InputError(f"{etl.train} has no rows", hint="re-run `netsec etl` on a non-empty source")
        check_smote_budget(config, train_rows)
        files = TransformFiles(run.folder)
        with options.progress.task("transform", total=train_rows + test_rows, unit="rows") as bar:
            train = open_input(etl.train, schema, config.predict.chunk_size, max_field_bytes=config.input.max_field_bytes)
            frame = fit_frame(train, train_rows, settings.fit_max_rows, config.split.seed)
            imputed: dict[bytes, np.ndarray] = {}  # rows the fit imputed, not imputed again
            threads = config.compute.thread_count
            preprocessor = fit_preprocessor(schema, settings, frame, seed=config.split.seed, imputed=imputed, threads=threads)
            del frame
            fast = fast_transform(preprocessor, imputed, threads if engine.name == "local" else 1)
            names = [str(n) for n in preprocessor.get_feature_names_out()]
            transform = ChunkTransform(engine, preprocessor, fast)
            on_disk = None if settings.smote else (files.array("X_train"), files.array("y_train"))
            x_train, y_train, intrusions = _split_arrays(config, schema, etl.train, len(names), transform, bar, on_disk, train_rows)
            test_files = (files.array("X_test"), files.array("y_test"))
            _split_arrays(config, schema, etl.test, len(names), transform, bar, test_files, test_rows)
        added = 0
        if x_train is not None and y_train is not None:  # SMOTE: the training split was kept in memory
            x_train, y_train = _smote(x_train, y_train, settings.smote_seed)
            added, intrusions = len(y_train) - train_rows, int(np.count_nonzero(y_train))
            np.save(files.array("X_train"), x_train, allow_pickle=False)
            np.save(files.array("y_train"), y_train, allow_pickle=False)
            del x_train, y_train
        save_preprocessor(preprocessor, files.preprocessor)
        write_text_atomic(files.schema, schema.to_yaml())
        write_json_atomic(files.feature_names_file, names)
        counts = {"train_rows": train_rows + added, "test_rows": test_rows}
        info = {**counts, "smote_added": added, "fit_rows": min(train_rows, settings.fit_max_rows)}
        write_json_atomic(files.info, {**info, "options": settings.model_dump(mode="json")})
        run.summary.update(**counts, features=len(names))
        facts: dict[str, Any] = {
            **counts,
            "input_features": len(schema.features),
            "output_features": len(names),
            "smote_added": added,
            "intrusion_share_train": round(intrusions / counts["train_rows"], 4),
        }
        run.record = facts
    return TransformResult(**facts, output_dir=stage_dir(config.artifacts_dir, "transform"), duration=run.elapsed())
