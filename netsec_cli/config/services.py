"""Sections for the services netsec talks to and runs as: tracking, logging, MongoDB, compute, AWS, serve, secrets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from netsec_cli.config.base import Section, available_cpus, shown


class TrackingConfig(Section):
    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str = "netsec"
    registered_model: str | None = "netsec-detector"


class LoggingConfig(Section):
    config_file: str = "config/logging.yaml"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"  # json: the log files as JSON lines, for log shippers


class MongoConfig(Section):
    database: str = "netsec"
    collection: str = "flows"
    query: dict[str, Any] = Field(default_factory=dict)
    projection: dict[str, Any] | None = None
    server_selection_timeout_ms: int = Field(default=5000, ge=1)
    uri_env: str = "MONGODB_URI"


class ComputeConfig(Section):
    """`compute`: threads XGBoost/CatBoost and KNN imputation use (auto: the available CPUs), and the engine stages run on."""

    threads: Literal["auto"] | int = "auto"
    engine: Literal["local", "dask"] = "local"
    # null: a dask.distributed LocalCluster on this machine; or a running scheduler, tcp://host:8786
    scheduler_address: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0.0)
    # workers of the LocalCluster (null: one per available CPU); ignored with a scheduler_address
    local_workers: int | None = Field(default=None, ge=1)

    @field_validator("threads", mode="before")
    @classmethod
    def _auto_or_at_least_one(cls, value: Any) -> Any:
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            return value
        raise PydanticCustomError(
            "threads",
            "must be auto or an integer ≥ 1, got {got}",
            {"got": shown(value)},
        )

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
            usable = (
                parts.scheme in ("http", "https")
                and bool(parts.hostname)
                and not any(c.isspace() for c in value)
            )
        except ValueError:
            usable = False
        if not usable:
            raise PydanticCustomError(
                "url",
                "must be an http:// or https:// URL with a host, e.g. http://localhost:9000, got {got}",
                {"got": shown(value)},
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
    model: str | None = Field(default=None, pattern=r"^[1-9][0-9]*$")  # a registered version; null: the champion

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class SecretsConfig(Section):
    backend: Literal["auto", "sops", "builtin"] = "auto"
    credentials_file: str = "config/aws_credentials.yaml"
    age_key_file: str = "config/sops/age/keys.txt"
    sops_config: str = ".sops.yaml"
