"""`netsec run`: etl → validate → transform → train, stopping at the first failure.

The pipeline lock is held for the whole run (each stage takes it again, re-entrantly), so a
second `netsec run` or stage command cannot interleave with it. A failed validation raises
ValidationFailed (exit 3) after the report is written, and nothing after it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netsec_cli.artifacts import pipeline_lock
from netsec_cli.logging_setup import stage_log
from netsec_cli.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from netsec_cli.config import Config
    from netsec_cli.stages.etl import EtlResult
    from netsec_cli.stages.train import TrainResult
    from netsec_cli.stages.transform import TransformResult
    from netsec_cli.stages.validate import ValidateResult

STAGES = ("etl", "validate", "transform", "train")


@dataclass
class RunResult:
    """The result of every stage of one pipeline run."""

    etl: EtlResult
    validate: ValidateResult
    transform: TransformResult
    train: TrainResult
    duration: float


def run_pipeline(
    config: Config,
    *,
    source: str | None = None,
    target: str | None = None,
    normal_value: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> RunResult:
    """Run etl, validate, transform and train in order under one pipeline lock.

    `source`, `target` and `normal_value` override `data.*` for the etl stage, as on `netsec etl`.
    """
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform
    from netsec_cli.stages.validate import run_validate, validation_error

    started = time.perf_counter()
    with pipeline_lock(config.artifacts_dir), stage_log("run", source=source or config.data.source) as log:
        etl = run_etl(config, source=source, target=target, normal_value=normal_value, progress=progress)
        checked = run_validate(config, progress=progress)
        if not checked.passed:
            error = validation_error(checked)
            error.message += "; later stages were not run"
            raise error
        transformed = run_transform(config, progress=progress)
        trained = run_train(config, progress=progress)
        log.update(rows=etl.rows, accuracy=trained.metrics["accuracy"], run_id=trained.run_id)
    return RunResult(
        etl=etl, validate=checked, transform=transformed, train=trained, duration=round(time.perf_counter() - started, 3)
    )
