"""`netsec train` on the Dask engine: XGBoost fitted on a real LocalCluster (two worker processes),
saved as the local model is, predicting as the local engine's model does; a worker that leaves
mid-training is exit 4."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from netsec_cli.models import load_detector
from tests.fixtures.project import Project
from tests.helpers import assert_error

pytestmark = pytest.mark.slow


def _cluster() -> Any:
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)


@pytest.fixture
def cluster() -> Iterator[Any]:
    """A LocalCluster of two single-thread worker processes on loopback."""
    started = _cluster()
    try:
        yield started
    finally:
        started.close()


def _prepare(project: Project) -> None:
    # 10,000 flows (2,000 test rows): a handful of rows near the threshold is not 0.5% of them
    project.update_config(**{"tracking.enabled": False, "data.synthetic_rows": 10_000})
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    assert project.invoke("transform").exit_code == 0


def _trained(project: Project) -> tuple[dict[str, Any], dict[str, Any], np.ndarray]:
    """Train; return the result, model_info.json and the saved model's probabilities on X_test (local loader)."""
    result = project.invoke("train", "--json", "--force")  # the engine alone would be skipped
    assert result.exit_code == 0, result.output
    folder = project.artifacts / "train"
    info = json.loads((folder / "model_info.json").read_text())
    assert (folder / "model.ubj").read_bytes()[:1] == b"{"  # UBJSON, as a local model
    detector = load_detector("xgboost", folder / "model.ubj", info["feature_types"])
    return json.loads(result.stdout), info, detector.predict_proba(np.load(project.artifacts / "transform" / "X_test.npy"))


def test_a_dask_trained_model_predicts_locally_as_the_local_engines_does(project: Project, cluster: Any) -> None:
    _prepare(project)
    local, local_info, local_probability = _trained(project)
    assert local_info["engine"] == "local"

    address = cluster.scheduler_address
    project.update_config(**{"compute.engine": "dask", "compute.scheduler_address": address, "predict.chunk_size": 500})
    dask, info, probability = _trained(project)
    assert info["engine"] == "dask" and dask["engine"] == "dask" and info["external_memory"] is False
    assert (dask["train_rows"], dask["validation_rows"]) == (local["train_rows"], local["validation_rows"])
    threshold = dask["threshold"]["threshold"]
    assert threshold == local["threshold"]["threshold"]  # the out-of-fold threshold runs here, on the same rows
    agreement = float(np.mean((probability >= threshold) == (local_probability >= threshold)))
    assert agreement >= 0.995, f"{agreement:.4%} of {len(probability)} test rows agree"
    assert dask["metrics"]["accuracy"] > 0.9
    flows = project.root / "flows.csv"
    import pandas as pd

    pd.read_parquet(project.artifacts / "etl" / "test.parquet").head(50).to_csv(flows, index=False)
    assert project.invoke("predict", str(flows), "-o", str(project.root / "out.csv")).exit_code == 0
    assert len(pd.read_csv(project.root / "out.csv")) == 50


def _kill_a_worker_once_training_runs(cluster: Any, client: Any) -> None:
    """Wait for xgboost.dask's training tasks to run on the workers, then SIGKILL one worker process."""

    def running() -> bool:
        states = client.run_on_scheduler(lambda dask_scheduler: {str(k): t.state for k, t in dask_scheduler.tasks.items()})
        return any(key.startswith("fn-") and state == "processing" for key, state in states.items())

    deadline = time.monotonic() + 120
    while not running() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(next(iter(cluster.workers.values())).process.pid, signal.SIGKILL)


def test_a_worker_leaving_mid_training_is_exit_4_naming_the_scheduler(project: Project, cluster: Any) -> None:
    from distributed import Client

    _prepare(project)
    project.update_config(
        **{
            "compute.engine": "dask",
            "compute.scheduler_address": cluster.scheduler_address,
            "predict.threshold": 0.5,  # no out-of-fold fits: the endless training below is the final fit
            "model.hyperparameters.n_estimators": 1_000_000,
            "model.hyperparameters.learning_rate": 0.0001,
            "model.early_stopping_rounds": 1_000_000,
        }
    )
    with Client(cluster.scheduler_address, set_as_default=False) as watcher:
        killer = threading.Thread(target=_kill_a_worker_once_training_runs, args=(cluster, watcher), daemon=True)
        killer.start()
        started = time.monotonic()
        result = project.invoke("train")
        killer.join(timeout=5)
    assert time.monotonic() - started < 120
    address = re.escape(cluster.scheduler_address)
    line = rf"Error: Dask worker tcp://127\.0\.0\.1:\d+ left the cluster at {address} while the stage ran"
    assert_error(result, 4, re.compile(line))
    assert not (project.artifacts / "train").exists()
