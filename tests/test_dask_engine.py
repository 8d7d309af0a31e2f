"""The Dask engine against a real scheduler and worker processes on loopback (tests/fixtures/dask.py).

The whole pipeline on Dask gives predictions that agree with the local engine's; a model trained
on Dask predicts locally; an unreachable scheduler, a malformed address and a worker killed in
mid-stage each end in one `Error:` line and their exit code, the published artifacts intact.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.dask import DaskCluster, free_port
from tests.fixtures.project import Project, small_config
from tests.fixtures.s3 import S3
from tests.helpers import assert_error

pytestmark = pytest.mark.slow


def _labels(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [row["label"] for row in csv.DictReader(handle)]


def _pipeline_project(root: Path, tracking_db: Path, **overrides: object) -> Project:
    from typer.testing import CliRunner

    root.mkdir()
    project = Project(root=root, runner=CliRunner())
    settings = {"data.synthetic_rows": 8000, "tracking.enabled": False, "predict.chunk_size": 1000, **overrides}
    project.write_config(small_config(root, tracking_db, **settings))
    return project


def test_pipeline_on_dask_with_an_s3_root_agrees_with_local(
    tmp_path: Path, tracking_db: Path, dask_cluster: DaskCluster, s3: S3
) -> None:
    s3.create_bucket()
    local = _pipeline_project(tmp_path / "local", tracking_db)
    remote = _pipeline_project(
        tmp_path / "dask",
        tracking_db,
        **{
            "compute.engine": "dask",
            "compute.scheduler_address": dask_cluster.address,
            "paths.artifacts": f"s3://{s3.bucket}/cluster",
            "aws.endpoint_url": s3.endpoint,
        },
    )
    assert local.invoke("run").exit_code == 0
    ran = remote.invoke("run", "--json")
    assert ran.exit_code == 0, ran.stderr
    stored = s3.objects("cluster/")
    for stage in ("etl", "validate", "transform", "train"):
        assert f"cluster/{stage}/manifest.json" in stored
    assert "cluster/train/model.ubj" in stored
    shutil.rmtree(remote.root / ".netsec-cache")  # predict pulls the Dask-trained model back from S3
    flows = tmp_path / "flows.parquet"
    shutil.copy(local.artifacts / "etl" / "test.parquet", flows)

    assert local.invoke("predict", str(flows), "--output", str(tmp_path / "local.csv")).exit_code == 0
    on_dask = remote.invoke("predict", str(flows), "--output", str(tmp_path / "dask.csv"))
    assert on_dask.exit_code == 0, on_dask.stderr
    here = remote.invoke("predict", str(flows), "--output", str(tmp_path / "dask-model-here.csv"), "--engine", "local")
    assert here.exit_code == 0, here.stderr

    on_cluster = remote.invoke("evaluate", str(flows), "--json")
    assert on_cluster.exit_code == 0, on_cluster.stderr
    assert json.loads(on_cluster.stdout)["metrics"] == json.loads(remote.invoke("evaluate", str(flows), "--json", "--engine", "local").stdout)["metrics"]

    local_labels, dask_labels = _labels(tmp_path / "local.csv"), _labels(tmp_path / "dask.csv")
    assert len(local_labels) == len(dask_labels) == 1600
    agree = sum(a == b for a, b in zip(local_labels, dask_labels)) / len(local_labels)
    assert agree >= 0.995, agree
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "dask-model-here.csv").read_bytes()


def test_unreachable_scheduler_is_exit_4_after_the_timeout(project: Project) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    project.update_config(**{"compute.scheduler_address": address, "compute.connect_timeout": 1.5})
    assert project.invoke("etl").exit_code == 0
    started = time.monotonic()
    result = project.invoke("validate", "--engine", "dask")
    elapsed = time.monotonic() - started
    assert_error(
        result,
        4,
        f"Error: cannot reach the Dask scheduler at {address} within 1.5 s (Timed out trying to connect to "
        f"{address} after 1.5 s) (start the scheduler, fix compute.scheduler_address, or set it to null for "
        "a local cluster)",
    )
    assert 1.5 <= elapsed < 30


def test_scheduler_address_without_a_scheme_is_exit_2(project: Project) -> None:
    project.update_config(**{"compute.engine": "dask", "compute.scheduler_address": "127.0.0.1:8786"})
    assert project.invoke("etl", "--engine", "local").exit_code == 0
    result = project.invoke("validate")
    assert_error(
        result,
        2,
        "Error: compute.scheduler_address '127.0.0.1:8786' is not a scheduler address "
        "(use tcp://host:8786, or null to start a local cluster)",
    )


def test_worker_killed_mid_stage_is_exit_4_and_keeps_the_published_stage(
    project: Project, dask_cluster: DaskCluster
) -> None:
    project.update_config(**{"data.synthetic_rows": 20000, "tracking.enabled": False})
    assert project.invoke("run").exit_code == 0
    transform = project.artifacts / "transform"
    before = {p.name: p.read_bytes() for p in transform.iterdir()}
    project.update_config(**{"compute.scheduler_address": dask_cluster.address, "predict.chunk_size": 1000})
    command = [sys.executable, "-m", "netsec_cli", "--config", str(project.config_path), "transform", "--engine", "dask", "--force"]
    stage = subprocess.Popen(command, cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert stage.stderr is not None
    seen = []
    for line in stage.stderr:
        seen.append(line)
        if "dask engine:" in line:
            dask_cluster.kill_worker()
            break
    out, rest = stage.communicate(timeout=120)
    stderr = "".join(seen) + rest
    result = subprocess.CompletedProcess(command, stage.returncode, out, stderr)
    assert_error(
        result,
        4,
        re.compile(rf"Error: Dask worker tcp://127\.0\.0\.1:\d+ left the cluster at {re.escape(dask_cluster.address)} while the stage ran"),
    )
    assert {p.name: p.read_bytes() for p in transform.iterdir()} == before
    assert not [p.name for p in project.artifacts.iterdir() if p.name.startswith(".staging-")]
