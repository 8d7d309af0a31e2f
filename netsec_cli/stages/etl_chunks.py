"""etl's pass over the source rows: every chunk conformed to the settled schema, labelled, appended
to Parquet; of the rows themselves only their intrusion flags (one byte a row) stay in memory.

`conform_chunk` is the per-chunk step, a plain function of (chunk, plan): a synthetic frame is cast
to the schema, a raw file block typed to it (`sources.tabular.typed_block`); rows without a target
are dropped and the rest flagged normal or intrusion. An int64 column that gets gaps in some chunk
is stored as float64 in every chunk, as a whole-table read would store it; fractional values in an
int64 column are refused for a given schema (as before) and make it float64 for an inferred one.
`stream_rows` maps the step over the chunks on the engine (here or on Dask workers; every chunk
gets the same plan, and a later dtype change starts a new segment) and writes them to Parquet "segments": one
file while the dtypes hold, a new one from the chunk where a column became float64
(`etl_split.write_splits` reads the segments back in the final dtypes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netsec_cli.errors import InputError
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.schema import DType, Schema

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from netsec_cli.compute import Engine

SHOWN_TARGETS = 8


@dataclass(frozen=True)
class ChunkPlan:
    """What every chunk is conformed to: `schema` as declared or inferred, `dtypes` as stored so far
    (an int64 column may have become float64), the name errors use, whether the schema was inferred
    (`inferred_rows`: from that many first rows) or given."""

    schema: Schema
    dtypes: dict[str, DType]
    origin: str
    inferred_rows: int | None = None


@dataclass
class ConformedChunk:
    """One chunk in schema columns and dtypes, without unlabelled rows, and its intrusion flags."""

    frame: pd.DataFrame
    intrusion: np.ndarray
    dropped: int
    targets: list[str]


def conform_chunk(chunk: pd.DataFrame | Any, plan: ChunkPlan) -> ConformedChunk:
    """Conform one chunk (a synthetic frame, or a raw file `Block`) to `plan` and label its rows."""
    import pandas as pd

    from netsec_cli.sources.tabular import conform_to_schema
    from netsec_cli.sources.tabular.typed import typed_block

    schema = plan.schema.model_copy(update={"dtypes": plan.dtypes})
    if isinstance(chunk, pd.DataFrame):
        frame = conform_to_schema(chunk, schema, plan.origin).reset_index(drop=True)
    else:
        try:
            frame = typed_block(plan.origin, chunk, plan.dtypes)[schema.columns]
        except InputError as exc:
            if plan.inferred_rows is None:
                raise
            hint = f"column types were inferred from the first {plan.inferred_rows:,} rows; pass --schema to declare them"
            raise InputError(exc.message, hint=hint) from None
    _check_whole(frame, plan)
    target = frame[schema.target]
    missing = target.isna().to_numpy()
    if missing.any():
        frame = frame[~missing].reset_index(drop=True)
        target = frame[schema.target]
    normal = schema.model_copy(update={"normal_value": typed_normal(target, schema.normal_value)}).is_normal(target)
    shown = [str(value) for value in pd.unique(target)[:SHOWN_TARGETS]]
    return ConformedChunk(frame, ~normal.to_numpy(dtype=bool, na_value=False), int(missing.sum()), shown)


def _check_whole(frame: pd.DataFrame, plan: ChunkPlan) -> None:
    """A given schema's int64 column may get gaps (float64) but not fractional values."""
    if plan.inferred_rows is not None:
        return
    for column, dtype in plan.schema.dtypes.items():
        if dtype == "int64" and frame[column].dtype.kind == "f":
            values = frame[column].dropna()
            if not (values == values.round()).all():
                raise InputError(f"column {column!r} of {plan.origin} holds fractional values; schema says int64")


def typed_normal(values: pd.Series, normal: str | float) -> str | int | float:
    """The normal value in the target's own type, so `1`, `"1"` and `1.0` all match an integer column."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(values):
        return str(normal)
    try:
        number = float(normal)
    except (TypeError, ValueError):
        return normal
    if pd.api.types.is_integer_dtype(values) and number.is_integer():
        return int(number)
    return number


@dataclass
class Streamed:
    """What `stream_rows` wrote and kept: the segments in order, every kept row's intrusion flag,
    the rows dropped for having no target, the dtypes stored, the first distinct target values."""

    segments: list[Path]
    intrusion: np.ndarray
    dropped: int
    dtypes: dict[str, DType]
    targets: list[str] = field(default_factory=list)


class _Segments:
    """Parquet files in `folder`, one per run of chunks with the same dtypes, a row group per chunk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[Path] = []
        self.writer: Any = None
        self.schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        if self.schema is None or not schema.equals(self.schema, check_metadata=False):
            self.close()
            self.paths.append(self.folder / f".raw-{len(self.paths)}.parquet")
            self.writer, self.schema = pq.ParquetWriter(self.paths[-1], schema), schema
        self.writer.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def stream_rows(
    chunks: Iterable[Any], plan: ChunkPlan, folder: Path, engine: Engine, progress: Progress = NO_PROGRESS
) -> Streamed:
    """Conform and label every chunk on `engine`, write them in order (see the module docstring)."""
    dtypes = dict(plan.dtypes)
    segments = _Segments(folder)
    flags: list[np.ndarray] = []
    dropped, targets = 0, []
    try:
        with progress.task("Reading rows", total=None, unit="rows") as task:
            for done in engine.map(conform_chunk, chunks, plan):
                dtypes.update({c: "float64" for c in done.frame.columns if done.frame[c].dtype.kind == "f"})
                if len(done.frame):
                    segments.write(done.frame)
                flags.append(done.intrusion)
                dropped += done.dropped
                targets += [t for t in done.targets if t not in targets][: SHOWN_TARGETS - len(targets)]
                task.advance(len(done.frame) + done.dropped)
    finally:
        segments.close()
    intrusion = np.concatenate(flags) if flags else np.zeros(0, dtype=bool)
    return Streamed(segments.paths, intrusion, dropped, dtypes, targets)
