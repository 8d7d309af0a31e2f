"""What every stage shares: the lifecycle (`run_stage`, `RunOptions`) and the S3 mirror of its outputs."""

from netsec_cli.runner.lifecycle import RunOptions, StageRun, run_stage

__all__ = ["RunOptions", "StageRun", "run_stage"]
