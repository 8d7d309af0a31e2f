"""`netsec serve` and training: /train jobs under the artifacts lock, hot reload, the token's sources, workers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.fixtures.age import FakeAws
from tests.fixtures.project import Project
from tests.fixtures.serve import TOKEN, Server, start_server, wait_for
from tests.fixtures.trained import install
from tests.helpers import hold_lock


@pytest.fixture(scope="module")
def records(trained_artifacts: Path) -> list[dict]:
    frame = pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(100).drop(columns=["label"])
    return json.loads(frame.to_json(orient="records"))


@pytest.fixture
def quick(ready: Project) -> Project:
    """The trained project with tracking off, so a retrain takes seconds."""
    ready.update_config(**{"tracking.enabled": False, "model.hyperparameters.n_estimators": 25})
    return ready


def _probabilities(server: Server, records: list[dict]) -> np.ndarray:
    answer = server.client.post("/predict", json={"records": records}, headers=server.auth)
    assert answer.status_code == 200, answer.text
    return np.array([row["probability"] for row in answer.json()["predictions"]])


def test_train_job_retrains_and_the_server_serves_the_new_model(quick: Project, records: list[dict]) -> None:
    server = start_server(quick)
    try:
        before = server.client.get("/version").json()
        old = _probabilities(server, records)
        assert server.client.get("/train", headers=server.auth).json() == {"latest": None, "jobs": []}
        started = server.client.post("/train", headers=server.auth)
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] == "running" and job["links"] == {"self": f"/jobs/{job['id']}"} and job["ended_at"] is None
        again = server.client.post("/train", headers=server.auth)
        assert again.status_code == 409
        assert again.json()["detail"] in (
            "a training job of this server is still running (follow it at GET /train)",
            f"another netsec run is using {quick.artifacts} (try again when it has finished, or pass --wait SECONDS)",
        )
        def finished() -> dict | None:
            found = server.client.get(f"/jobs/{job['id']}", headers=server.auth).json()
            return found if found["status"] != "running" else None

        done = wait_for(finished)
        assert done["status"] == "succeeded", done
        assert done["ended_at"] >= done["started_at"] and done["outcome"]["rows"] > 0 and 0.5 < done["outcome"]["accuracy"] <= 1
        status = server.client.get("/train", headers=server.auth).json()
        assert status["latest"]["id"] == job["id"] and [j["id"] for j in status["jobs"]] == [job["id"]]
        after = server.client.get("/version").json()
        assert after["model_sha256"] != before["model_sha256"] and after["trained_at"] >= before["trained_at"]
        assert not np.allclose(_probabilities(server, records), old)
        assert "netsec_train_jobs_total{status=\"succeeded\"} 1.0" in server.client.get("/metrics").text
        assert len(list((quick.artifacts / ".jobs").glob("*.json"))) == 1  # GET /train and /jobs started nothing
        assert done["outcome"]["stages"] == {"etl": "skipped", "validate": "ran", "transform": "skipped", "train": "ran"}
        job = server.client.post("/train", headers=server.auth).json()  # nothing changed since: every stage skipped
        unchanged = wait_for(finished)
        assert unchanged["status"] == "succeeded" and unchanged["outcome"]["stages"] == dict.fromkeys(("etl", "validate", "transform", "train"), "skipped")
        assert unchanged["outcome"]["accuracy"] == done["outcome"]["accuracy"]
    finally:
        server.stop()


def test_train_is_409_while_a_cli_run_holds_the_lock(serve: Server, ready: Project) -> None:
    holder = hold_lock(ready.artifacts, 60)
    try:
        answer = serve.client.post("/train", headers=serve.auth)
        assert answer.status_code == 409
        assert answer.json() == {"detail": f"another netsec run is using {ready.artifacts} (try again when it has finished, or pass --wait SECONDS)"}
        assert serve.client.get("/train", headers=serve.auth).json()["jobs"] == []
    finally:
        holder.kill()
        holder.wait()


def test_a_cli_train_is_served_without_a_restart(quick: Project, records: list[dict]) -> None:
    server = start_server(quick)
    try:
        before = server.client.get("/version").json()
        old = _probabilities(server, records)
        quick.update_config(**{"model.hyperparameters.n_estimators": 15})
        result = quick.invoke("train")
        assert result.exit_code == 0, result.output
        after = server.client.get("/version").json()
        assert after["model_sha256"] != before["model_sha256"]
        cli = quick.root / "cli.csv"
        pd.DataFrame(records).to_csv(quick.root / "rows.csv", index=False)
        assert quick.invoke("predict", str(quick.root / "rows.csv"), "-o", str(cli)).exit_code == 0
        new = _probabilities(server, records)
        np.testing.assert_allclose(new, pd.read_csv(cli)["probability"].to_numpy(), rtol=0, atol=1e-9)
        assert not np.allclose(new, old)
    finally:
        server.stop()


def test_a_request_in_flight_keeps_the_model_it_started_with(quick: Project, records: list[dict]) -> None:
    from netsec_cli.config import load_config
    from netsec_cli.serve.holder import ModelHolder
    from netsec_cli.serve.predictions import score_records

    config = load_config(quick.config_path)
    holder = ModelHolder(config)
    first = holder.current()
    assert first is not None
    old = score_records(config, first, records).probability
    quick.update_config(**{"model.hyperparameters.n_estimators": 15})
    assert quick.invoke("train").exit_code == 0
    second = holder.current()
    assert second is not None and second.sha256 != first.sha256
    np.testing.assert_array_equal(score_records(config, first, records).probability, old)
    assert not np.allclose(score_records(config, second, records).probability, old)
    assert holder.current() is second  # unchanged manifest: no reload


def test_a_broken_new_model_keeps_the_previous_one_in_service(serve: Server, ready: Project, records: list[dict]) -> None:
    old = _probabilities(serve, records)
    manifest = ready.artifacts / "models" / "manifest.json"
    info = ready.artifacts / "models" / "1" / "model_info.json"
    info.write_text(info.read_text().replace('"threshold"', '"threshold_gone"'))
    manifest.write_text(manifest.read_text() + " ")  # a changed manifest: the server tries to reload
    np.testing.assert_array_equal(_probabilities(serve, records), old)
    assert serve.client.get("/readyz").status_code == 200
    assert "cannot be loaded, keeping the previous one" in wait_for(lambda: serve.output() if "keeping" in serve.output() else "")


def test_token_from_the_encrypted_credentials_file(secrets_project: Project, fake_aws: FakeAws, trained_artifacts: Path, records: list[dict]) -> None:
    from netsec_cli.config import load_config
    from netsec_cli.secrets.backends import BuiltinBackend
    from netsec_cli.secrets.credentials import decrypt_values

    install(secrets_project, trained_artifacts)
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    config = load_config(secrets_project.config_path)
    path = config.resolve(config.secrets.credentials_file)
    encrypted_token = "from-sops-" + TOKEN
    plain = {**decrypt_values(config, path), "NETSEC_SERVE_TOKEN": encrypted_token}
    recipients = [entry["recipient"] for entry in yaml.safe_load(path.read_text())["sops"]["age"]]
    path.write_bytes(BuiltinBackend().encrypt(plain, recipients, "yaml"))
    server = start_server(secrets_project, token=None, env={"NETSEC_SERVE_TOKEN": "an-environment-token-not-used"})
    try:
        body = {"records": records[:5]}
        assert server.client.post("/predict", json=body, headers={"Authorization": f"Bearer {encrypted_token}"}).status_code == 200
        assert server.client.post("/predict", json=body, headers={"Authorization": "Bearer an-environment-token-not-used"}).status_code == 401
        assert encrypted_token not in server.output()
    finally:
        server.stop()


def test_several_workers_share_jobs_and_metrics(quick: Project, records: list[dict]) -> None:
    server = start_server(quick, "--workers", "2")
    try:
        for _ in range(6):
            assert len(_probabilities(server, records[:10])) == 10
        text = server.client.get("/metrics").text
        scored = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("netsec_rows_scored_total{"))
        assert scored == 60
        started = server.client.post("/train", headers=server.auth).json()
        seen = {server.client.get(f"/jobs/{started['id']}", headers=server.auth).status_code for _ in range(6)}
        assert seen == {200}
        wait_for(lambda: server.client.get(f"/jobs/{started['id']}", headers=server.auth).json()["status"] == "succeeded")
    finally:
        server.stop()
