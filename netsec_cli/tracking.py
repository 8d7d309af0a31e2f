"""MLflow tracking of training runs: parameters, metrics, artifacts and a registered model version.

The store is `tracking.tracking_uri`, or `sqlite:///<project>/mlruns.db` when it is null; runs of
an experiment created here keep their artifacts in `<project>/mlartifacts`. The run's `model/`
artifact folder is an MLflow pyfunc model saved from code (`netsec_cli/mlflow_model.py`, found
by its spec and run by MLflow, never imported here) with the model unit as its one artifact
(`MODEL_UNIT_ARTIFACT`: the model in its library's own format, `model_info.json`, the skops
preprocessor and the schema), so `mlflow.pyfunc.load_model("models:/<name>/<version>")` and
`mlflow models serve` score raw flows and nothing is pickled. A new version of
`tracking.registered_model` points at that folder.
A `TrainingRun` is created on first use, so tuning trials can be logged as its children before
the model exists.
MLflow's console chatter (alembic migrations, "View run" lines, warnings) is kept off the
terminal; failures of the store become ServiceError (exit 4).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ServiceError

if TYPE_CHECKING:
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.tracking")
_NOISY_LOGGERS = ("mlflow", "alembic", "urllib3", "git")
MODEL_UNIT_ARTIFACT = "model_unit"  # the pyfunc artifact holding the model unit's files


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
    os.environ.setdefault("MLFLOW_UV_AUTO_DETECT", "false")  # no uv.lock of the working directory in the model
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # save_model copies the unit with tqdm bars
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


class TrainingRun:
    """One `netsec train` run in MLflow, created on first use, with tuning trials as child runs.

    Children carry the tag `mlflow.parentRunId`. The first failure of the store is kept: later
    calls do nothing and `finish` raises it (ServiceError), so training still completes and
    publishes before the failure is reported."""

    def __init__(self, config: Config, tags: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.uri = tracking_uri(config)
        self.tags = dict(tags or {})
        self.error: ServiceError | None = None
        self._client: Any = None
        self._run: Any = None
        self._finished = False

    def _parent(self) -> tuple[Any, Any]:
        """The client and the parent run (created the first time)."""
        if self._run is None:
            from mlflow.tracking import MlflowClient

            local = self.uri.startswith(("sqlite:", "file:")) or "://" not in self.uri
            client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            artifact_root = self.config.root / "mlartifacts" if local else None
            experiment_id = _experiment_id(client, self.config.tracking.experiment, artifact_root)
            self._run = client.create_run(experiment_id, tags=self.tags, run_name="netsec-train")
            self._client = client
        return self._client, self._run

    def _failed(self, exc: Exception) -> ServiceError:
        first = str(exc).splitlines()[0] if str(exc) else ""
        self.error = ServiceError(
            f"MLflow tracking at {self.uri} failed: {type(exc).__name__}: {first}",
            hint="the model was still saved under artifacts/train; check tracking.tracking_uri or set tracking.enabled: false",
        )
        return self.error

    def log_child(self, name: str, *, params: Mapping[str, Any], metrics: Mapping[str, float], tags: Mapping[str, str] | None = None) -> None:
        """A finished child run (a tuning trial) under this run; a store failure is kept for `finish`."""
        if self.error is not None:
            return
        with _quiet_mlflow():
            try:
                client, parent = self._parent()
                child_tags = {"mlflow.parentRunId": parent.info.run_id, **(tags or {})}
                child = client.create_run(parent.info.experiment_id, tags=child_tags, run_name=name)
                _log_run_contents(client, child.info.run_id, params, metrics, [])
                client.set_terminated(child.info.run_id, status="FINISHED")
            except Exception as exc:
                self._failed(exc)
                log.warning("%s", self.error)

    def finish(
        self, *, params: Mapping[str, Any], metrics: Mapping[str, float], model_files: Sequence[Path], artifact_files: Sequence[Path]
    ) -> TrackedRun:
        """Log the run's contents and the model unit (`model_files`, `TrainFiles.unit_files`) as a
        pyfunc model, register it and close the run; ServiceError if the store failed."""
        if self.error is not None:
            self.abort()
            raise self.error
        with _quiet_mlflow():
            try:
                client, run = self._parent()
                run_id = run.info.run_id
                _log_run_contents(client, run_id, params, metrics, artifact_files)
                _log_model(client, run_id, model_files, self.config.input.max_field_bytes)
                version = _register(client, self.config.tracking.registered_model, run.info.artifact_uri, run_id)
                client.set_terminated(run_id, status="FINISHED")
                self._finished = True
            except Exception as exc:
                self.abort()
                raise self._failed(exc) from None
        experiment = self.config.tracking.experiment
        log.info("tracked run %s in experiment %s%s", run_id, experiment, f" (model version {version})" if version else "")
        return TrackedRun(tracking_uri=self.uri, experiment=experiment, run_id=run_id, model_version=version)

    def abort(self) -> None:
        """Mark an opened, unfinished run FAILED (best effort)."""
        if self._run is None or self._finished:
            return
        self._finished = True
        with _quiet_mlflow(), contextlib.suppress(Exception):
            self._client.set_terminated(self._run.info.run_id, status="FAILED")


def set_aliases(config: Config, aliases: Mapping[str, str | None]) -> None:
    """Point each MLflow alias of `tracking.registered_model` (e.g. champion, challenger) at a
    registered version, or remove it (None); ServiceError (exit 4) when the store fails."""
    name = config.tracking.registered_model
    if not name:
        return
    uri = tracking_uri(config)
    with _quiet_mlflow():
        try:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            for alias, version in aliases.items():
                if version is None:
                    with contextlib.suppress(Exception):  # absent already
                        client.delete_registered_model_alias(name, alias)
                else:
                    client.set_registered_model_alias(name, alias, version)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ServiceError(
                f"MLflow registry at {uri} failed to set the aliases of {name}: {type(exc).__name__}: {first}",
                hint="the change is kept in artifacts/models; run `netsec models promote` again when MLflow is back",
            ) from None
    log.info("aliases of %s: %s", name, ", ".join(f"@{a}={v or '-'}" for a, v in aliases.items()))


@contextlib.contextmanager
def training_run(config: Config, *, tags: Mapping[str, str] | None = None) -> Iterator[TrainingRun]:
    """A `TrainingRun` that is marked FAILED when the body raises before `finish`."""
    run = TrainingRun(config, tags)
    try:
        yield run
    except BaseException:
        run.abort()
        raise


def log_training_run(
    config: Config,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    model_files: Sequence[Path],
    artifact_files: Sequence[Path],
    tags: Mapping[str, str] | None = None,
) -> TrackedRun:
    """Log one training run and register its model; raise ServiceError if the store fails."""
    with training_run(config, tags=tags) as run:
        return run.finish(params=params, metrics=metrics, model_files=model_files, artifact_files=artifact_files)


def _log_run_contents(
    client: Any,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifact_files: Sequence[Path],
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        params=[Param(key, str(value)[:6000]) for key, value in params.items()],
    )
    for file in artifact_files:
        client.log_artifact(run_id, str(file))


def _log_model(client: Any, run_id: str, unit: Sequence[Path], max_field_bytes: int) -> None:
    """The model unit as a pyfunc model saved from code, logged as the run's `model/` folder."""
    import mlflow.pyfunc

    spec = importlib.util.find_spec("netsec_cli.mlflow_model")
    if spec is None or spec.origin is None:
        raise RuntimeError("netsec_cli/mlflow_model.py is missing from the installed package")
    with tempfile.TemporaryDirectory(prefix="netsec-mlflow-") as tmp:
        folder = Path(tmp) / MODEL_UNIT_ARTIFACT
        folder.mkdir()
        for file in unit:
            shutil.copyfile(file, folder / file.name)
        model = Path(tmp) / "model"
        mlflow.pyfunc.save_model(
            path=str(model),
            python_model=spec.origin,
            artifacts={MODEL_UNIT_ARTIFACT: str(folder)},
            model_config={"max_field_bytes": max_field_bytes},
            pip_requirements=[_netsec_requirement()],
        )
        client.log_artifacts(run_id, str(model), artifact_path="model")


def _netsec_requirement() -> str:
    """netsec itself, pinned: the model's code imports `netsec_cli` (`--env-manager local`: its venv)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"netsec-cli=={version('netsec-cli')}"
    except PackageNotFoundError:
        return "netsec-cli"


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
