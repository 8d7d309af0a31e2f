"""The stage lifecycle every command shares: the artifacts lock (exit 5, --wait), file modes that
follow the umask, and --sync only where something is published."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.project import Project
from tests.helpers import assert_error, hold_lock


@pytest.fixture
def flows_csv(ready: Project, trained_artifacts: Path) -> Path:
    path = ready.root / "flows.csv"
    pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(50).to_csv(path, index=False)
    return path


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("command", [["train"], ["transform"], ["validate"], ["etl", "-s", "synthetic"], ["run"]])
def test_a_busy_lock_is_exit_5_and_changes_nothing(ready: Project, command: list[str]) -> None:
    before = (ready.artifacts / "train" / "manifest.json").read_bytes()
    holder = hold_lock(ready.artifacts, 30)
    try:
        result = ready.invoke(*command)
    finally:
        holder.kill()
        holder.wait()
    assert_error(
        result,
        5,
        f"Error: another netsec run is using {ready.artifacts} (try again when it has finished, or pass --wait SECONDS)",
    )
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == before
    assert not [p for p in ready.artifacts.iterdir() if p.name.startswith(".staging")]


def test_wait_gives_up_after_the_given_seconds(ready: Project) -> None:
    holder = hold_lock(ready.artifacts, 30)
    try:
        started = time.monotonic()
        result = ready.invoke("validate", "--wait", "0.5")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert_error(
        result,
        5,
        f"Error: another netsec run is using {ready.artifacts} (waited 0.5s) "
        "(try again when it has finished, or pass --wait SECONDS)",
    )
    assert waited >= 0.5


def test_wait_runs_the_stage_once_the_holder_is_done(ready: Project) -> None:
    holder = hold_lock(ready.artifacts, 1.0)
    result = ready.invoke("validate", "--wait", "60")
    holder.wait()
    assert result.exit_code == 0, result.output
    assert (ready.artifacts / "validate" / "report.json").is_file()


def test_negative_wait_is_a_usage_error(ready: Project) -> None:
    result = ready.invoke("train", "--wait", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--wait'" in result.stderr and "greater than or equal to 0" in result.stderr


def test_predict_with_output_elsewhere_runs_while_the_lock_is_held(ready: Project, flows_csv: Path) -> None:
    holder = hold_lock(ready.artifacts, 30)
    try:
        result = ready.invoke("predict", str(flows_csv), "-o", str(ready.root / "out.csv"))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(ready.root / "out.csv")) == 50


def test_predict_sync_with_output_elsewhere_is_refused_before_any_work(ready: Project, flows_csv: Path) -> None:
    out = ready.root / "out.csv"
    result = ready.invoke("predict", str(flows_csv), "-o", str(out), "--sync")
    assert_error(
        result,
        2,
        f"Error: --sync mirrors artifacts/predict, but --output writes the predictions to {out} "
        "(drop --output to publish artifacts/predict/predictions.csv, or drop --sync)",
    )
    assert not out.exists()
    assert not (ready.artifacts / "predict").exists()


def test_predictions_and_artifacts_follow_the_umask(ready: Project, flows_csv: Path, umask_027: None) -> None:
    out = ready.root / "out.csv"
    assert ready.invoke("predict", str(flows_csv), "-o", str(out)).exit_code == 0
    assert ready.invoke("predict", str(flows_csv)).exit_code == 0
    assert ready.invoke("validate").exit_code == 0
    assert _mode(out) == 0o640
    assert _mode(ready.artifacts / "predict") == 0o750
    assert _mode(ready.artifacts / "predict" / "predictions.csv") == 0o640
    assert _mode(ready.artifacts / "validate" / "report.json") == 0o640


def test_a_failed_stage_keeps_the_published_folder_and_leaves_no_staging(ready: Project) -> None:
    before = (ready.artifacts / "train" / "manifest.json").read_bytes()
    ready.update_config(**{"model.hyperparameters": {"tree_method": "deep"}})  # fails inside the stage
    result = ready.invoke("train")
    assert result.exit_code == 2
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == before
    assert not [p for p in ready.artifacts.iterdir() if p.name.startswith(".staging")]


def test_every_stage_logs_start_and_end_with_duration(ready: Project) -> None:
    assert ready.invoke("validate").exit_code == 0
    log = (ready.root / "logs" / "system.log").read_text()
    assert "validate: start" in log
    assert "validate: done in " in log and "passed=True" in log
