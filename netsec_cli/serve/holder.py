"""The model the server scores with, swapped for a newer one without a restart.

`ModelHolder.current()` costs one `stat` of artifacts/models/manifest.json per request. Train,
`netsec models promote|rollback` and `netsec monitor` change the registry by swapping its whole
folder into place, so a changed manifest (another inode, size or mtime) may mean another champion: it is loaded (through `scoring.load_model`, with
every check the CLI makes) and replaces the old one for the requests that start afterwards. A
request keeps the `ServedModel` it started with, so one in flight finishes on that model. A new
model that fails to load leaves the previous one in service (logged once).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netsec_cli import __version__
from netsec_cli.artifacts import Manifest
from netsec_cli.artifacts.registry import models_dir, published_models
from netsec_cli.errors import NetsecError
from netsec_cli.scoring import Model, load_model

if TYPE_CHECKING:
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.serve")

_Signature = tuple[int, int, int]


@dataclass(frozen=True)
class ServedModel:
    """One loaded model unit and what `/version` says about it."""

    model: Model
    version: str
    sha256: str
    threshold: float
    trained_at: str
    kind: str

    def describe(self) -> dict[str, Any]:
        """The `/version` document."""
        return {
            "netsec_version": __version__,
            "model_version": self.version,
            "model_sha256": self.sha256,
            "model_type": self.kind,
            "threshold": self.threshold,
            "trained_at": self.trained_at,
        }


class ModelHolder:
    """The current model of one server process, reloaded when train publishes another."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._served: ServedModel | None = None
        self._signature: _Signature | None = None
        self._failed: _Signature | None = None
        self.problem: str | None = None

    def _manifest_signature(self) -> _Signature | None:
        try:
            info = (models_dir(self.config.artifacts_dir) / "manifest.json").stat()
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def current(self) -> ServedModel | None:
        """The model to score this request with (None before the first train)."""
        signature = self._manifest_signature()
        if signature is not None and signature != self._signature and signature != self._failed:
            with self._lock:
                if signature != self._signature:
                    self._reload(signature)
        return self._served

    def _reload(self, signature: _Signature) -> None:
        try:
            served = _load(self.config)
        except NetsecError as exc:
            self._failed, self.problem = signature, str(exc)
            log.warning("serve: the model in artifacts/models cannot be loaded, %s: %s", "keeping the previous one" if self._served else "none served", exc)
            return
        self._served, self._signature, self._failed, self.problem = served, signature, None, None
        log.info("serve: model %s loaded (threshold %.4g)", served.version, served.threshold)


def _load(config: Config) -> ServedModel:
    """Load the champion (or `serve.model`) of artifacts/models and its identity (sha256, registration time)."""
    model = load_model(config, needed_by="serve", version=config.serve.model)
    models = published_models(config.artifacts_dir)
    version = model.version or ""
    manifest = Manifest.read(models.folder)
    entry = manifest.entry(f"{version}/{models.unit(version).model_path(model.kind).name}") if manifest else None
    sha256 = entry.sha256 if entry is not None else ""
    return ServedModel(
        model=model,
        version=version,
        sha256=sha256,
        threshold=model.threshold,
        trained_at=str(models.version_info(version).get("created", "")),
        kind=model.kind,
    )
