"""What `netsec train` registers in MLflow is a pyfunc model: loaded by `mlflow.pyfunc.load_model`
and served by `mlflow models serve`, it scores raw flows exactly as `netsec predict` does, without
pickle (models-from-code, the booster and skops preprocessor by their safe loaders)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fixtures.project import Project
from tests.fixtures.trained import build_trained

REGISTERED = "netsec-mlflow-model"
UNKNOWN_COLUMN = "model input has unknown columns: dur (use the schema's column names)"
UNIT_FILES = {"model.ubj", "model_info.json", "preprocessor.skops", "schema.yaml"}


@dataclass
class Tracked:
    """A project trained with tracking on, its registered version and `netsec predict`'s answer."""

    project: Project
    uri: str
    version: str
    flows: Path
    expected: pd.DataFrame

    @property
    def model_uri(self) -> str:
        return f"models:/{REGISTERED}/{self.version}"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, tracking_db: Path) -> Tracked:
    """etl → transform → train with tracking on, then `netsec predict` on 200 test rows with gaps
    (blank numeric and categorical cells, so integer columns read back as floats)."""
    root = tmp_path_factory.mktemp("tracked")
    artifacts = build_trained(root, tracking_db, **{"tracking.enabled": True, "tracking.registered_model": REGISTERED})
    version = json.loads((artifacts / "train" / "tracking.json").read_text())["model_version"]
    assert version
    rows = pd.read_parquet(artifacts / "etl" / "test.parquet").head(200)
    rows = rows.astype({"duration": "float64", "src_bytes": "float64"})
    rows.loc[[0, 5], "duration"] = np.nan
    rows.loc[[3, 9], "service"] = None
    rows.loc[7, "src_bytes"] = np.nan
    flows = root / "flows.csv"
    rows.to_csv(flows, index=False)
    project = Project(root=root, runner=CliRunner())
    out = root / "predicted.csv"
    result = project.invoke("predict", str(flows), "-o", str(out))
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(out)
    assert set(expected["prediction"]) == {-1, 0}  # both classes occur, so the threshold is exercised
    return Tracked(project, f"sqlite:///{tracking_db}", str(version), flows, expected)


@pytest.fixture
def mlflow_env(tracked: Tracked, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store as MLflow's tracking and registry URI; MLflow may not unpickle anything."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracked.uri)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == ["prediction", "label", "probability"]
    assert len(got) == len(expected)
    np.testing.assert_allclose(got["probability"].to_numpy(float), expected["probability"].to_numpy(float), rtol=0, atol=1e-6)
    assert got["prediction"].astype(int).tolist() == expected["prediction"].astype(int).tolist()
    assert got["label"].tolist() == expected["label"].tolist()


@pytest.mark.usefixtures("mlflow_env")
def test_the_registered_model_scores_raw_flows_like_netsec_predict(tracked: Tracked) -> None:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(tracked.model_uri)
    _assert_same(model.predict(pd.read_csv(tracked.flows)), tracked.expected)


@pytest.mark.usefixtures("mlflow_env")
def test_the_model_folder_holds_code_and_the_unit_never_a_pickle(tracked: Tracked, tmp_path: Path) -> None:
    import mlflow.artifacts
    import yaml

    folder = Path(mlflow.artifacts.download_artifacts(tracked.model_uri, dst_path=str(tmp_path)))
    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model" and "python_model" not in flavor
    assert (folder / "mlflow_model.py").is_file()
    assert {path.name for path in (folder / "artifacts" / "model_unit").iterdir()} == UNIT_FILES
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert not [path for path in files if path.suffix in {".pkl", ".pickle", ".joblib"}]
    assert not [path for path in files if path.read_bytes()[:1] == b"\x80"]  # pickle protocol 2+ header


@pytest.mark.usefixtures("mlflow_env")
def test_wrong_columns_raise_an_mlflow_error_with_the_netsec_message(tracked: Tracked) -> None:
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(tracked.model_uri)
    frame = pd.read_csv(tracked.flows).head(3)
    with pytest.raises(MlflowException) as caught:
        model.predict(frame.rename(columns={"duration": "dur"}))
    assert caught.value.message == UNKNOWN_COLUMN and caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match=r"^model input is missing"):
        model.predict(frame.drop(columns=["service"]))


def test_a_unit_copy_with_another_preprocessor_or_a_missing_file_is_refused(tracked: Tracked, tmp_path: Path) -> None:
    from netsec_cli.errors import InputError
    from netsec_cli.scoring import load_model_folder

    unit = tmp_path / "unit"
    unit.mkdir()
    for name in UNIT_FILES:
        shutil.copyfile(tracked.project.artifacts / "train" / name, unit / name)
    assert load_model_folder(unit).threshold == json.loads((unit / "model_info.json").read_text())["threshold"]
    with (unit / "preprocessor.skops").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(InputError, match="was trained with a different preprocessor"):
        load_model_folder(unit)
    (unit / "schema.yaml").unlink()
    with pytest.raises(InputError, match=r"has no schema\.yaml"):
        load_model_folder(unit)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_for_ping(server: subprocess.Popen[bytes], base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"mlflow models serve exited with {server.returncode}"
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"mlflow models serve did not answer /ping within {seconds} s")


def test_mlflow_models_serve_answers_like_netsec_predict(tracked: Tracked, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bin_dir = str(Path(sys.executable).parent)  # MLflow execs `uvicorn` from PATH
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracked.uri,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", tracked.model_uri]
    command += ["--env-manager", "local", "-p", str(port), "--host", "127.0.0.1"]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    try:
        _wait_for_ping(server, base, 120)
        frame = pd.read_csv(tracked.flows)
        split = json.loads(frame.to_json(orient="split", index=False))
        status, answer = _post(f"{base}/invocations", {"dataframe_split": split})
        assert status == 200, answer
        _assert_same(pd.DataFrame(answer["predictions"]), tracked.expected)
        records = json.loads(frame.head(20).to_json(orient="records"))
        status, answer = _post(f"{base}/invocations", {"dataframe_records": records})
        assert status == 200, answer
        _assert_same(pd.DataFrame(answer["predictions"]), tracked.expected.head(20))
        wrong = json.loads(frame.head(3).rename(columns={"duration": "dur"}).to_json(orient="split", index=False))
        status, answer = _post(f"{base}/invocations", {"dataframe_split": wrong})
        assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
        assert answer["message"].splitlines()[-1] == f"Error: {UNKNOWN_COLUMN}"  # MLflow prefixes what it was given
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
