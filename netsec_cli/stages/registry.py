"""The model registry's operations: register, promote, roll back, list, show.

Every trained model becomes a numbered version of artifacts/models (`artifacts.registry`), with
the same information whether MLflow tracking is on or off. A change to the registry runs as the
stage "models" (`runner.run_stage`: the artifacts lock, a staging copy of the registry with the
versions hard-linked, publish, the S3 mirror), so the aliases and versions change together or not
at all. With tracking on, the MLflow aliases `@champion` and `@challenger` of
`tracking.registered_model` are then set to the MLflow versions of the same models; an MLflow
failure is a ServiceError (exit 4) raised after the registry change is published.

`netsec train` registers its model and promotes it (`--challenger` registers it as challenger
only); `netsec monitor` registers its challenger and promotes it only when it wins.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import TrainFiles, write_json_atomic
from netsec_cli.artifacts.registry import ModelsFiles, RegistryState, copy_registry, published_models
from netsec_cli.errors import InputError
from netsec_cli.runner import RunOptions, run_stage

if TYPE_CHECKING:
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.stages.models")

VERSION_METRICS = ("accuracy", "precision", "recall", "f1", "false_alarm_rate", "roc_auc", "pr_auc")


@dataclass(frozen=True)
class RegistryChange:
    """A registry change: the version it concerns and the aliases afterwards."""

    version: str
    champion: str | None
    challenger: str | None
    previous_champion: str | None


def register(config: Config, train: TrainFiles, *, source: str, promote: bool, data_sha256: str | None, options: RunOptions = RunOptions()) -> RegistryChange:
    """Copy the model in `train` (a published artifacts/train) into a new version; make it the
    champion when `promote`, else the challenger."""
    info = train.load_info()
    metrics = train.read_json(train.metrics, "train")
    tracked = train.read_json(train.tracking, "train") if train.tracking.is_file() else {}
    with run_stage(config, "models", options, register=source) as run:
        models = copy_registry(published_models(config.artifacts_dir), run.folder)
        version = models.next_version()
        folder = models.version_dir(version)
        folder.mkdir()
        for file in (*train.unit_files(info["type"]), train.metrics, train.reference, train.reference_sample, train.tracking):
            if file.is_file():
                shutil.copyfile(file, folder / file.name)
        state = models.state()
        write_json_atomic(models.version_info_file(version), {
            "version": version,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": source,
            "type": info["type"],
            "threshold": info["threshold"],
            "data_sha256": data_sha256,
            "metrics": {k: metrics.get(k) for k in VERSION_METRICS},
            "test_rows": metrics.get("rows"),
            "mlflow_run_id": tracked.get("run_id"),
            "mlflow_version": tracked.get("model_version"),
            "champion_when_registered": state.champion,
        })
        change = _promoted(state, version) if promote else _challenger(state, version)
        _write_state(models, change)
        run.summary.update(version=version, champion=change.champion, challenger=change.challenger)
    log.info("registered model version %s (%s)%s", version, source, " as champion" if promote else " as challenger")
    _sync_aliases(config)
    return change


def promote(config: Config, version: str, options: RunOptions = RunOptions()) -> RegistryChange:
    """Make `version` the champion (InputError, exit 2, when it is not registered)."""
    published_models(config.artifacts_dir).version_info(version)
    with run_stage(config, "models", options, promote=version) as run:
        models = copy_registry(published_models(config.artifacts_dir), run.folder)
        change = _promoted(models.state(), str(int(version)))
        _write_state(models, change)
        run.summary.update(champion=change.champion, previous=change.previous_champion)
    log.info("promoted model version %s to champion (was %s)", change.champion, change.previous_champion)
    _sync_aliases(config)
    return change


def rollback(config: Config, options: RunOptions = RunOptions()) -> RegistryChange:
    """Make the previous champion the champion again (InputError, exit 2, when there is none)."""
    with run_stage(config, "models", options, rollback=True) as run:
        models = copy_registry(published_models(config.artifacts_dir), run.folder)
        state = models.state()
        if state.champion is None or len(state.history) < 2:
            raise InputError(
                f"no previous champion to roll back to in {published_models(config.artifacts_dir).folder}"
                f" (champion: {state.champion or 'none'})",
                hint="see `netsec models list`; `netsec models promote VERSION` picks any version",
            )
        history = state.history[:-1]
        change = RegistryChange(history[-1], history[-1], state.challenger, state.champion)
        _write_state(models, change, history)
        run.summary.update(champion=change.champion, previous=change.previous_champion)
    log.info("rolled back the champion from version %s to %s", change.previous_champion, change.champion)
    _sync_aliases(config)
    return change


def list_versions(config: Config) -> list[dict[str, Any]]:
    """Every version's version.json with its aliases, oldest first."""
    models = published_models(config.artifacts_dir)
    state = models.state()
    return [{**models.version_info(v), "aliases": state.aliases(v)} for v in models.versions()]


def show_version(config: Config, version: str) -> dict[str, Any]:
    """One version: version.json, its aliases and its full test metrics."""
    models = published_models(config.artifacts_dir)
    info = models.version_info(version)
    unit = models.unit(version)
    metrics = unit.read_json(unit.metrics, "train") if unit.metrics.is_file() else {}
    return {**info, "aliases": models.state().aliases(str(int(version))), "test_metrics": metrics, "folder": str(unit.folder)}


def registry_state(config: Config) -> RegistryState:
    """The published aliases (empty when nothing is registered)."""
    return published_models(config.artifacts_dir).state()


def _promoted(state: RegistryState, version: str) -> RegistryChange:
    challenger = None if state.challenger == version else state.challenger
    return RegistryChange(version, version, challenger, state.champion)


def _challenger(state: RegistryState, version: str) -> RegistryChange:
    return RegistryChange(version, state.champion, version, state.champion)


def _write_state(models: ModelsFiles, change: RegistryChange, history: list[str] | None = None) -> None:
    state = models.state()
    if history is None:
        history = list(state.history)
        if change.champion is not None and (not history or history[-1] != change.champion):
            history.append(change.champion)
    write_json_atomic(models.registry, RegistryState(change.champion, change.challenger, history).to_json())


def _sync_aliases(config: Config) -> None:
    """Set MLflow's @champion/@challenger to the MLflow versions of the registry's aliases."""
    if not config.tracking.enabled:
        return
    from netsec_cli.secrets.runtime import mlflow_environment
    from netsec_cli.tracking import set_aliases

    models = published_models(config.artifacts_dir)
    state = models.state()

    def mlflow_version(version: str | None) -> str | None:
        if version is None:
            return None
        found = models.version_info(version).get("mlflow_version")
        return str(found) if found else None

    with mlflow_environment(config):
        set_aliases(config, {"champion": mlflow_version(state.champion), "challenger": mlflow_version(state.challenger)})
