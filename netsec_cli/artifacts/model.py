"""The model unit, opened and checked as one: a version of the registry (artifacts/models).

Train publishes the model file, `model_info.json`, and a copy of the preprocessor and schema it
was trained with into one stage folder (`TrainFiles`), then registers that unit as a version of
artifacts/models (`artifacts.registry`). Predict, evaluate and serve read the champion version
(or the one `--model VERSION` names) through `open_model`, so a newer artifacts/transform or
artifacts/train never pairs the model with another preprocessor, and a worse model trained later
serves nothing until it is promoted. artifacts/transform is the input of train only. `open_model_folder` applies the same checks to a
copy of the unit without a manifest (the one logged inside the MLflow model), hashing the files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts.files import sha256_file
from netsec_cli.artifacts.layout import MODEL_FILES, TrainFiles
from netsec_cli.artifacts.registry import verified_unit
from netsec_cli.errors import InputError

if TYPE_CHECKING:
    from netsec_cli.schema import Schema

RETRAIN = "run `netsec train` again"


@dataclass(frozen=True)
class ModelInfo:
    """What `model_info.json` tells a reader of the model, checked field by field."""

    kind: str
    threshold: float
    feature_types: tuple[str, ...]
    feature_names: tuple[str, ...]
    preprocessor_sha256: str

    @classmethod
    def read(cls, path: Path) -> ModelInfo:
        """Parse `path`; InputError naming it (and `netsec train`) when it is not valid model info."""
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise _corrupt(path, "not JSON") from None
        if not isinstance(raw, dict):
            raise _corrupt(path, "not a JSON object")
        kind = _field(raw, "type", path)
        if kind not in MODEL_FILES:
            raise _corrupt(path, f"'type' {kind!r} is not one of {', '.join(MODEL_FILES)}")
        threshold = _field(raw, "threshold", path)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise _corrupt(path, f"'threshold' {threshold!r} is not a number from 0 to 1")
        types, names = _field(raw, "feature_types", path), raw.get("feature_names", [])
        if not _strings(types) or not types:
            raise _corrupt(path, "'feature_types' is not a list of strings")
        if not _strings(names) or len(names) != len(types):
            raise _corrupt(path, f"'feature_names' is not a list of {len(types)} strings")
        digest = raw.get("preprocessor_sha256")
        if not isinstance(digest, str):
            raise _corrupt(path, "'preprocessor_sha256' is missing")
        return cls(kind, float(threshold), tuple(types), tuple(names), digest)


def _corrupt(path: Path, problem: str) -> InputError:
    return InputError(f"corrupt model info {path}: {problem}", hint=RETRAIN)


def _field(raw: dict[str, Any], key: str, path: Path) -> Any:
    value = raw.get(key)
    if value is None:
        raise _corrupt(path, f"{key!r} is missing")
    return value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True)
class ModelFiles:
    """The verified model unit: the model file, its info, and the preprocessor and schema it was trained with."""

    train: TrainFiles
    info: ModelInfo
    version: str | None = None  # the registry version (None for a folder outside the registry)

    @property
    def model(self) -> Path:
        return self.train.model_path(self.info.kind)

    @property
    def preprocessor(self) -> Path:
        return self.train.preprocessor

    def load_schema(self) -> Schema:
        try:
            return self.train.load_schema()
        except InputError as exc:
            raise InputError(exc.message, hint=RETRAIN) from None


def open_model(artifacts: Path, needed_by: str, version: str | None = None) -> ModelFiles:
    """The champion (or `version`) of the registry, its files verified against the registry's
    manifest, every file of the unit present and the preprocessor the one `model_info.json` says
    the model was trained with (InputError, exit 2)."""
    unit, digests = verified_unit(artifacts, version, needed_by)
    files = _verified(unit, lambda path: path.name in digests, lambda path: digests.get(path.name))
    return ModelFiles(files.train, files.info, unit.folder.name)


def open_model_folder(folder: Path) -> ModelFiles:
    """A model unit folder without a manifest (the copy inside a logged MLflow model), checked as
    `open_model` checks artifacts/train: every unit file present, and the preprocessor's sha256 the
    one `model_info.json` names (InputError, exit 2)."""
    return _verified(TrainFiles(folder), Path.is_file, sha256_file)


def _verified(train: TrainFiles, present: Callable[[Path], bool], digest: Callable[[Path], str | None]) -> ModelFiles:
    """The model unit in `train`, given how to tell that a file is part of it and its sha256."""
    if not present(train.model_info):
        raise InputError(f"the model in {train.folder} has no {train.model_info.name}", hint=RETRAIN)
    info = ModelInfo.read(train.model_info)
    missing = [path.name for path in train.unit_files(info.kind) if not present(path)]
    if missing:
        raise InputError(f"the model in {train.folder} has no {', '.join(missing)}", hint=RETRAIN)
    if digest(train.preprocessor) != info.preprocessor_sha256:
        raise InputError(f"the model in {train.folder} was trained with a different preprocessor than {train.preprocessor}", hint=RETRAIN)
    return ModelFiles(train, info)
