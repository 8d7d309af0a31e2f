"""The model registry's layout: artifacts/models/, every trained model as a numbered version.

artifacts/models is published like a stage folder (staging folder, manifest, swap), so a version
and the aliases pointing at it change together:

  registry.json      {"champion": "3", "challenger": null, "history": ["1", "3"]}: the alias of
                     each role and the champions in the order they were promoted (rollback pops)
  <version>/         the model unit (model file, model_info.json, preprocessor.skops,
                     schema.yaml), metrics.json, the drift reference (reference.json,
                     reference.parquet) and version.json (created, data sha256, metrics,
                     threshold, MLflow run and registered version, where it came from)

A version's files never change after it is registered; only registry.json does. `open_model`
resolves the champion (or a named version) and verifies that version's files against the
folder's manifest, without hashing the other versions.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsec_cli.artifacts.layout import TrainFiles, stage_dir
from netsec_cli.artifacts.manifest import MANIFEST, Manifest
from netsec_cli.errors import InputError

MODELS = "models"
TRAIN_FIRST = "run `netsec train` (or `netsec run`) first"


@dataclass
class RegistryState:
    """Which version holds each alias, and the champions in promotion order."""

    champion: str | None = None
    challenger: str | None = None
    history: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"champion": self.champion, "challenger": self.challenger, "history": list(self.history)}

    def aliases(self, version: str) -> list[str]:
        """The aliases `version` holds (champion, challenger)."""
        return [name for name, holder in (("champion", self.champion), ("challenger", self.challenger)) if holder == version]


@dataclass(frozen=True)
class ModelsFiles:
    """artifacts/models (published or staging): registry.json and one folder per version."""

    folder: Path

    @property
    def registry(self) -> Path:
        return self.folder / "registry.json"

    def version_dir(self, version: str) -> Path:
        """The folder of `version` (a positive integer as text)."""
        if not version.isdigit() or int(version) < 1:
            raise InputError(f"model version {version!r} is not a positive whole number", hint="see `netsec models list`")
        return self.folder / str(int(version))

    def unit(self, version: str) -> TrainFiles:
        """The model unit of `version`, viewed with the file names train uses."""
        return TrainFiles(self.version_dir(version))

    def version_info_file(self, version: str) -> Path:
        return self.version_dir(version) / "version.json"

    def versions(self) -> list[str]:
        """Registered versions, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [p.name for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit() and (p / "version.json").is_file()]
        return sorted(found, key=int)

    def next_version(self) -> str:
        versions = self.versions()
        return str(int(versions[-1]) + 1 if versions else 1)

    def state(self) -> RegistryState:
        """registry.json, or an empty state when there is none yet."""
        if not self.registry.is_file():
            return RegistryState()
        try:
            raw = json.loads(self.registry.read_text(encoding="utf-8"))
            return RegistryState(raw.get("champion"), raw.get("challenger"), [str(v) for v in raw.get("history", [])])
        except (OSError, ValueError, AttributeError, TypeError):
            raise InputError(f"corrupt model registry {self.registry}", hint=TRAIN_FIRST) from None

    def version_info(self, version: str) -> dict[str, Any]:
        """version.json of `version`; InputError (exit 2) naming `netsec models list` when unknown."""
        path = self.version_info_file(version)
        if not path.is_file():
            known = ", ".join(self.versions()) or "none"
            raise InputError(f"no model version {version} in {self.folder} (versions: {known})", hint="see `netsec models list`")
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            raise InputError(f"corrupt model version file {path}", hint="promote or train another version") from None


def models_dir(artifacts: Path) -> Path:
    """Where the registry is published: artifacts/models."""
    return stage_dir(artifacts, MODELS)


def published_models(artifacts: Path) -> ModelsFiles:
    """The published registry (possibly empty: no folder yet)."""
    return ModelsFiles(models_dir(artifacts))


def copy_registry(published: ModelsFiles, staging: Path) -> ModelsFiles:
    """Fill an empty staging folder with the published registry's files (hard links where the
    filesystem allows: versions never change), so a registry change republishes everything."""
    if published.folder.is_dir():
        for source in published.folder.rglob("*"):
            if source.is_symlink() or not source.is_file() or source.name == MANIFEST:
                continue
            target = staging / source.relative_to(published.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
    return ModelsFiles(staging)


def resolve_version(models: ModelsFiles, version: str | None, needed_by: str) -> str:
    """`version` when given and registered, else the champion (InputError, exit 2, when there is none)."""
    if version is not None:
        models.version_info(version)
        return str(int(version))
    champion = models.state().champion
    if champion is None:
        raise InputError(f"no champion model in {models.folder}", hint=f"run `netsec train` before `netsec {needed_by}`")
    return champion


def verified_unit(artifacts: Path, version: str | None, needed_by: str) -> tuple[TrainFiles, dict[str, str]]:
    """The unit of `version` (default: the champion), its files checked against the registry's
    manifest, with the sha256 the manifest records for each of the version's files (by name)."""
    models = published_models(artifacts)
    try:
        manifest = Manifest.read(models.folder)
    except InputError as exc:  # a corrupt manifest: training again rewrites it
        raise InputError(exc.message, hint="run `netsec train` again") from None
    if manifest is None:
        raise InputError(f"no trained model in {models.folder}", hint=f"run `netsec train` before `netsec {needed_by}`")
    chosen = resolve_version(models, version, needed_by)
    prefix = f"{chosen}/"
    entries = [e for e in manifest.files if e.path.startswith(prefix) or e.path == models.registry.name]
    scoped = Manifest(manifest.stage, manifest.created, tuple(entries))
    changed = scoped.verify(models.folder)
    if changed:
        raise InputError(
            f"model version {chosen} in {models.folder} changed since it was registered ({', '.join(changed)})",
            hint="promote another version (`netsec models promote`) or train again",
        )
    return models.unit(chosen), {e.path[len(prefix) :]: e.sha256 for e in entries if e.path.startswith(prefix)}
