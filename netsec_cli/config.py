"""Typed configuration: config/config.yaml loaded into pydantic models, validated once, up front.

Lookup order for the file: `--config PATH`, then `NETSEC_CONFIG`, then `./config/config.yaml`.
Relative paths in the file resolve against `paths.root`, which itself is relative to the folder
holding config.yaml (default `..`, i.e. the project folder). Secrets never live here: MongoDB
URIs come from `MONGODB_URI` and AWS keys from the sops-encrypted credentials file or the
standard AWS chain. A `.env` beside the project is read with python-dotenv.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from netsec_cli.errors import ConfigError

CONFIG_ENV = "NETSEC_CONFIG"
DEFAULT_CONFIG = Path("config") / "config.yaml"


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PathsConfig(Section):
    root: str = ".."
    artifacts: str = "artifacts"
    logs: str = "logs"


class DataConfig(Section):
    source: str = "synthetic"
    schema_file: str | None = Field(default=None, alias="schema")
    target: str = "label"
    normal_value: str | int | float = "normal"
    drop_columns: list[str] = Field(default_factory=lambda: ["difficulty"])
    synthetic_rows: int = Field(default=20000, ge=100)
    synthetic_seed: int = 42

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


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
    metric: Literal["average_precision", "roc_auc", "f1", "log_loss"] = "average_precision"


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    catboost: dict[str, Any] = Field(default_factory=lambda: {"iterations": 600, "depth": 6, "learning_rate": 0.1, "l2_leaf_reg": 3.0})
    early_stopping_rounds: int = Field(default=30, ge=1)
    validation_fraction: float = Field(default=0.1, gt=0.0, lt=0.5)
    seed: int = 42
    alert_budget: float = Field(default=0.02, gt=0.0, lt=0.5)
    cv_folds: int = Field(default=5, ge=2, le=20)
    optimization: OptimizationConfig = Field(default_factory=OptimizationConfig)

    _threads: int | None = PrivateAttr(default=None)  # compute.threads, set by Config

    @field_validator("hyperparameters", "catboost")
    @classmethod
    def _known_keys_in_domain(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        from netsec_cli.hyperparameters import check_domains

        checked, problems = check_domains(info.field_name, value)
        if problems:
            raise PydanticCustomError("domain", "; ".join(problems), {"problems": problems})
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


class RetrainingAgentConfig(Section):
    trigger_drift_threshold: float = Field(default=0.07, gt=0.0, le=1.0)


class AgentsConfig(Section):
    data_ingestion_agent: IngestionAgentConfig = Field(default_factory=IngestionAgentConfig)
    drift_detection_agent: DriftAgentConfig = Field(default_factory=DriftAgentConfig)
    retraining_agent: RetrainingAgentConfig = Field(default_factory=RetrainingAgentConfig)


class InputConfig(Section):
    """`input`: limits every input file read by etl, predict and evaluate must keep."""

    # one cell of a text, Parquet or .npy input may hold at most this many bytes (UTF-8)
    max_field_bytes: int = Field(default=65536, ge=1, le=2**30)


class PredictConfig(Section):
    chunk_size: int = Field(default=100_000, ge=1)
    top: int = Field(default=10, ge=0)
    threshold: Literal["auto"] | Annotated[float, Field(gt=0.0, lt=1.0)] = "auto"


class TrackingConfig(Section):
    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str = "netsec"
    registered_model: str | None = "netsec-detector"


class LoggingConfig(Section):
    config_file: str = "config/logging.yaml"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MongoConfig(Section):
    database: str = "netsec"
    collection: str = "flows"
    query: dict[str, Any] = Field(default_factory=dict)
    projection: dict[str, Any] | None = None
    server_selection_timeout_ms: int = Field(default=5000, ge=1)
    uri_env: str = "MONGODB_URI"


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: taskset, cgroup cpusets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS)
        return max(1, os.cpu_count() or 1)


class ComputeConfig(Section):
    """`compute.threads`: threads XGBoost/CatBoost use to fit and score, and transform's KNN imputation (auto: the available CPUs)."""

    threads: Literal["auto"] | int = "auto"

    @field_validator("threads", mode="before")
    @classmethod
    def _auto_or_at_least_one(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise PydanticCustomError("threads", "must be auto or an integer ≥ 1, got {got}", {"got": _shown(value)})

    @property
    def thread_count(self) -> int:
        return available_cpus() if self.threads == "auto" else int(self.threads)


class AwsConfig(Section):
    bucket_name: str | None = None
    prefix: str = "netsec"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    sync_folders: list[str] = Field(default_factory=lambda: ["artifacts"])
    sync_after_stage: bool = False
    max_concurrency: int = Field(default=8, ge=1)
    multipart_threshold_mb: int = Field(default=8, ge=5)
    retries: int = Field(default=3, ge=0)

    @field_validator("endpoint_url")
    @classmethod
    def _http_url_with_host(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return value
        try:
            parts = urlsplit(value)
            _ = parts.port  # a port that is not a number in 0-65535 raises ValueError
            usable = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
        except ValueError:
            usable = False
        if not usable:
            raise PydanticCustomError(
                "url", "must be an http:// or https:// URL with a host, e.g. http://localhost:9000, got {got}", {"got": _shown(value)}
            )
        return value


class ServeConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_upload_mb: float = Field(default=100, gt=0)
    max_rows: int = Field(default=1_000_000, ge=1)
    auth: Literal["token", "none"] = "token"
    cors_origins: list[str] = Field(default_factory=list)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class SecretsConfig(Section):
    backend: Literal["auto", "sops", "builtin"] = "auto"
    credentials_file: str = "config/aws_credentials.yaml"
    age_key_file: str = "config/sops/age/keys.txt"
    sops_config: str = ".sops.yaml"


class Config(Section):
    """The whole of config.yaml."""

    paths: PathsConfig = Field(default_factory=PathsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    transform: TransformConfig = Field(default_factory=TransformConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    predict: PredictConfig = Field(default_factory=PredictConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    mongo: MongoConfig = Field(default_factory=MongoConfig)
    aws: AwsConfig = Field(default_factory=AwsConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _model_threads(self) -> Config:
        self.model._threads = self.compute.thread_count
        return self

    @property
    def source(self) -> Path | None:
        """The config file this was read from (None for built-in defaults)."""
        return self._source

    @property
    def root(self) -> Path:
        """The project folder every relative path in the config resolves against."""
        base = self.source.parent if self.source else Path.cwd()
        return (base / self.paths.root).resolve() if self.source else base.resolve()

    def resolve(self, path: str | Path) -> Path:
        """Resolve a config path (absolute, or relative to the project root)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def artifacts_dir(self) -> Path:
        return self.resolve(self.paths.artifacts)

    @property
    def logs_dir(self) -> Path:
        return self.resolve(self.paths.logs)


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """Return the config file to use, or None to run on built-in defaults."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}", hint="pass an existing --config PATH")
        return path.resolve()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from {CONFIG_ENV})")
        return path.resolve()
    default = Path.cwd() / DEFAULT_CONFIG
    return default.resolve() if default.is_file() else None


def _format_errors(error: ValidationError, path: Path | None) -> str:
    where = str(path) if path else "built-in defaults"
    parts = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            parts.append(f"{key}: unknown key")
        elif item["type"] == "domain":
            parts.extend(f"{key}.{problem}" for problem in item["ctx"]["problems"])
        else:
            parts.append(f"{key}: {item['msg'][:1].lower()}{item['msg'][1:]}")
    return f"invalid config {where}: " + "; ".join(parts)


def parse_config(raw: dict[str, Any], source: Path | None = None) -> Config:
    """Validate a raw mapping into a Config, listing every problem in one ConfigError."""
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None
    config._source = source
    return config


def load_config(explicit: str | Path | None = None, *, load_env: bool = True) -> Config:
    """Find, read and validate config.yaml; read `.env` from the project folder too.

    The file is read by `yamlfile.read_yaml_mapping`: at most 1 MB, no YAML anchors or aliases."""
    from netsec_cli.yamlfile import read_yaml_mapping

    path = find_config_file(explicit)
    raw = read_yaml_mapping(path, "config file") if path is not None else {}
    config = parse_config(raw, path)
    if load_env:
        _load_dotenv(config.root / ".env")
    return config


def _load_dotenv(path: Path) -> None:
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def redacted_dump(config: Config) -> dict[str, Any]:
    """The effective config as plain data, safe to print (secrets never live in it anyway)."""
    data = config.model_dump(mode="json", by_alias=True)
    data["_source"] = str(config.source) if config.source else "built-in defaults"
    data["_root"] = str(config.root)
    return data
