"""The artifact layout: every stage's folder and file names, in one place.

`artifacts/<stage>/` holds one stage's published outputs and its `manifest.json`. Each stage has a
small typed view of its folder (`EtlFiles`, `TransformFiles`, …) that names its files; a stage
writes through the view of its staging folder, and a later stage reads through `open_stage`,
which checks the folder exists and still matches its manifest. No other module spells an
artifact file name.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from netsec_cli.artifacts.manifest import MANIFEST, Manifest
from netsec_cli.artifacts.publish import published_dir
from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from netsec_cli.schema import Schema

STAGES = ("etl", "validate", "transform", "train", "predict", "models", "monitor")
StageName = Literal["etl", "validate", "transform", "train", "predict", "models", "monitor"]


@dataclass(frozen=True)
class StageFiles:
    """A stage folder (published or staging) and its manifest."""

    folder: Path

    @property
    def manifest_file(self) -> Path:
        return self.folder / MANIFEST

    @property
    def fingerprint(self) -> Path:
        """What the stage was computed from and what it reported (`runner.fingerprint`)."""
        return self.folder / "fingerprint.json"

    def manifest(self) -> Manifest:
        """The folder's manifest (InputError when it has none)."""
        manifest = Manifest.read(self.folder)
        if manifest is None:
            raise InputError(f"{self.folder} has no {MANIFEST}", hint="re-run the stage")
        return manifest

    def read_json(self, path: Path, stage: str) -> Any:
        """A JSON file of this folder; InputError naming the stage to re-run when unreadable."""
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(f"cannot read {path}", hint=f"re-run `netsec {stage}`") from None


@dataclass(frozen=True)
class EtlFiles(StageFiles):
    """artifacts/etl: every row, the train/test split and the schema."""

    @property
    def raw(self) -> Path:
        return self.folder / "raw.parquet"

    @property
    def train(self) -> Path:
        return self.folder / "train.parquet"

    @property
    def test(self) -> Path:
        return self.folder / "test.parquet"

    @property
    def schema(self) -> Path:
        return self.folder / "schema.yaml"

    def read(self, split: Literal["train", "test", "raw"]) -> pd.DataFrame:
        """One of the Parquet tables; InputError when it cannot be read."""
        import pandas as pd

        path = {"train": self.train, "test": self.test, "raw": self.raw}[split]
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise InputError(f"cannot read {path}: {exc}", hint="re-run `netsec etl`") from None

    def outputs(self) -> dict[str, Path]:
        """The published files by name."""
        return {path.name: path for path in (self.raw, self.train, self.test, self.schema)}

    def load_schema(self) -> Schema:
        from netsec_cli.schema import Schema

        return Schema.load(self.schema)


@dataclass(frozen=True)
class ValidateFiles(StageFiles):
    """artifacts/validate: the validation and drift report, and its HTML page."""

    @property
    def report(self) -> Path:
        return self.folder / "report.json"

    @property
    def page(self) -> Path:
        return self.folder / "report.html"


ARRAYS = ("X_train", "y_train", "X_test", "y_test")


@dataclass(frozen=True)
class TransformFiles(StageFiles):
    """artifacts/transform: the fitted preprocessor, its schema and the transformed arrays."""

    @property
    def preprocessor(self) -> Path:
        return self.folder / "preprocessor.skops"

    @property
    def schema(self) -> Path:
        return self.folder / "schema.yaml"

    @property
    def feature_names_file(self) -> Path:
        return self.folder / "feature_names.json"

    @property
    def info(self) -> Path:
        return self.folder / "transform.json"

    def array(self, name: str) -> Path:
        """One of X_train, y_train, X_test, y_test."""
        if name not in ARRAYS:
            raise ValueError(f"unknown array {name!r}")
        return self.folder / f"{name}.npy"

    def load_array(self, name: str, *, mmap: bool = False) -> np.ndarray:
        """An array, loaded without pickle; with `mmap`, memory-mapped read-only (rows read when used)."""
        import numpy as np

        path = self.array(name)
        try:
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {path}: {exc}", hint="re-run `netsec transform`") from None

    def load_schema(self) -> Schema:
        from netsec_cli.schema import Schema

        return Schema.load(self.schema)

    def feature_names(self) -> list[str]:
        return [str(name) for name in self.read_json(self.feature_names_file, "transform")]

    def preprocessor_sha256(self) -> str:
        """The preprocessor's sha256 as its manifest records it."""
        entry = self.manifest().entry(self.preprocessor.name)
        if entry is None:
            raise InputError(f"{self.folder} has no {self.preprocessor.name}", hint="re-run `netsec transform`")
        return entry.sha256


MODEL_FILES = {"xgboost": "model.ubj", "catboost": "model.cbm"}


@dataclass(frozen=True)
class TrainFiles(StageFiles):
    """artifacts/train: the model unit (the model, `model_info.json`, and a copy of the preprocessor
    and schema it was trained with), its metrics and report, the MLflow run.

    Predict, evaluate and serve read only this folder (`artifacts.open_model`), so the model and
    its preprocessor are published, swapped and read as one; artifacts/transform is train's input.
    """

    def model_path(self, kind: str) -> Path:
        """The model file of a `model.type` (each library's own format)."""
        if kind not in MODEL_FILES:
            raise InputError(f"unknown model type {kind!r}", hint=f"one of {', '.join(MODEL_FILES)}")
        return self.folder / MODEL_FILES[kind]

    @property
    def model_info(self) -> Path:
        return self.folder / "model_info.json"

    @property
    def preprocessor(self) -> Path:
        """The copy of the preprocessor the model was trained with."""
        return self.folder / "preprocessor.skops"

    @property
    def schema(self) -> Path:
        """The copy of the schema the model's preprocessor was fitted with."""
        return self.folder / "schema.yaml"

    def unit_files(self, kind: str) -> tuple[Path, ...]:
        """The model unit of a `model.type`: the model file, its info, the preprocessor and schema."""
        return (self.model_path(kind), self.model_info, self.preprocessor, self.schema)

    def keep_preprocessor(self, transform: TransformFiles) -> None:
        """Copy the preprocessor and schema of `transform` (verified by `open_stage`) into this
        (staging) folder, so they are published with the model trained on them."""
        for source, target in ((transform.preprocessor, self.preprocessor), (transform.schema, self.schema)):
            shutil.copyfile(source, target)

    def load_schema(self) -> Schema:
        from netsec_cli.schema import Schema

        return Schema.load(self.schema)

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def tracking(self) -> Path:
        return self.folder / "tracking.json"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def best_params(self) -> Path:
        """The tuned hyperparameters (only after `netsec train --tune`)."""
        return self.folder / "best_params.yaml"

    @property
    def reference(self) -> Path:
        """The drift reference: the training split's row count and categorical value counts."""
        return self.folder / "reference.json"

    @property
    def reference_sample(self) -> Path:
        """The drift reference's seeded sample of the training split's numeric columns."""
        return self.folder / "reference.parquet"

    def load_info(self) -> dict[str, Any]:
        return dict(self.read_json(self.model_info, "train"))


@dataclass(frozen=True)
class MonitorFiles(ValidateFiles):
    """artifacts/monitor: the last `netsec monitor`'s decision (report.json) and drift page (report.html)."""


@dataclass(frozen=True)
class PredictFiles(StageFiles):
    """artifacts/predict: the predictions of the last `netsec predict` without --output."""

    @property
    def predictions(self) -> Path:
        return self.folder / "predictions.csv"

    @property
    def summary(self) -> Path:
        return self.folder / "summary.json"


VIEWS: dict[str, type[StageFiles]] = {
    "etl": EtlFiles,
    "validate": ValidateFiles,
    "transform": TransformFiles,
    "train": TrainFiles,
    "predict": PredictFiles,
    "models": StageFiles,  # the registry: artifacts.registry.ModelsFiles
    "monitor": MonitorFiles,
}


@overload
def stage_files(folder: Path, stage: Literal["etl"]) -> EtlFiles: ...
@overload
def stage_files(folder: Path, stage: Literal["validate"]) -> ValidateFiles: ...
@overload
def stage_files(folder: Path, stage: Literal["transform"]) -> TransformFiles: ...
@overload
def stage_files(folder: Path, stage: Literal["train"]) -> TrainFiles: ...
@overload
def stage_files(folder: Path, stage: Literal["predict"]) -> PredictFiles: ...
@overload
def stage_files(folder: Path, stage: str) -> StageFiles: ...
def stage_files(folder: Path, stage: str) -> StageFiles:
    """The typed view of `folder` as the outputs of `stage` (a staging or published folder)."""
    if stage not in VIEWS:
        raise InputError(f"unknown stage {stage!r}", hint=f"one of {', '.join(STAGES)}")
    return VIEWS[stage](folder)


def tuning_storage(artifacts: Path) -> Path:
    """The Optuna study database: `artifacts/.tuning/study.db`, hidden (never published or mirrored)."""
    return artifacts / ".tuning" / "study.db"


def jobs_dir(artifacts: Path) -> Path:
    """Where `netsec serve` records its training jobs (`.jobs/<id>.json`; hidden, so never mirrored)."""
    return artifacts / ".jobs"


def stage_dir(artifacts: Path, stage: str) -> Path:
    """Where `stage` publishes: `artifacts/<stage>` (recovered if a swap was interrupted)."""
    return published_dir(artifacts, stage)


@overload
def open_stage(artifacts: Path, stage: Literal["etl"], needed_by: str) -> EtlFiles: ...
@overload
def open_stage(artifacts: Path, stage: Literal["transform"], needed_by: str) -> TransformFiles: ...
@overload
def open_stage(artifacts: Path, stage: Literal["train"], needed_by: str) -> TrainFiles: ...
@overload
def open_stage(artifacts: Path, stage: str, needed_by: str) -> StageFiles: ...
def open_stage(artifacts: Path, stage: str, needed_by: str) -> StageFiles:
    """The published outputs of an earlier stage, checked against their manifest.

    InputError (exit 2) naming the command to run when the stage never ran, and naming the
    changed files when the folder no longer matches its manifest.
    """
    folder = stage_dir(artifacts, stage)
    try:
        manifest = Manifest.read(folder)
    except InputError as exc:  # a corrupt manifest: name the command that rewrites it
        raise InputError(exc.message, hint=f"run `netsec {stage}` again") from None
    if manifest is None:
        raise InputError(f"no {stage} artifacts in {folder}", hint=f"run `netsec {stage}` before `netsec {needed_by}`")
    changed = manifest.verify(folder)
    if changed:
        raise InputError(
            f"{stage} artifacts in {folder} changed since they were written ({', '.join(changed)})",
            hint=f"re-run `netsec {stage}`",
        )
    return stage_files(folder, stage)
