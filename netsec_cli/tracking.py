"""MLflow tracking of training runs: parameters, metrics, artifacts and a registered model version.

The store is `tracking.tracking_uri`, or `sqlite:///<project>/mlruns.db` when it is null; runs of
an experiment created here keep their artifacts in `<project>/mlartifacts`. The model is
registered by pointing a new version of `tracking.registered_model` at the run's `model/`
artifact folder (XGBoost's own format), so no pickled flavour is involved. MLflow's console
chatter (alembic migrations, "View run" lines, warnings) is kept off the terminal; failures of
the store become ServiceError (exit 4).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ServiceError

if TYPE_CHECKING:
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.tracking")
_NOISY_LOGGERS = ("mlflow", "alembic", "urllib3", "git")


@dataclass
class TrackedRun:
    """Where a training run landed in MLflow."""

    tracking_uri: str
    experiment: str
    run_id: str
    model_version: str | None


def tracking_uri(config: Config) -> str:
    """The configured tracking URI, or the project-local sqlite store."""
    return config.tracking.tracking_uri or f"sqlite:///{config.root}/mlruns.db"


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's loggers and warnings for the duration of a tracking call."""
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    import mlflow  # noqa: F401  (importing configures MLflow's loggers; quieten them afterwards)

    saved = {}
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _experiment_id(client: Any, name: str, artifact_root: Path | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = artifact_root.as_uri() if artifact_root else None
    return str(client.create_experiment(name, artifact_location=location))


def log_training_run(
    config: Config,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    model_files: list[Path],
    artifact_files: list[Path],
    tags: Mapping[str, str] | None = None,
) -> TrackedRun:
    """Log one training run and register its model; raise ServiceError if the store fails."""
    uri = tracking_uri(config)
    with _quiet_mlflow():
        from mlflow.tracking import MlflowClient

        local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            experiment_id = _experiment_id(client, config.tracking.experiment, config.root / "mlartifacts" if local else None)
            run = client.create_run(experiment_id, tags=dict(tags or {}), run_name="netsec-train")
            run_id = run.info.run_id
            try:
                _log_run_contents(client, run_id, params, metrics, model_files, artifact_files)
                version = _register(client, config.tracking.registered_model, run.info.artifact_uri, run_id)
            except BaseException:
                client.set_terminated(run_id, status="FAILED")
                raise
            client.set_terminated(run_id, status="FINISHED")
        except Exception as exc:
            raise ServiceError(
                f"MLflow tracking at {uri} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                hint="the model was still saved under artifacts/train; check tracking.tracking_uri or set tracking.enabled: false",
            ) from None
    log.info("tracked run %s in experiment %s%s", run_id, config.tracking.experiment, f" (model version {version})" if version else "")
    return TrackedRun(tracking_uri=uri, experiment=config.tracking.experiment, run_id=run_id, model_version=version)


def _log_run_contents(
    client: Any,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    model_files: list[Path],
    artifact_files: list[Path],
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        params=[Param(key, str(value)[:6000]) for key, value in params.items()],
    )
    for file in model_files:
        client.log_artifact(run_id, str(file), artifact_path="model")
    for file in artifact_files:
        client.log_artifact(run_id, str(file))


def _register(client: Any, name: str | None, artifact_uri: str, run_id: str) -> str | None:
    if not name:
        return None
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", "")) and "already exists" not in str(exc):
            raise
    version = client.create_model_version(name, source=f"{artifact_uri}/model", run_id=run_id)
    return str(version.version)
