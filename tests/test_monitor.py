"""`netsec monitor` and `netsec models`: drift against the champion, challengers, promotion, rollback.

One champion is trained (MLflow on) on synthetic flows without two attack families; each test
copies it and brings new data: the same traffic (no drift), a new attack family the champion
misses (challenger promoted), drifted traffic with shuffled labels (challenger rejected).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.project import Project, small_config
from tests.helpers import assert_error

pytestmark = pytest.mark.slow

KNOWN = ["neptune", "smurf"]  # families the champion never sees


def _flows(rows: int, seed: int, *, known_only: bool) -> pd.DataFrame:
    from netsec_cli.sources.synthetic import generate_flows

    flows = generate_flows(rows, seed)
    return flows[~flows["label"].isin(KNOWN)] if known_only else flows


def _stealth(rows: int, seed: int) -> pd.DataFrame:
    """Known traffic plus a new family: normal-looking flows with file-system activity no training row had."""
    flows = _flows(rows, seed, known_only=True)
    attack = flows[flows["label"] == "normal"].sample(rows // 5, random_state=seed).copy()
    rng = np.random.default_rng(seed)
    attack["hot"] = rng.integers(20, 30, len(attack))
    attack["num_file_creations"] = rng.integers(10, 20, len(attack))
    attack["num_access_files"] = rng.integers(5, 9, len(attack))
    attack["label"] = "stealth"
    return pd.concat([flows, attack]).sample(frac=1, random_state=seed)


@pytest.fixture(scope="module")
def champion_project(tmp_path_factory: pytest.TempPathFactory, tracking_db: Path) -> Path:
    """A project whose champion (version 1) was trained by `netsec run` on known traffic."""
    from tests.fixtures.project import Project as P
    from typer.testing import CliRunner

    root = tmp_path_factory.mktemp("monitor") / "proj"
    root.mkdir()
    project = P(root, CliRunner())
    project.write_config(small_config(root, tracking_db))
    _flows(6000, 1, known_only=True).to_csv(root / "old.csv", index=False)
    _flows(6000, 4, known_only=True).to_csv(root / "same.csv", index=False)
    _stealth(6000, 5).to_csv(root / "stealth.csv", index=False)
    shuffled = _flows(6000, 3, known_only=False)
    shuffled["label"] = shuffled["label"].sample(frac=1, random_state=0).to_numpy()
    shuffled.to_csv(root / "shuffled.csv", index=False)
    result = project.invoke("run", "--source", str(root / "old.csv"))
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def monitored(project: Project, champion_project: Path) -> Project:
    for name in ("artifacts", "old.csv", "same.csv", "stealth.csv", "shuffled.csv"):
        source = champion_project / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, project.root / name)
    return project


def _versions(project: Project) -> dict[str, list[str]]:
    listed = project.invoke("models", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return {v["version"]: v["aliases"] for v in json.loads(listed.stdout)}


def _mlflow_alias(project: Project, alias: str) -> str | None:
    """The MLflow version `alias` points at, or None."""
    import yaml
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = yaml.safe_load(project.config_path.read_text())["tracking"]["tracking_uri"]
    try:
        return str(MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_by_alias("netsec-detector", alias).version)
    except MlflowException:
        return None


def _mlflow_version(project: Project, version: str) -> str:
    info = json.loads((project.artifacts / "models" / version / "version.json").read_text())
    return str(info["mlflow_version"])


def _monitor(project: Project, source: str, *extra: str) -> tuple[int, dict]:
    result = project.invoke("monitor", "--source", str(project.root / source), "--json", *extra)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


def test_no_drift_trains_nothing(monitored: Project) -> None:
    code, report = _monitor(monitored, "same.csv")
    assert code == 0 and report["decision"] == "no_drift" and not report["drifted"]
    assert report["drift_share"] < report["trigger"] and report["challenger"] is None
    assert _versions(monitored) == {"1": ["champion"]}
    written = json.loads((monitored.artifacts / "monitor" / "report.json").read_text())
    assert written["decision"] == "no_drift" and len(written["drift"]) == 41
    assert (monitored.artifacts / "monitor" / "report.html").is_file()
    assert not (monitored.artifacts / ".monitor").exists()


def test_a_new_attack_family_promotes_the_challenger(monitored: Project) -> None:
    code, report = _monitor(monitored, "stealth.csv")
    assert code == 10 and report["decision"] == "promoted", report["reason"]
    assert report["drifted"] and report["drift_share"] >= report["trigger"]
    champion, challenger = report["champion"], report["challenger"]
    assert (champion["version"], challenger["version"]) == ("1", "2")
    assert challenger["metrics"]["recall"] > champion["metrics"]["recall"] + 0.2
    assert _versions(monitored) == {"1": [], "2": ["champion"]}
    assert _mlflow_alias(monitored, "champion") == _mlflow_version(monitored, "2")
    assert _mlflow_alias(monitored, "challenger") is None
    predicted = monitored.invoke("predict", str(monitored.root / "same.csv"), "--json")
    assert predicted.exit_code == 0 and json.loads(predicted.stdout)["model_version"] == "2"
    etl = json.loads((monitored.artifacts / "train" / "model_info.json").read_text())
    assert etl["preprocessor_sha256"]  # artifacts/train now holds the champion's model

    rolled = monitored.invoke("models", "rollback", "--json")
    assert rolled.exit_code == 0 and json.loads(rolled.stdout)["champion"] == "1"
    assert _versions(monitored) == {"1": ["champion"], "2": []}
    assert _mlflow_alias(monitored, "champion") == _mlflow_version(monitored, "1")
    predicted = monitored.invoke("predict", str(monitored.root / "same.csv"), "--json")
    assert json.loads(predicted.stdout)["model_version"] == "1"
    chosen = monitored.invoke("predict", str(monitored.root / "same.csv"), "--model", "2", "--json")
    assert chosen.exit_code == 0 and json.loads(chosen.stdout)["model_version"] == "2"


def test_shuffled_labels_reject_the_challenger(monitored: Project) -> None:
    code, report = _monitor(monitored, "shuffled.csv")
    assert code == 11 and report["decision"] == "rejected"
    assert report["drifted"] and report["challenger"]["version"] == "2"
    assert _versions(monitored) == {"1": ["champion"], "2": ["challenger"]}
    assert _mlflow_alias(monitored, "champion") == _mlflow_version(monitored, "1")
    assert _mlflow_alias(monitored, "challenger") == _mlflow_version(monitored, "2")
    shown = monitored.invoke("models", "show", "2", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["source"] == "monitor"


def test_drift_with_retrain_never_is_exit_3(monitored: Project) -> None:
    code, report = _monitor(monitored, "stealth.csv", "--retrain", "never")
    assert code == 3 and report["decision"] == "drift_not_retrained" and report["challenger"] is None
    assert _versions(monitored) == {"1": ["champion"]}


def test_unknown_versions_and_a_first_champion_are_refused(monitored: Project) -> None:
    folder = monitored.artifacts / "models"
    assert_error(
        monitored.invoke("models", "promote", "9"), 2,
        f"Error: no model version 9 in {folder} (versions: 1) (see `netsec models list`)",
    )  # fmt: skip
    assert_error(
        monitored.invoke("models", "rollback"), 2,
        f"Error: no previous champion to roll back to in {folder} (champion: 1)"
        " (see `netsec models list`; `netsec models promote VERSION` picks any version)",
    )  # fmt: skip
    assert_error(
        monitored.invoke("predict", str(monitored.root / "same.csv"), "--model", "9"), 2,
        f"Error: no model version 9 in {folder} (versions: 1) (see `netsec models list`)",
    )  # fmt: skip
    assert _versions(monitored) == {"1": ["champion"]}


def test_monitor_before_any_model_names_the_command(project: Project) -> None:
    _flows(500, 1, known_only=True).to_csv(project.root / "new.csv", index=False)
    result = project.invoke("monitor", "--source", str(project.root / "new.csv"))
    folder = project.artifacts / "models"
    assert_error(result, 2, f"Error: no trained model in {folder} (run `netsec train` before `netsec monitor`)")
    assert not (project.artifacts / "monitor").exists()
