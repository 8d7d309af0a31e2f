"""Run-time access to stored credentials: decrypted in memory when needed, never written in plaintext.

Every function here returns None (or nothing) when the encrypted credentials file does not
exist, so callers fall back to the environment, `.env` or boto3's standard chain; the decryption
code (and `cryptography`) is imported only when that file exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from netsec_cli.config import Config

if TYPE_CHECKING:
    from netsec_cli.secrets.credentials import AwsCredentials

log = logging.getLogger("netsec_cli.secrets.runtime")
MLFLOW_NAMES = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
_warned: set[tuple[str, str]] = set()


def _stored_document(config: Config) -> dict[str, Any] | None:
    path = config.resolve(config.secrets.credentials_file)
    if not path.is_file():
        return None
    from netsec_cli.secrets.credentials import decrypt_values

    return decrypt_values(config, path)


def load_aws_credentials(config: Config) -> AwsCredentials | None:
    """The AWS keys from `secrets.credentials_file`, or None when the file does not exist or
    holds no AWS keys (then boto3's standard chain applies)."""
    values = _stored_document(config)
    if values is None:
        return None
    from netsec_cli.secrets.credentials import (
        credentials_from_tree,
        has_aws_credentials,
    )

    if not has_aws_credentials(values):
        return None
    return credentials_from_tree(values, config.resolve(config.secrets.credentials_file))


def stored_values(config: Config, names: tuple[str, ...]) -> dict[str, str]:
    """The stored values among `names` (top-level string keys of the document), registered for masking."""
    from netsec_cli.redaction import register_secret

    values = _stored_document(config) or {}
    found = {name: values[name] for name in names if isinstance(values.get(name), str) and values[name]}
    for value in found.values():
        register_secret(value)
    return found


def stored_mongo_uri(config: Config) -> str | None:
    """The stored connection string (`mongo.uri_env`, default MONGODB_URI), which wins over the
    environment and `.env`; warns once when a plaintext `.env` defines it too."""
    name = config.mongo.uri_env
    uri = stored_values(config, (name,)).get(name)
    once = (str(config.root), name)
    if uri is not None and once not in _warned and _dotenv_defines(config, name):
        _warned.add(once)
        log.warning("a plaintext .env also defines %s; `netsec secrets import .env` moves it into the encrypted file", name)
    return uri


def _dotenv_defines(config: Config, name: str) -> bool:
    path = config.root / ".env"
    if not path.is_file():
        return False
    from dotenv import dotenv_values

    return name in dotenv_values(path, interpolate=False)


@contextlib.contextmanager
def mlflow_environment(config: Config) -> Iterator[None]:
    """MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD from the encrypted file in this process's
    environment (where MLflow reads them) for the block only; previous values are restored."""
    with scoped_environment(stored_values(config, MLFLOW_NAMES)):
        yield


@contextlib.contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
