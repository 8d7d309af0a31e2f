"""`netsec run`: etl → validate → transform → train, stopping at the first failure.

The one module that composes stages. The artifacts lock is held for the whole run (each stage
takes it again, re-entrantly), so a second `netsec run` or stage command cannot interleave with
it; with `options.sync` each stage mirrors its folder as soon as it is published. A failed validation raises
ValidationFailed (exit 3) after the report is written, and nothing after it runs. A stage whose
inputs did not change is skipped (`runner.unchanged`; `options.force` runs every stage) and gives
its published result: a skipped validation that failed stops the run the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netsec_cli.compute import open_engine
from netsec_cli.runner import RunOptions, run_stage

if TYPE_CHECKING:
    from netsec_cli.config import Config
    from netsec_cli.stages.etl import EtlResult
    from netsec_cli.stages.train import TrainResult
    from netsec_cli.stages.transform import TransformResult
    from netsec_cli.stages.validate import ValidateResult

@dataclass
class RunResult:
    """The result of every stage of one pipeline run."""

    etl: EtlResult
    validate: ValidateResult
    transform: TransformResult
    train: TrainResult
    duration: float
    stages: dict[str, str] = field(default_factory=dict)  # each stage: "ran", or "skipped" (unchanged)


def run_pipeline(
    config: Config,
    *,
    source: str | None = None,
    target: str | None = None,
    normal_value: str | None = None,
    options: RunOptions = RunOptions(),
) -> RunResult:
    """Run etl, validate, transform and train in order under one pipeline lock.

    `source`, `target` and `normal_value` override `data.*` for the etl stage, as on `netsec etl`.
    """
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform
    from netsec_cli.stages.validate import run_validate, validation_error

    run_scope = run_stage(config, "run", options, publishes=False, locks=True, source=source or config.data.source)
    with run_scope as run, open_engine(config):  # one engine (one Dask cluster) for every stage
        etl = run_etl(config, source=source, target=target, normal_value=normal_value, options=options)
        checked = run_validate(config, options=options)
        if not checked.passed:
            error = validation_error(checked)
            error.message += "; later stages were not run"
            raise error
        transformed = run_transform(config, options=options)
        trained = run_train(config, options=options)
        results = {"etl": etl, "validate": checked, "transform": transformed, "train": trained}
        stages = {name: "skipped" if result.skipped else "ran" for name, result in results.items()}
        skipped = [name for name, status in stages.items() if status == "skipped"]
        run.summary.update(rows=etl.rows, accuracy=trained.metrics["accuracy"], run_id=trained.run_id, skipped=",".join(skipped) or "none")
    return RunResult(etl=etl, validate=checked, transform=transformed, train=trained, duration=run.elapsed(), stages=stages)
