"""AWS credentials <-> the encrypted credentials file, decrypted in memory only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsec_cli.config import Config
from netsec_cli.errors import SecretsError
from netsec_cli.redaction import register_secret
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import Backend, select_backend
from netsec_cli.secrets.keys import decryption_identities, secrets_paths
from netsec_cli.secrets.tree import detect_format

FIELDS = ("access_key_id", "secret_access_key", "region", "session_token")


@dataclass(frozen=True)
class AwsCredentials:
    """AWS keys held in memory only; repr never shows the values."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str | None = None
    session_token: str | None = field(default=None, repr=False)


def credentials_tree(credentials: AwsCredentials) -> dict[str, Any]:
    """The plaintext document stored encrypted: `aws: {access_key_id, secret_access_key, region}`."""
    aws: dict[str, Any] = {
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
    }
    if credentials.region:
        aws["region"] = credentials.region
    if credentials.session_token:
        aws["session_token"] = credentials.session_token
    return {"aws": aws}


def has_aws_credentials(values: dict[str, Any]) -> bool:
    """Whether a decrypted document holds AWS keys at all (an `aws` block or flat `aws_*` keys)."""
    return isinstance(values.get("aws"), dict) or any(f"aws_{name}" in values for name in FIELDS)


def credentials_from_tree(values: dict[str, Any], source: Path) -> AwsCredentials:
    """Read `aws.*` (or flat `aws_*`) keys from a decrypted document."""
    section = values.get("aws")
    if isinstance(section, dict):
        found = {name: section.get(name) for name in FIELDS}
    else:
        found = {name: values.get(f"aws_{name}") for name in FIELDS}
    for name in ("access_key_id", "secret_access_key"):
        if not isinstance(found[name], str) or not found[name]:
            raise SecretsError(f"{source} has no aws.{name}", hint="re-run `netsec secrets init --force`")
    for name in ("region", "session_token"):
        if found[name] is not None and not isinstance(found[name], str):
            raise SecretsError(f"{source}: aws.{name} must be a string")
    for value in found.values():
        register_secret(value)
    return AwsCredentials(
        access_key_id=found["access_key_id"],
        secret_access_key=found["secret_access_key"],
        region=found["region"] or None,
        session_token=found["session_token"] or None,
    )


def read_encrypted(path: Path) -> bytes:
    """The encrypted file's bytes, or a SecretsError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SecretsError(f"credentials file {path} not found", hint="run `netsec secrets init`") from None
    except OSError as exc:
        raise SecretsError(f"cannot read credentials file {path}: {exc.strerror}") from None


def decrypt_values(
    config: Config, path: Path, *, identities: Identities | None = None, backend: Backend | None = None
) -> dict[str, Any]:
    """Decrypt any sops YAML/JSON file in memory to plain values."""
    data = read_encrypted(path)
    backend = backend or select_backend(config)
    identities = identities or decryption_identities(secrets_paths(config))
    return backend.decrypt(data, detect_format(path.name), identities, path)


def decrypt_aws_credentials(config: Config, path: Path) -> AwsCredentials:
    """Decrypt the credentials file in memory (SecretsError, exit 2, on a bad key or tampering)."""
    return credentials_from_tree(decrypt_values(config, path), path)
