"""`netsec etl`: read the source rows, settle the schema, split train/test, write artifacts/etl/.

Outputs (published atomically with a manifest): `raw.parquet` (every row, schema columns and
dtypes), `train.parquet` and `test.parquet` (a split stratified on normal vs intrusion, rows in
source order within each) and `schema.yaml` whose categorical domains come from the training split.
The rows stream through in chunks of `predict.chunk_size` (`etl_source` opens the source,
`etl_chunks` conforms and writes each chunk, `etl_split` splits): memory holds a chunk and one
byte a row, whatever the row count. A schema that is neither given nor shipped is inferred from
the first INFER_ROWS rows, the same for every chunk size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsec_cli.artifacts import EtlFiles, write_text_atomic
from netsec_cli.compute import open_engine
from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.runner import RunOptions, run_stage, unchanged
from netsec_cli.schema import Schema
from netsec_cli.stages.etl_chunks import ChunkPlan, Streamed, stream_rows, typed_normal
from netsec_cli.stages.etl_source import EtlSource, open_source, source_fingerprint
from netsec_cli.stages.etl_split import split_membership, write_splits

log = logging.getLogger("netsec_cli.stages.etl")

LIKELY_TARGETS = {"label", "labels", "class", "result", "target", "attack", "attack_type", "y"}
INFER_ROWS = 100_000


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
    skipped: bool = False  # unchanged inputs: the published folder's recorded result (`runner.unchanged`)


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
    Rows are read in chunks of config.predict.chunk_size: memory depends on it, not on the row count.
    Skipped, returning the published result, when nothing it reads changed (`runner.unchanged`).
    """
    chosen = source or config.data.source
    explicit = _explicit_schema(config, schema_path)
    origin = source_fingerprint(config, chosen, from_config=source is None)
    inputs = {"source": origin, "schema": explicit, "target": target, "normal_value": normal_value}
    recorded = unchanged(config, "etl", options, inputs)
    if recorded is not None:
        return _result(recorded.result, recorded.folder, recorded.seconds, skipped=True)
    chunk_size = config.predict.chunk_size
    warnings: list[str] = []
    stage = run_stage(config, "etl", options, fingerprint=inputs, source=chosen)
    with stage as run, options.progress.task("etl", total=4) as task:
        files = EtlFiles(run.folder)
        with (
            open_source(config, chosen, explicit, from_config=source is None, scratch=run.folder, progress=options.progress) as opened,
            open_engine(config) as engine,
        ):
            task.advance()
            plan = _plan(config, opened, target, normal_value)
            streamed = stream_rows(opened.chunks(plan.schema.columns, chunk_size), plan, run.folder, engine, options.progress)
        schema = _settled(plan, streamed, warnings)
        task.advance()
        is_test = split_membership(streamed.intrusion, config.split, warnings)
        task.advance()
        domains = write_splits(streamed.segments, is_test, schema, files, chunk_size)
        schema = schema.model_copy(update={"categorical_domains": domains})
        write_text_atomic(files.schema, schema.to_yaml())
        task.advance()
        rows, test_rows, intrusions = len(is_test), int(is_test.sum()), int(streamed.intrusion.sum())
        run.summary.update(rows=rows, train=rows - test_rows, test=test_rows, intrusions=intrusions)
        facts: dict[str, Any] = {
            "source": chosen if chosen in ("synthetic", "mongo") else opened.name,
            "rows": rows,
            "train_rows": rows - test_rows,
            "test_rows": test_rows,
            "intrusion_share": round(intrusions / rows, 6),
            "columns": len(schema.columns),
            "target": schema.target,
            "schema_origin": opened.origin,
            "warnings": warnings,
        }
        run.record = facts
    return _result(facts, run.published or files.folder, run.elapsed())


def _result(facts: dict[str, Any], folder: Path, seconds: float, *, skipped: bool = False) -> EtlResult:
    """The result from what the stage recorded (`run.record`, or fingerprint.json when skipped)."""
    return EtlResult(**facts, outputs=EtlFiles(folder).outputs(), duration_s=seconds, skipped=skipped)


def _explicit_schema(config: Config, schema_path: Path | None) -> Schema | None:
    if schema_path is not None:
        return Schema.load(Path(schema_path).expanduser().resolve())
    if config.data.schema_file:
        return Schema.load(config.resolve(config.data.schema_file))
    return None


def _plan(config: Config, source: EtlSource, target: str | None, normal_value: str | None) -> ChunkPlan:
    """The schema every chunk is conformed to: the source's (retargeted, its absent ignored columns
    left out), else inferred from the first INFER_ROWS rows."""
    from netsec_cli.schema_infer import infer_schema
    from netsec_cli.sources.tabular import drop_columns
    from netsec_cli.sources.tabular.layout import missing_columns, unknown_columns

    schema = source.schema
    if schema is None:
        assert source.head is not None
        chosen_target = target or config.data.target
        _require_target(source.columns, chosen_target, source.name)
        ignored = [c for c in config.data.drop_columns if c in source.columns and c != chosen_target]
        name = Path(source.name).stem if source.origin == "inferred" and not source.name.startswith("mongo:") else source.name
        head = source.head(INFER_ROWS)
        schema = infer_schema(head, chosen_target, normal_value or config.data.normal_value, name, ignored)
        return ChunkPlan(schema, dict(schema.dtypes), source.name, inferred_rows=INFER_ROWS)
    _require_target(source.columns, target or schema.target, source.name)
    schema = _retarget(schema, target) if target else schema
    if normal_value is not None:
        schema = schema.model_copy(update={"normal_value": normal_value})
    error = unknown_columns(source.name, schema, source.columns)
    if error is not None:
        raise error
    missing = [c for c in schema.columns if c not in source.columns and c not in schema.ignored]
    if missing:
        raise missing_columns(source.name, schema, missing)
    absent = [c for c in schema.columns if c not in source.columns]
    schema = drop_columns(schema, absent) if absent else schema
    return ChunkPlan(schema, dict(schema.dtypes), source.name)


def _settled(plan: ChunkPlan, streamed: Streamed, warnings: list[str]) -> Schema:
    """The schema of the rows as stored: dtypes as streamed, the normal value in the target's type;
    warnings for dropped unlabelled rows and a missing intrusion class, an error for a missing normal one."""
    import pandas as pd

    schema = plan.schema
    if streamed.dtypes != schema.dtypes:
        changed = [c for c in schema.columns if streamed.dtypes[c] != schema.dtypes[c]]
        if plan.inferred_rows is None:
            log.warning("columns stored with a different dtype than the schema says: %s", ", ".join(changed))
        schema = schema.model_copy(update={"dtypes": dict(streamed.dtypes)})
    if streamed.dropped:
        message = f"dropped {streamed.dropped} rows with no value in target column {schema.target!r}"
        log.warning(message)
        warnings.append(message)
    target = pd.Series([], dtype=schema.dtypes[schema.target])
    schema = schema.model_copy(update={"normal_value": typed_normal(target, schema.normal_value)})
    _check_classes(streamed, schema, plan.origin, warnings)
    return schema


def _require_target(columns: list[str], target: str, origin: str) -> None:
    if target not in columns:
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


def _check_classes(streamed: Streamed, schema: Schema, origin: str, warnings: list[str]) -> None:
    intrusions = int(streamed.intrusion.sum())
    if intrusions == len(streamed.intrusion):
        seen = ", ".join(sorted(streamed.targets))
        raise InputError(
            f"no row of {origin} has target {schema.target!r} equal to the normal value {schema.normal_value!r} "
            f"(values seen: {seen})",
            hint="set data.normal_value or pass --normal-value",
        )
    if intrusions == 0:
        message = f"every row of {origin} is normal; there are no intrusions to learn from"
        log.warning(message)
        warnings.append(message)
