"""The one place that builds boto3 sessions and S3 clients.

The caller passes the credentials (anything with the `AwsCredentials` attributes; the runner
decrypts them from `config/aws_credentials.yaml`), or None for boto3's standard chain
(environment, shared profile, instance role). The endpoint is `aws.endpoint_url` when set, else
whatever boto3 finds itself (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, profile `endpoint_url`),
else AWS. Every secret key met here is registered with the log redactor.
"""

from __future__ import annotations

from typing import Any, Protocol

from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.redaction import register_secret

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60
AWS_HOST_SUFFIX = ".amazonaws.com"


class AwsCredentials(Protocol):
    """The AWS keys a session is built from (read-only attributes)."""

    @property
    def access_key_id(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...
    @property
    def session_token(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


def build_session(config: Config, credentials: AwsCredentials | None) -> Any:
    """A boto3 Session holding `credentials`, or the standard chain's when None."""
    from botocore.exceptions import ProfileNotFound

    try:
        return _session(config, credentials)
    except ProfileNotFound as exc:
        raise InputError(
            f"AWS profile {exc.kwargs.get('profile')!r} not found",
            hint="unset AWS_PROFILE or add that profile to ~/.aws/config",
        ) from None


def chain_has_credentials(config: Config) -> bool:
    """True when boto3's standard chain finds credentials (environment, shared files, profile, container or instance role)."""
    return build_session(config, None).get_credentials() is not None


def shared_credential_files() -> tuple[str, str]:
    """The shared credentials and config files boto3's chain reads, as it names them
    (`AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else `~/.aws/credentials` / `~/.aws/config`)."""
    import botocore.session

    session = botocore.session.Session()
    return str(session.get_config_variable("credentials_file")), str(session.get_config_variable("config_file"))


def _session(config: Config, creds: AwsCredentials | None) -> Any:
    import boto3

    if creds is None:
        session = boto3.session.Session(region_name=config.aws.region)
    else:
        register_secret(creds.secret_access_key)
        register_secret(creds.session_token)
        session = boto3.session.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=creds.region or config.aws.region,
        )
    found = session.get_credentials()
    if found is not None:
        register_secret(found.secret_key)
        register_secret(found.token)
    return session


def client_config(config: Config) -> Any:
    """botocore settings: standard retries (`aws.retries`), bounded timeouts, a big enough pool."""
    from botocore.config import Config as BotoConfig

    return BotoConfig(
        retries={"total_max_attempts": config.aws.retries + 1, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        max_pool_connections=max(10, config.aws.max_concurrency * 2),
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def s3_client(config: Config, credentials: AwsCredentials | None) -> Any:
    """An S3 client for `config.aws` signing with `credentials` (path-style addressing on non-AWS endpoints)."""
    session = build_session(config, credentials)
    endpoint = config.aws.endpoint_url
    client = session.client("s3", endpoint_url=endpoint, config=client_config(config))
    if _is_custom_endpoint(client.meta.endpoint_url):
        # MinIO, LocalStack, moto and IP endpoints expect path-style URLs (no bucket subdomain).
        from botocore.config import Config as BotoConfig

        style = BotoConfig(s3={"addressing_style": "path"})
        client = session.client(
            "s3", endpoint_url=client.meta.endpoint_url, config=client_config(config).merge(style)
        )
    return client


def _is_custom_endpoint(url: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    return not host.endswith(AWS_HOST_SUFFIX)
