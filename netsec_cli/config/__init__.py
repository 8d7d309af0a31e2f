"""Typed configuration: config/config.yaml loaded into pydantic models, validated once, up front.

Lookup order for the file: `--config PATH`, then `NETSEC_CONFIG`, then `./config/config.yaml`.
Relative paths in the file resolve against `paths.root`, which itself is relative to the folder
holding config.yaml (default `..`, i.e. the project folder). Secrets never live here: they come
from the sops-encrypted credentials file first (`netsec secrets set`), then the environment,
then a `.env` beside the project, read with python-dotenv without overriding the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from netsec_cli.config.base import Section, available_cpus
from netsec_cli.config.pipeline import (
    AgentsConfig,
    DataConfig,
    InputConfig,
    ModelConfig,
    OptimizationConfig,
    PathsConfig,
    PredictConfig,
    SplitConfig,
    TransformConfig,
    ValidationConfig,
)
from netsec_cli.config.s3_location import S3Location
from netsec_cli.config.services import (
    AwsConfig,
    ComputeConfig,
    LoggingConfig,
    MongoConfig,
    SecretsConfig,
    ServeConfig,
    TrackingConfig,
)
from netsec_cli.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "AgentsConfig",
    "AwsConfig",
    "ComputeConfig",
    "Config",
    "DataConfig",
    "InputConfig",
    "LoggingConfig",
    "ModelConfig",
    "MongoConfig",
    "OptimizationConfig",
    "PathsConfig",
    "PredictConfig",
    "S3Location",
    "SecretsConfig",
    "ServeConfig",
    "SplitConfig",
    "TrackingConfig",
    "TransformConfig",
    "ValidationConfig",
    "available_cpus",
    "find_config_file",
    "load_config",
    "parse_config",
    "redacted_dump",
]

CONFIG_ENV = "NETSEC_CONFIG"
DEFAULT_CONFIG = Path("config") / "config.yaml"
ARTIFACTS_CACHE = ".netsec-cache"  # under the project root: working copies of s3:// artifacts roots


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
    def artifacts_remote(self) -> S3Location | None:
        """The S3 bucket and prefix of an `s3://` artifacts root (the source of truth), else None."""
        return self.paths.artifacts_location

    @property
    def artifacts_dir(self) -> Path:
        """The local artifacts folder: `paths.artifacts`, or the working copy of an `s3://` root
        (`<root>/.netsec-cache/s3/<bucket>/<prefix>`)."""
        remote = self.artifacts_remote
        if remote is None:
            return self.resolve(self.paths.artifacts)
        return self.root.joinpath(ARTIFACTS_CACHE, "s3", remote.bucket, *remote.prefix.split("/"))

    @property
    def logs_dir(self) -> Path:
        return self.resolve(self.paths.logs)


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """Return the config file to use, or None to run on built-in defaults."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"config file not found: {path}", hint="pass an existing --config PATH"
            )
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
