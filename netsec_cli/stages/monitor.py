"""`netsec monitor`: the drift and retraining agents, as one command for cron.

1. Ingest: the new data (any source etl accepts) goes through etl, conformed to the champion's
   schema, into a workspace (`artifacts/.monitor/new`, hidden: never published or mirrored); its
   test split (`split.test_size`, seeded) is the held-out slice both models are judged on.
2. Drift: every row of the new data against the champion's drift reference (stored with each
   model version, `stages.drift_reference`), with validate's tests. The data set drifted when the
   drifted share of columns reaches `agents.retraining_agent.trigger_drift_threshold`.
3. Retrain (`retrain`: auto = on drift, always, never): a challenger is trained by etl, transform
   and train in `artifacts/.monitor/challenger` on the reference data (artifacts/etl's training
   split) plus the new data's training split, and registered as `@challenger`.
4. Decide: champion and challenger score the held-out slice (`stages.evaluate`, each at its own
   threshold); the challenger is promoted only if it beats the champion by at least
   `min_improvement` on `metric` and its false-alarm rate is at most `max_false_alarm_increase`
   higher. After a promotion artifacts/etl, transform and train hold the challenger's data and
   model, so the next monitor retrains on them.
artifacts/monitor holds report.json (the decision, the drift per column, both models' figures)
and report.html (the drift report). The decision is the exit code (`MonitorResult.exit_code`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from netsec_cli.artifacts import (
    EtlFiles,
    ModelFiles,
    MonitorFiles,
    TrainFiles,
    open_model,
    open_stage,
    stage_dir,
    swap_in,
    write_json_atomic,
)
from netsec_cli.compute import open_engine
from netsec_cli.runner import RunOptions, run_stage
from netsec_cli.stages.drift_reference import (
    drift_against,
    drift_row,
    load_reference,
    scan_split,
)
from netsec_cli.stages.etl import run_etl
from netsec_cli.stages.evaluate import run_evaluate
from netsec_cli.stages.registry import promote, register
from netsec_cli.stages.train import run_train
from netsec_cli.stages.transform import run_transform

if TYPE_CHECKING:
    from netsec_cli.config import Config
    from netsec_cli.split_stats import SplitStats
    from netsec_cli.stages.drift_reference import Reference

log = logging.getLogger("netsec_cli.stages.monitor")

Retrain = Literal["never", "auto", "always"]
EXIT_NO_DRIFT, EXIT_PROMOTED, EXIT_REJECTED, EXIT_DRIFT_NOT_RETRAINED = 0, 10, 11, 3
WORKSPACE = ".monitor"


@dataclass
class ModelFigures:
    """One model's figures on the held-out slice of the new data."""

    version: str
    threshold: float
    metrics: dict[str, Any]


@dataclass
class MonitorResult:
    """What `netsec monitor` found and decided."""

    source: str
    rows: int
    drift_share: float
    trigger: float
    drifted: bool
    drifted_columns: list[str]
    retrain: str
    decision: str  # no_drift | promoted | rejected | drift_not_retrained | retrained_no_drift_*
    exit_code: int
    champion: ModelFigures | None = None
    challenger: ModelFigures | None = None
    reason: str = ""
    report: Path | None = None
    page: Path | None = None
    drift: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


def run_monitor(config: Config, *, source: str | None = None, retrain: Retrain = "auto", options: RunOptions = RunOptions()) -> MonitorResult:
    """Ingest `source`, test it for drift against the champion, retrain and promote as configured."""
    agent = config.agents.retraining_agent
    quiet = RunOptions(progress=options.progress, force=True, lock_wait=options.lock_wait)
    with run_stage(config, "monitor", options, source=source or config.data.source, retrain=retrain) as run:
        champion = open_model(config.artifacts_dir, "monitor")
        reference = load_reference(champion.train)
        workspace = config.artifacts_dir / WORKSPACE
        shutil.rmtree(workspace, ignore_errors=True)
        new = _workspace_config(config, workspace / "new")
        ingested = run_etl(new, source=source, schema_path=champion.train.schema, options=quiet)
        new_etl = open_stage(new.artifacts_dir, "etl", "monitor")
        with open_engine(config) as engine:
            current = scan_split(config, champion.load_schema(), new_etl.raw, config.agents.drift_detection_agent.reference_rows, (config.split.seed, 1), engine)
        results = drift_against(config, reference, current)
        drifted_columns = [r.column for r in results if r.drifted]
        share = len(drifted_columns) / len(results) if results else 0.0
        drifted = share >= agent.trigger_drift_threshold
        log.info("monitor: drifted share %.3f against trigger %.3f (%d of %d columns)", share, agent.trigger_drift_threshold, len(drifted_columns), len(results))
        result = MonitorResult(
            source=ingested.source, rows=ingested.rows, drift_share=round(share, 6), trigger=agent.trigger_drift_threshold,
            drifted=drifted, drifted_columns=drifted_columns, retrain=retrain, decision="no_drift", exit_code=EXIT_NO_DRIFT,
            drift=[drift_row(config, r) for r in results],
        )  # fmt: skip
        if retrain == "always" or (drifted and retrain == "auto"):
            _challenge(config, result, champion, workspace, new_etl, quiet)
        elif drifted:
            result.decision, result.exit_code = "drift_not_retrained", EXIT_DRIFT_NOT_RETRAINED
            result.reason = "the data drifted; --retrain never"
        _write_reports(config, run.folder, result, reference, current)
        shutil.rmtree(workspace, ignore_errors=True)
        log.info("monitor: decision %s (exit %d)%s", result.decision, result.exit_code, f": {result.reason}" if result.reason else "")
        run.summary.update(decision=result.decision, drift_share=result.drift_share)
    result.duration = run.elapsed()
    return result


def _workspace_config(config: Config, folder: Path) -> Config:
    """`config` with its artifacts in `folder` (a local workspace, whatever the real root is)."""
    work = config.model_copy(deep=True)
    work.paths.artifacts = str(folder)
    return work


def _challenge(config: Config, result: MonitorResult, champion: ModelFiles, workspace: Path, new: EtlFiles, options: RunOptions) -> None:
    """Train, register and judge (on `new`'s test split) a challenger; promote it when it wins."""
    agent = config.agents.retraining_agent
    combined = workspace / "combined.parquet"
    reference_data = open_stage(config.artifacts_dir, "etl", "monitor").train
    _concatenate([reference_data, new.train], combined)
    work = _workspace_config(config, workspace / "challenger")
    run_etl(work, source=str(combined), schema_path=champion.train.schema, options=options)
    run_transform(work, options=options)
    run_train(work, register=False, options=options)
    challenger_etl = open_stage(work.artifacts_dir, "etl", "monitor")
    data = challenger_etl.manifest().entry(challenger_etl.train.name)
    registered = register(config, TrainFiles(stage_dir(work.artifacts_dir, "train")), source="monitor", promote=False,
                          data_sha256=data.sha256 if data else None, options=options)  # fmt: skip
    result.champion = _figures(config, champion.version or "", new.test, options)
    result.challenger = _figures(config, registered.version, new.test, options)
    gain = _metric(result.challenger, agent.metric) - _metric(result.champion, agent.metric)
    alarms = _metric(result.challenger, "false_alarm_rate") - _metric(result.champion, "false_alarm_rate")
    wins = gain >= agent.min_improvement and alarms <= agent.max_false_alarm_increase
    result.reason = (
        f"challenger {agent.metric} {gain:+.4f} (needs ≥ {agent.min_improvement:+.4f}), "
        f"false-alarm rate {alarms:+.4f} (allowed ≤ {agent.max_false_alarm_increase:+.4f})"
    )
    if wins:
        promote(config, registered.version, options)
        _adopt(config, work, options)
    result.decision = "promoted" if wins else "rejected"
    result.exit_code = EXIT_PROMOTED if wins else EXIT_REJECTED


def _adopt(config: Config, work: Config, options: RunOptions) -> None:
    """The challenger's etl, transform and train folders become the published ones (and the S3 root's)."""
    stages = ("etl", "transform", "train")
    for stage in stages:
        swap_in(stage_dir(work.artifacts_dir, stage), config.artifacts_dir, stage)
    location = config.artifacts_remote
    if location is not None:
        from netsec_cli.runner.remote_root import open_root, push_published

        mirror = open_root(config, location)
        for stage in stages:
            push_published(config, mirror, stage, options.progress)


def _concatenate(parts: list[Path], target: Path) -> None:
    """Append Parquet files with one schema (the first file's) into `target`, row group by row group."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            reader = pq.ParquetFile(part)
            for group in range(reader.num_row_groups):
                writer.write_table(reader.read_row_group(group, columns=schema.names).cast(schema))


def _figures(config: Config, version: str, held_out: Path, options: RunOptions) -> ModelFigures:
    scored = run_evaluate(config, held_out, model_version=version, options=options)
    return ModelFigures(version, scored.threshold, {k: v for k, v in scored.metrics.items() if k != "confusion_matrix"})


def _metric(figures: ModelFigures | None, name: str) -> float:
    value = figures.metrics.get(name) if figures is not None else None
    return float(value) if value is not None else 0.0


def _write_reports(config: Config, folder: Path, result: MonitorResult, reference: Reference, current: SplitStats) -> None:
    from netsec_cli.report import (
        DriftPage,
        categorical_histogram,
        numeric_histogram,
        write_drift_page,
    )

    published, files = MonitorFiles(stage_dir(config.artifacts_dir, "monitor")), MonitorFiles(folder)
    result.report, result.page = published.report, published.page
    write_json_atomic(files.report, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **asdict(result)})
    histograms = []
    for column in result.drifted_columns:
        if column in reference.sample and column in current.sample:
            histograms.append(numeric_histogram(column, reference.sample[column], current.sample[column]))
        elif column in reference.counts and column in current.counts:
            histograms.append(categorical_histogram(column, reference.counts[column], current.string_counts(column)))
    decision = {"no_drift": "no drift: nothing retrained"}.get(result.decision, f"{result.decision.replace('_', ' ')}: {result.reason}")
    facts = [("reference", "the champion's training data (its drift reference)"), ("current", f"{result.source} ({result.rows} rows)")]
    page = DriftPage("netsec monitor: drift against the champion", facts, result.drift_share, result.trigger, decision, result.drift, histograms)
    write_drift_page(files.page, page)
