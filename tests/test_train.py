"""`netsec train`: XGBoost model, metrics, MLflow run + registered version, failure safety."""

from __future__ import annotations

import json
import socket

import pytest

from tests.fixtures.project import Project


def _prepare(project: Project) -> None:
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    assert project.invoke("transform").exit_code == 0


def test_train_writes_model_metrics_and_mlflow_version(project: Project, tracking_db) -> None:
    from mlflow.tracking import MlflowClient

    _prepare(project)
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    folder = project.artifacts / "train"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.9 and {"precision", "recall", "f1", "roc_auc", "confusion_matrix"} <= set(metrics)
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == 600
    assert (folder / "model.ubj").read_bytes()[:1] == b"{"  # UBJSON object, not a pickle
    assert data["run_id"] and data["model_version"]

    client = MlflowClient(tracking_uri=f"sqlite:///{tracking_db}")
    run = client.get_run(data["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["accuracy"] == pytest.approx(metrics["accuracy"])
    assert run.data.params["model.n_estimators"] == "60"
    logged = {a.path for a in client.list_artifacts(data["run_id"])}
    assert {"model", "metrics.json", "report.html"} <= logged
    model = {a.path for a in client.list_artifacts(data["run_id"], "model")}
    assert {"model/MLmodel", "model/mlflow_model.py", "model/artifacts"} <= model  # a pyfunc model (tests/test_mlflow_model.py)
    unit = {a.path for a in client.list_artifacts(data["run_id"], "model/artifacts/model_unit")}
    assert unit == {f"model/artifacts/model_unit/{name}" for name in ("model.ubj", "model_info.json", "preprocessor.skops", "schema.yaml")}
    version = client.get_model_version("netsec-detector", data["model_version"])
    assert version.run_id == data["run_id"] and version.source.endswith("/model")
    tracking = json.loads((folder / "tracking.json").read_text())
    assert tracking["run_id"] == data["run_id"] and tracking["error"] is None
    assert "alembic" not in result.stderr and "mlflow" not in result.stderr.lower()
    assert "Downloading artifacts" not in result.stderr


def test_train_without_tracking(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    _prepare(project)
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_id"] is None
    assert (project.artifacts / "train" / "model.ubj").is_file()


def test_unreachable_tracking_server_exits_4_but_publishes_model(project: Project) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project.update_config(**{"tracking.tracking_uri": f"http://127.0.0.1:{port}"})
    _prepare(project)
    result = project.invoke("-q", "train", env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert result.exit_code == 4
    assert f"MLflow tracking at http://127.0.0.1:{port} failed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (project.artifacts / "train" / "model.ubj").is_file()
    assert json.loads((project.artifacts / "train" / "tracking.json").read_text())["error"]


def test_failed_train_keeps_previous_model_usable(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    _prepare(project)
    assert project.invoke("train").exit_code == 0
    before = (project.artifacts / "train" / "model.ubj").read_bytes()
    project.update_config(**{"model.hyperparameters.tree_method": "deep"})  # a key netsec does not check
    result = project.invoke("train")
    assert result.exit_code == 2
    assert "XGBoost rejected model.hyperparameters" in result.stderr
    assert (project.artifacts / "train" / "model.ubj").read_bytes() == before
    assert not list(project.artifacts.glob(".staging-*"))
    sample = project.root / "rows.csv"
    import pandas as pd

    pd.read_parquet(project.artifacts / "etl" / "test.parquet").head(20).to_csv(sample, index=False)
    assert project.invoke("predict", str(sample), "-o", str(project.root / "out.csv")).exit_code == 0


def test_train_before_transform_names_the_command(project: Project) -> None:
    result = project.invoke("train")
    assert result.exit_code == 2
    assert "run `netsec transform` before `netsec train`" in result.stderr


@pytest.mark.parametrize("encoding", ["native", "onehot"])
def test_category_codes_are_categorical_features_of_the_model(project: Project, encoding: str) -> None:
    from xgboost import Booster

    project.update_config(**{"tracking.enabled": False, "transform.categorical_encoding": encoding})
    _prepare(project)
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads((project.artifacts / "train" / "model_info.json").read_text())
    booster = Booster()
    booster.load_model(str(project.artifacts / "train" / "model.ubj"))
    categorical = [n for n, t in zip(info["feature_names"], info["feature_types"], strict=True) if t == "c"]
    if encoding == "native":
        assert categorical == ["cat__protocol_type", "cat__service", "cat__flag"]
        assert booster.feature_types == info["feature_types"]
        splits = booster.trees_to_dataframe()
        assert splits["Category"].notna().any()  # at least one split on a set of categories
    else:
        assert categorical == [] and any(n.startswith("cat__service_") for n in info["feature_names"])
    assert json.loads(result.stdout)["metrics"]["accuracy"] > 0.9
