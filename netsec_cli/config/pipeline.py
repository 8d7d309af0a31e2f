"""Sections of the pipeline itself: paths, data, split, validation, transform, model, agents, input, predict."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from netsec_cli.config.base import Section, available_cpus
from netsec_cli.config.s3_location import S3Location, is_s3_url, parse_s3_url


class PathsConfig(Section):
    root: str = ".."
    # a folder, or `s3://bucket[/prefix]`: stages then pull their inputs from and push their
    # outputs to that location, working in a local copy (Config.artifacts_dir)
    artifacts: str = "artifacts"
    logs: str = "logs"

    @field_validator("artifacts")
    @classmethod
    def _s3_url_well_formed(cls, value: str) -> str:
        if is_s3_url(value):
            try:
                parse_s3_url(value)
            except ValueError as exc:
                raise PydanticCustomError("s3_url", str(exc)) from None
        return value

    @property
    def artifacts_location(self) -> S3Location | None:
        """`artifacts` as an S3 location when it is an `s3://` URL, else None (a local folder)."""
        return parse_s3_url(self.artifacts) if is_s3_url(self.artifacts) else None


class DataConfig(Section):
    source: str = "synthetic"
    schema_file: str | None = Field(default=None, alias="schema")
    target: str = "label"
    normal_value: str | int | float = "normal"
    drop_columns: list[str] = Field(default_factory=lambda: ["difficulty"])
    synthetic_rows: int = Field(default=20000, ge=100)
    synthetic_seed: int = 42

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True
    )


class SplitConfig(Section):
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = 42
    stratify: bool = True


class ValidationConfig(Section):
    max_null_ratio: float = Field(default=0.2, ge=0.0, le=1.0)
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    categorical_test: Literal["chi2", "psi"] = "chi2"
    psi_threshold: float = 0.2
    fail_on_drift: bool = True
    sample_rows: int = Field(default=200_000, ge=1000)


class TransformConfig(Section):
    imputer_neighbors: int = Field(default=3, ge=1)
    imputer_max_rows: int = Field(default=10000, ge=1)
    fit_max_rows: int = Field(default=500_000, ge=1)
    scaler: Literal["robust", "standard", "none"] = "robust"
    smote: bool = False
    smote_seed: int = 42
    max_categories: int | None = Field(default=None, ge=1)
    categorical_encoding: Literal["native", "onehot"] = "native"

    @model_validator(mode="after")
    def _smote_needs_onehot(self) -> TransformConfig:
        if self.smote and self.categorical_encoding == "native":
            raise ValueError(
                "smote: true needs categorical_encoding: onehot (a row interpolated between two "
                "category codes is meaningless)"
            )
        return self


class OptimizationConfig(Section):
    """`model.optimization`: hyperparameter tuning (netsec_cli.models.tuning)."""

    algorithm: Literal["none", "tpe", "random"] = "none"
    n_trials: int = Field(default=30, ge=1)
    timeout: float | None = Field(default=600.0, gt=0.0)
    metric: Literal["average_precision", "roc_auc", "f1", "log_loss"] = (
        "average_precision"
    )


class ModelConfig(Section):
    type: Literal["xgboost", "catboost"] = "xgboost"
    hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {
            "n_estimators": 400,
            "max_depth": 8,
            "learning_rate": 0.1,
            "subsample": 0.9,
            "colsample_bytree": 0.8,
            "tree_method": "hist",
        }
    )
    catboost: dict[str, Any] = Field(
        default_factory=lambda: {
            "iterations": 600,
            "depth": 6,
            "learning_rate": 0.1,
            "l2_leaf_reg": 3.0,
        }
    )
    early_stopping_rounds: int = Field(default=30, ge=1)
    validation_fraction: float = Field(default=0.1, gt=0.0, lt=0.5)
    seed: int = 42
    alert_budget: float = Field(default=0.02, gt=0.0, lt=0.5)
    cv_folds: int = Field(default=5, ge=2, le=20)
    # a larger training split is trained from an iterator over its rows (XGBoost's quantile DMatrix
    # built chunk by chunk) instead of one in-memory array
    max_in_memory_rows: int = Field(default=2_000_000, ge=1000)
    optimization: OptimizationConfig = Field(default_factory=OptimizationConfig)

    _threads: int | None = PrivateAttr(default=None)  # compute.threads, set by Config

    @field_validator("hyperparameters", "catboost")
    @classmethod
    def _known_keys_in_domain(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        from netsec_cli.hyperparameters import check_domains

        checked, problems = check_domains(info.field_name, value)
        if problems:
            raise PydanticCustomError(
                "domain", "; ".join(problems), {"problems": problems}
            )
        return checked

    @property
    def threads(self) -> int:
        """Threads the model library may use: `compute.threads` of the Config this belongs to."""
        return self._threads or available_cpus()

    @property
    def parameters(self) -> dict[str, Any]:
        """The hyperparameters of `type`: `catboost` for CatBoost, `hyperparameters` for XGBoost."""
        return self.catboost if self.type == "catboost" else self.hyperparameters


class IngestionAgentConfig(Section):
    batch_size: int = Field(default=10000, ge=1)
    retries: int = Field(default=3, ge=0)
    backoff_seconds: float = Field(default=0.5, ge=0.0)


class DriftAgentConfig(Section):
    threshold: float = Field(default=0.05, gt=0.0, lt=1.0)
    # rows of the training split kept with each model as the drift reference (seeded sample)
    reference_rows: int = Field(default=20_000, ge=100)


class RetrainingAgentConfig(Section):
    """`agents.retraining_agent`: when `netsec monitor` retrains, and when its challenger wins."""

    trigger_drift_threshold: float = Field(default=0.07, gt=0.0, le=1.0)
    metric: Literal["f1", "recall", "precision", "accuracy", "roc_auc", "pr_auc"] = "f1"
    min_improvement: float = Field(default=0.01, ge=0.0, le=1.0)
    max_false_alarm_increase: float = Field(default=0.01, ge=0.0, le=1.0)


class AgentsConfig(Section):
    data_ingestion_agent: IngestionAgentConfig = Field(
        default_factory=IngestionAgentConfig
    )
    drift_detection_agent: DriftAgentConfig = Field(default_factory=DriftAgentConfig)
    retraining_agent: RetrainingAgentConfig = Field(
        default_factory=RetrainingAgentConfig
    )


class InputConfig(Section):
    """`input`: limits every input file read by etl, predict and evaluate must keep."""

    # one cell of a text, Parquet or .npy input may hold at most this many bytes (UTF-8)
    max_field_bytes: int = Field(default=65536, ge=1, le=2**30)


class PredictConfig(Section):
    chunk_size: int = Field(default=100_000, ge=1)
    top: int = Field(default=10, ge=0)
    threshold: Literal["auto"] | Annotated[float, Field(gt=0.0, lt=1.0)] = "auto"
