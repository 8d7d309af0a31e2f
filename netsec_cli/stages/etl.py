"""`netsec etl`: read the source rows, settle the schema, split train/test, write artifacts/etl/.

Outputs (published atomically with a manifest): `raw.parquet` (every row, schema columns and
dtypes), `train.parquet` and `test.parquet` (a split stratified on normal vs intrusion), and
`schema.yaml` whose categorical domains come from the training split.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netsec_cli.artifacts import EtlFiles, write_text_atomic
from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.progress import Progress
from netsec_cli.runner import RunOptions, run_stage
from netsec_cli.schema import Schema, shipped_schema

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("netsec_cli.stages.etl")

LIKELY_TARGETS = {"label", "labels", "class", "result", "target", "attack", "attack_type", "y"}


@dataclass
class EtlResult:
    """What `run_etl` read and wrote."""

    source: str
    rows: int
    train_rows: int
    test_rows: int
    intrusion_share: float
    columns: int
    outputs: dict[str, Path]
    duration_s: float
    target: str = ""
    schema_origin: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Loaded:
    frame: pd.DataFrame
    schema: Schema | None
    origin: str
    name: str


def run_etl(
    config: Config,
    *,
    source: str | None = None,
    schema_path: Path | None = None,
    target: str | None = None,
    normal_value: str | None = None,
    options: RunOptions = RunOptions(),
) -> EtlResult:
    """Read `source` (default config.data.source), settle its schema, split it and publish artifacts/etl.

    `source` is "synthetic", "mongo", or a file path (relative to the working directory when given
    here, to the project root when it comes from config). The schema is `schema_path`, else
    config.data.schema, else the shipped NSL-KDD schema for NSL-KDD-layout files and synthetic
    data, else inferred. `target` / `normal_value` override config.data (and the schema file's).
    """
    chosen = source or config.data.source
    explicit = _explicit_schema(config, schema_path)
    warnings: list[str] = []
    with run_stage(config, "etl", options, source=chosen) as run, options.progress.task("etl", total=4) as task:
        files = EtlFiles(run.folder)
        if chosen == "mongo":
            loaded = _load_mongo(config, explicit, files.raw, options.progress)
        else:
            loaded = _load(config, chosen, explicit, from_config=source is None)
        task.advance()
        frame, schema = _settle(config, loaded, target, normal_value, warnings)
        task.advance()
        train_idx, test_idx = _split(config, frame, schema, warnings)
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        schema = _with_domains(schema, train)
        task.advance()
        frame.to_parquet(files.raw, index=False)
        train.reset_index(drop=True).to_parquet(files.train, index=False)
        test.reset_index(drop=True).to_parquet(files.test, index=False)
        write_text_atomic(files.schema, schema.to_yaml())
        task.advance()
        intrusions = int((~schema.is_normal(frame[schema.target])).sum())
        run.summary.update(rows=len(frame), train=len(train), test=len(test), intrusions=intrusions)
    published = EtlFiles(run.published or files.folder)
    return EtlResult(
        source=chosen if chosen in ("synthetic", "mongo") else loaded.name,
        rows=len(frame),
        train_rows=len(train),
        test_rows=len(test),
        intrusion_share=round(intrusions / len(frame), 6),
        columns=len(schema.columns),
        outputs=published.outputs(),
        duration_s=run.elapsed(),
        target=schema.target,
        schema_origin=loaded.origin,
        warnings=warnings,
    )


def _explicit_schema(config: Config, schema_path: Path | None) -> Schema | None:
    if schema_path is not None:
        return Schema.load(Path(schema_path).expanduser().resolve())
    if config.data.schema_file:
        return Schema.load(config.resolve(config.data.schema_file))
    return None


def _load(config: Config, source: str, explicit: Schema | None, *, from_config: bool) -> _Loaded:
    """Rows from the synthetic generator or a file, with the schema they came with (if any)."""
    from netsec_cli.sources.tabular import LAYOUT_ATTR, NSL_KDD, read_table

    if source == "synthetic":
        from netsec_cli.sources.synthetic import generate_flows

        frame = generate_flows(config.data.synthetic_rows, config.data.synthetic_seed)
        shipped = Schema.load(shipped_schema(NSL_KDD))
        return _Loaded(frame, explicit or shipped, "explicit" if explicit else NSL_KDD, "synthetic")
    path = config.resolve(source) if from_config else Path(source).expanduser().resolve()
    frame = read_table(path, explicit, max_field_bytes=config.input.max_field_bytes)
    if explicit is not None:
        return _Loaded(frame, explicit, "explicit", str(path))
    if frame.attrs.get(LAYOUT_ATTR) == NSL_KDD:
        return _Loaded(frame, Schema.load(shipped_schema(NSL_KDD)), NSL_KDD, str(path))
    return _Loaded(frame, None, "inferred", str(path))


def _load_mongo(config: Config, explicit: Schema | None, dest: Path, progress: Progress) -> _Loaded:
    """Rows from the configured MongoDB collection, staged as Parquet by the mongo source."""
    import pandas as pd

    from netsec_cli.sources.mongo import read_collection
    from netsec_cli.sources.tabular import NSL_KDD, normalise_dtypes

    rows = read_collection(config, dest=dest, schema=explicit, progress=progress)
    log.info("read %s documents from MongoDB %s.%s", rows, config.mongo.database, config.mongo.collection)
    frame = normalise_dtypes(pd.read_parquet(dest)) if dest.is_file() else pd.DataFrame()
    if frame.empty:
        raise InputError(f"MongoDB collection {config.mongo.database}.{config.mongo.collection} returned no rows")
    origin = f"mongo:{config.mongo.database}.{config.mongo.collection}"
    if explicit is not None:
        return _Loaded(frame, explicit, "explicit", origin)
    shipped = _shipped_layout(frame)
    return _Loaded(frame, shipped, NSL_KDD if shipped else "inferred", origin)


def _shipped_layout(frame: pd.DataFrame) -> Schema | None:
    """The shipped NSL-KDD schema when the frame holds exactly its columns (difficulty optional)."""
    from netsec_cli.sources.tabular import NSL_KDD

    shipped = Schema.load(shipped_schema(NSL_KDD))
    required = set(shipped.columns) - set(shipped.ignored)
    return shipped if required <= set(frame.columns) <= set(shipped.columns) else None


def _settle(
    config: Config, loaded: _Loaded, target: str | None, normal_value: str | None, warnings: list[str]
) -> tuple[pd.DataFrame, Schema]:
    """The frame in schema column order and dtypes, and the schema that describes it exactly."""
    from netsec_cli.schema_infer import infer_schema
    from netsec_cli.sources.tabular import conform_to_schema, drop_columns

    frame, schema = loaded.frame, loaded.schema
    if schema is None:
        chosen_target = target or config.data.target
        _require_target(frame, chosen_target, loaded.name)
        ignored = [c for c in config.data.drop_columns if c in frame.columns and c != chosen_target]
        name = Path(loaded.name).stem if loaded.origin == "inferred" else loaded.name
        schema = infer_schema(frame, chosen_target, normal_value or config.data.normal_value, name, ignored)
    else:
        _require_target(frame, target or schema.target, loaded.name)
        schema = _retarget(schema, target) if target else schema
        if normal_value is not None:
            schema = schema.model_copy(update={"normal_value": normal_value})
        frame = conform_to_schema(frame, schema, loaded.name)
        absent = [c for c in schema.columns if c not in frame.columns]
        schema = drop_columns(schema, absent) if absent else schema
    schema = _match_dtypes(schema, frame)
    frame = _drop_unlabelled(frame, schema, warnings)
    schema = schema.model_copy(update={"normal_value": _typed_normal(frame[schema.target], schema.normal_value)})
    _check_classes(frame, schema, loaded.name, warnings)
    return frame.reset_index(drop=True), schema


def _require_target(frame: pd.DataFrame, target: str, origin: str) -> None:
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        shown = ", ".join(columns[:12]) + (f", … ({len(columns)} in all)" if len(columns) > 12 else "")
        likely = [c for c in columns if c.lower() in LIKELY_TARGETS]
        hint = f"pass --target {likely[0]} or set data.target" if likely else "set data.target or pass --target"
        raise InputError(f"target column {target!r} not found in {origin}; available columns: {shown}", hint=hint)


def _retarget(schema: Schema, target: str) -> Schema:
    """Make `target` the schema's target; it stops being a feature, the old target becomes ignored."""
    if target == schema.target:
        return schema
    if target not in schema.columns:
        raise InputError(f"target column {target!r} is not a column of schema {schema.name!r}")
    return Schema(
        **{
            **schema.model_dump(),
            "target": target,
            "numerical": [c for c in schema.numerical if c != target],
            "categorical": [c for c in schema.categorical if c != target],
            "ignored": [c for c in [*schema.ignored, schema.target] if c != target],
        }
    )


def _match_dtypes(schema: Schema, frame: pd.DataFrame) -> Schema:
    """Record the dtypes the frame really has (an int64 column with gaps is stored as float64)."""
    from netsec_cli.schema_infer import column_dtype

    actual = {c: column_dtype(frame[c]) for c in schema.columns}
    if actual == schema.dtypes:
        return schema
    changed = [c for c in schema.columns if actual[c] != schema.dtypes[c]]
    log.warning("columns stored with a different dtype than the schema says: %s", ", ".join(changed))
    return schema.model_copy(update={"dtypes": actual})


def _drop_unlabelled(frame: pd.DataFrame, schema: Schema, warnings: list[str]) -> pd.DataFrame:
    missing = frame[schema.target].isna()
    if not missing.any():
        return frame
    message = f"dropped {int(missing.sum())} rows with no value in target column {schema.target!r}"
    log.warning(message)
    warnings.append(message)
    return frame[~missing]


def _typed_normal(values: pd.Series, normal: str | int | float) -> str | int | float:
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


def _check_classes(frame: pd.DataFrame, schema: Schema, origin: str, warnings: list[str]) -> None:
    normal = schema.is_normal(frame[schema.target])
    if not normal.any():
        seen = ", ".join(sorted({str(v) for v in frame[schema.target].unique()[:8]}))
        raise InputError(
            f"no row of {origin} has target {schema.target!r} equal to the normal value {schema.normal_value!r} "
            f"(values seen: {seen})",
            hint="set data.normal_value or pass --normal-value",
        )
    if normal.all():
        message = f"every row of {origin} is normal; there are no intrusions to learn from"
        log.warning(message)
        warnings.append(message)


def _split(config: Config, frame: pd.DataFrame, schema: Schema, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the train and test splits, stratified on normal vs intrusion when possible."""
    labels = (~schema.is_normal(frame[schema.target])).to_numpy()
    rows, test_size = len(frame), config.split.test_size
    n_test = math.ceil(test_size * rows)
    if not 0 < n_test < rows:
        raise InputError(f"cannot split {rows} row(s) with split.test_size={test_size}: need rows in both train and test")
    if config.split.stratify:
        counts = np.bincount(labels.astype(np.int64), minlength=2)
        if counts.min() >= 2:
            return stratified_split(labels, n_test, config.split.seed)
        message = f"stratified split impossible: only {counts.min()} row(s) of one class; used a plain random split"
        log.warning(message)
        warnings.append(message)
    order = np.random.default_rng(config.split.seed).permutation(rows)
    return order[n_test:], order[:n_test]


def stratified_split(labels: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices with each class's share kept; exactly `n_test` test rows.

    Test rows per class are allotted by largest remainder, at least one row of each class on
    each side; both sides come back shuffled. Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n_test / len(labels)
    take = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    for index in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if take.sum() >= n_test:
            break
        take[index] = min(take[index] + 1, counts[index] - 1)
    train_parts, test_parts = [], []
    for value, k in zip(classes, take):
        members = rng.permutation(np.flatnonzero(labels == value))
        test_parts.append(members[:k])
        train_parts.append(members[k:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def _with_domains(schema: Schema, train: pd.DataFrame) -> Schema:
    """The schema with each categorical feature's domain taken from the training split."""
    from netsec_cli.schema_infer import domain

    return schema.model_copy(update={"categorical_domains": {c: domain(train[c]) for c in schema.categorical}})
