"""The log files of config/logging.yaml: system.log (everything), drift.log (drift and monitor
decisions), model.log (training, evaluation, promotion), rotating; `logging.format: json` lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from netsec_cli.logging_setup import JsonLinesFormatter, LoggerPrefixFilter, configure_logging
from netsec_cli.redaction import MASK, register_secret
from tests.fixtures.project import REPO, Project
from tests.helpers import assert_error

DRIFT_PREFIXES = ("netsec_cli.stages.validate", "netsec_cli.stages.monitor", "netsec_cli.drift", "netsec_cli.monitor")
MODEL_PREFIXES = (
    "netsec_cli.stages.train",
    "netsec_cli.stages.evaluate",
    "netsec_cli.stages.models",
    "netsec_cli.models",
    "netsec_cli.registry",
    "netsec_cli.artifacts.registry",
    "netsec_cli.tracking",
)
JSON_KEYS = {"time", "level", "logger", "message", "module", "function", "line"}


def _read(project: Project, name: str) -> str:
    return (project.root / "logs" / name).read_text(encoding="utf-8")


def _logger_names(text: str) -> set[str]:
    """Logger names of the `detailed` lines: date, time, level, then the logger name."""
    return {line.split()[3] for line in text.splitlines() if line.strip()}


def _run_stages(project: Project) -> None:
    """validate and train on the installed artifacts, then etl (last: it republishes train's inputs);
    --force: a stage whose inputs are unchanged would otherwise be skipped."""
    for command in (["validate", "--force"], ["train", "--force"], ["etl", "-s", "synthetic", "--force"]):
        result = project.invoke(*command)
        assert result.exit_code == 0, result.output


def _tiny_logging_yaml(project: Project, max_bytes: int, backups: int) -> Path:
    spec = yaml.safe_load((REPO / "config" / "logging.yaml").read_text())
    spec["handlers"]["system"].update(maxBytes=max_bytes, backupCount=backups)
    path = project.root / "config" / "logging.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_each_file_gets_its_loggers(ready: Project) -> None:
    ready.update_config(**{"tracking.enabled": False})
    _run_stages(ready)
    logging.getLogger("some.library").warning("a library warning")
    logging.getLogger("some.library").info("a library info line")

    system, drift, model = (_read(ready, name) for name in ("system.log", "drift.log", "model.log"))
    for stage in ("validate", "train", "etl"):
        assert f"{stage}: start" in system and f"{stage}: done in " in system
    assert "a library warning" in system and "a library info line" not in system
    assert not (ready.root / "logs" / "netsec.log").exists()

    assert "validate: start" in drift and "validate: done in " in drift
    assert "train:" not in drift and "etl:" not in drift and "a library warning" not in drift
    assert _logger_names(drift) and all(name.startswith(DRIFT_PREFIXES) for name in _logger_names(drift))

    assert "train: start" in model and "train: done in " in model
    assert "validate:" not in model and "etl:" not in model and "a library warning" not in model
    assert "netsec_cli.stages.train" in _logger_names(model)
    assert all(name.startswith(MODEL_PREFIXES) for name in _logger_names(model))


def test_the_system_log_rotates(project: Project) -> None:
    project.update_config(**{"logging.config_file": str(_tiny_logging_yaml(project, max_bytes=400, backups=2))})
    for _ in range(3):
        result = project.invoke("etl", "-s", "synthetic", "--force")
        assert result.exit_code == 0, result.output
    logs = project.root / "logs"
    assert (logs / "system.log.1").is_file() and (logs / "system.log.2").is_file()
    assert not (logs / "system.log.3").exists()
    assert (logs / "system.log").stat().st_size <= 400 + 1000  # one line may pass the limit before rolling
    assert "etl: done in " in "".join(p.read_text() for p in logs.glob("system.log*"))


def test_json_lines_in_every_file_with_secrets_masked(ready: Project) -> None:
    secret = "json-lines-s3cr3t-9f27"
    register_secret(secret)
    ready.update_config(**{"tracking.enabled": False, "logging.format": "json"})
    _run_stages(ready)
    train_logger = logging.getLogger("netsec_cli.stages.train")
    train_logger.info("token is %s", secret)
    try:
        raise ValueError(f"bad token {secret}")
    except ValueError:
        train_logger.exception("training failed with %s", secret)

    entries: dict[str, list[dict]] = {}
    for name in ("system.log", "drift.log", "model.log"):
        text = _read(ready, name)
        assert secret not in text
        entries[name] = [json.loads(line) for line in text.splitlines()]
        assert entries[name], f"{name} is empty"
        for entry in entries[name]:
            assert JSON_KEYS <= entry.keys(), entry
            assert entry["time"].endswith("Z") and "T" in entry["time"]
            assert isinstance(entry["line"], int)
    assert {e["logger"] for e in entries["drift.log"]} == {"netsec_cli.stages.validate"}
    assert "netsec_cli.stages.train" in {e["logger"] for e in entries["model.log"]}
    assert all(e["logger"].startswith(MODEL_PREFIXES) for e in entries["model.log"])
    messages = [e["message"] for e in entries["model.log"]]
    assert f"token is {MASK}" in messages and f"training failed with {MASK}" in messages
    failed = next(e for e in entries["model.log"] if e["message"] == f"training failed with {MASK}")
    assert failed["level"] == "ERROR" and failed["function"] == "test_json_lines_in_every_file_with_secrets_masked"
    assert "Traceback" in failed["exception"] and f"ValueError: bad token {MASK}" in failed["exception"]
    assert not any("exception" in e for e in entries["drift.log"])


def test_json_format_leaves_the_console_human(ready: Project) -> None:
    ready.update_config(**{"logging.format": "json"})
    result = ready.invoke("validate", "--force")
    assert result.exit_code == 0, result.output
    assert "validate: done in " in result.stderr and '"logger"' not in result.stderr
    assert json.loads(_read(ready, "system.log").splitlines()[-1])["message"].startswith("validate: done in ")


def test_an_invalid_format_is_a_config_error(project: Project) -> None:
    project.update_config(**{"logging.format": "xml"})
    result = project.invoke("validate")
    assert_error(
        result, 2, f"Error: invalid config {project.config_path}: logging.format: input should be 'text' or 'json'"
    )


def test_a_logging_file_without_formatters_still_gets_json(tmp_path: Path) -> None:
    spec = {
        "version": 1,
        "handlers": {"only": {"class": "logging.FileHandler", "filename": "{logs}/only.log", "level": "DEBUG"}},
        "loggers": {"netsec_cli": {"level": "DEBUG", "handlers": ["only"], "propagate": False}},
    }
    config_file = tmp_path / "logging.yaml"
    config_file.write_text(yaml.safe_dump(spec))
    configure_logging(config_file, tmp_path / "logs", "INFO", "json")
    logging.getLogger("netsec_cli.drift").info("drift of %d columns", 3)
    entry = json.loads((tmp_path / "logs" / "only.log").read_text().splitlines()[-1])
    assert (entry["logger"], entry["level"], entry["message"]) == ("netsec_cli.drift", "INFO", "drift of 3 columns")


def test_without_a_logging_file_json_keeps_the_console_only(tmp_path: Path) -> None:
    configure_logging(tmp_path / "missing.yaml", tmp_path / "logs", "WARNING", "json")
    handlers = logging.getLogger("netsec_cli").handlers
    assert [type(h).__name__ for h in handlers] == ["RichHandler"]
    assert not isinstance(handlers[0].formatter, JsonLinesFormatter)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("name", "routed"),
    [
        ("netsec_cli.drift", True),
        ("netsec_cli.monitor.decisions", True),
        ("netsec_cli.stages.validate", True),
        ("netsec_cli.driftwood", False),
        ("netsec_cli", False),
        ("netsec_cli.stages.train", False),
    ],
)
def test_the_prefix_filter_matches_whole_logger_names(name: str, routed: bool) -> None:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, "message", None, None)
    assert LoggerPrefixFilter(prefixes=list(DRIFT_PREFIXES)).filter(record) is routed


def test_a_prefix_string_instead_of_a_list_is_a_config_error(project: Project) -> None:
    spec = yaml.safe_load((REPO / "config" / "logging.yaml").read_text())
    spec["filters"]["drift_loggers"]["prefixes"] = "netsec_cli.drift"
    path = project.root / "config" / "logging.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    project.update_config(**{"logging.config_file": str(path)})
    assert_error(
        project.invoke("validate"),
        2,
        f"Error: logging config {path} is invalid: Unable to configure filter 'drift_loggers'",
    )
