"""What every stage shares: the lifecycle (`run_stage`, `RunOptions`), the skip of an unchanged
stage (`unchanged`) and the S3 mirror of its outputs."""

from netsec_cli.runner.lifecycle import Recorded, RunOptions, StageRun, run_stage, unchanged

__all__ = ["Recorded", "RunOptions", "StageRun", "run_stage", "unchanged"]
