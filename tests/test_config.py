"""Config loading: defaults, validation errors with key paths, `netsec config show|validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netsec_cli.config import load_config
from netsec_cli.errors import ConfigError
from tests.fixtures.project import Project


def test_repository_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "config.yaml")
    assert config.agents.drift_detection_agent.threshold == 0.05
    assert config.agents.retraining_agent.trigger_drift_threshold == 0.07
    assert config.agents.data_ingestion_agent.batch_size == 10000
    assert config.agents.data_ingestion_agent.retries == 3


def test_typo_key_names_path_and_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("split:\n  test_sise: 0.3\nmodel:\n  early_stopping_rounds: many\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "split.test_sise: unknown key" in message
    assert "model.early_stopping_rounds" in message and "integer" in message


def test_relative_paths_resolve_against_root(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "config.yaml"
    path.write_text("paths:\n  artifacts: out\n")
    config = load_config(path)
    assert config.artifacts_dir == tmp_path.resolve() / "out"


def test_cli_invalid_config_exits_2_with_one_line(project: Project) -> None:
    project.config_path.write_text("split: [not, a, mapping]\n")
    result = project.invoke("config", "validate")
    assert result.exit_code == 2
    assert "invalid config" in result.stderr and "split" in result.stderr
    assert "Traceback" not in result.output


def test_cli_missing_config_file_exits_2(project: Project, tmp_path: Path) -> None:
    from netsec_cli.cli.app import app

    result = project.runner.invoke(app, ["--config", str(tmp_path / "nope.yaml"), "config", "show"])
    assert result.exit_code == 2
    assert "config file not found" in result.stderr


def test_cli_config_show_json(project: Project) -> None:
    result = project.invoke("config", "show", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["_source"] == str(project.config_path)
    assert data["data"]["synthetic_rows"] == 3000


def test_netsec_config_env_var(project: Project) -> None:
    from netsec_cli.cli.app import app

    result = project.runner.invoke(app, ["config", "validate", "--json"], env={"NETSEC_CONFIG": str(project.config_path)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == str(project.config_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("project:\n  name: netsec\n", "project: unknown key"),
        ("model:\n  kind: xgboost\n", "model.kind: unknown key"),
    ],
)
def test_keys_nothing_reads_are_unknown(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"invalid config {path}: {problem}"


def test_a_log_folder_that_cannot_be_created_is_a_config_error(project: Project) -> None:
    from tests.helpers import assert_error

    (project.root / "blocker").write_text("a file, not a folder")
    project.update_config(**{"paths.logs": "blocker/logs"})
    result = project.invoke("validate")
    assert_error(
        result,
        2,
        f"Error: cannot create the log folder {project.root / 'blocker' / 'logs'}: Not a directory (fix paths.logs in config.yaml)",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model:\n  type: lightgbm\n", "model.type: input should be 'xgboost' or 'catboost'"),
        ("model:\n  alert_budget: 0\n", "model.alert_budget: input should be greater than 0"),
        ("model:\n  alert_budget: 1.5\n", "model.alert_budget: input should be less than 0.5"),
        ("predict:\n  threshold: often\n", "predict.threshold"),
    ],
)
def test_model_choices_are_validated(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"invalid config {path}: {problem}")


def test_unknown_model_type_exits_2_naming_the_key(project: Project) -> None:
    from tests.helpers import assert_error

    project.update_config(**{"model.type": "lightgbm"})
    assert_error(
        project.invoke("train"),
        2,
        f"Error: invalid config {project.config_path}: model.type: input should be 'xgboost' or 'catboost'",
    )


def test_predict_threshold_is_auto_or_a_probability(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("predict:\n  threshold: 0.7\n")
    assert load_config(path).predict.threshold == 0.7
    path.write_text("{}\n")
    assert load_config(path).predict.threshold == "auto"
