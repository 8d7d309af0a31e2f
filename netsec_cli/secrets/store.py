"""`netsec secrets set|unset|list|get|import`: named values in the encrypted credentials file.

Every change decrypts the file in memory, changes the document (layout: `document.py`),
encrypts it for the file's own recipients through the configured backend, proves in memory that
the result decrypts to the new document, replaces the file atomically (a temporary file beside
it, then a rename: a failed or killed run leaves the previous file as it was) and decrypts the
written file once more. When the file does not exist yet, it is created as `secrets init` does:
the age key (made if missing) and its `.sops.yaml` creation rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsec_cli.artifacts import atomic_write
from netsec_cli.config import Config
from netsec_cli.errors import InputError, SecretsError
from netsec_cli.logging_setup import stage_log
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import age, document, sopsconfig, sopsfile
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import Backend, select_backend
from netsec_cli.secrets.credentials import decrypt_values, read_encrypted
from netsec_cli.secrets.keys import (
    SecretsPaths,
    decryption_identities,
    relative_to_root,
    secrets_paths,
)
from netsec_cli.secrets.tree import FormatError, detect_format


@dataclass(frozen=True)
class StoreResult:
    """What a change did: the names written or removed, which of them replaced a stored value."""

    credentials_file: str
    names: list[str]
    replaced: list[str]
    file_created: bool
    key_created: bool
    backend: str
    verified: bool


@dataclass(frozen=True)
class ListResult:
    credentials_file: str
    entries: list[document.Entry]


@dataclass(frozen=True)
class _Target:
    """Where a change is written: recipients, identities that can check it, and whether it is new."""

    recipients: list[str]
    identities: Identities
    identity: age.AgeIdentity | None
    key_created: bool


def read_document(config: Config) -> dict[str, Any]:
    """The decrypted document (SecretsError, exit 2, when the file is missing or undecryptable)."""
    return decrypt_values(config, secrets_paths(config).credentials)


def list_names(config: Config) -> ListResult:
    """The stored names and where they sit; never a value."""
    path = secrets_paths(config).credentials
    return ListResult(str(path), document.entries(read_document(config)))


def get_value(config: Config, name: str) -> str:
    """The stored value of `name` (InputError, exit 2, when it is not stored)."""
    canonical = document.check_name(name)
    value = document.lookup(read_document(config), canonical)
    if value is None:
        raise InputError(f"no secret named {name} in {secrets_paths(config).credentials}", hint="see `netsec secrets list`")
    return value


def check_value(name: str, value: str) -> str:
    """`value` registered for masking, or InputError (exit 2) when it is empty."""
    register_secret(value)
    if not value:
        raise InputError(f"the value for {name} is empty", hint="nothing was stored")
    return value


def set_values(config: Config, values: Mapping[str, str]) -> StoreResult:
    """Store each name's value (names validated, values non-empty), creating the file if needed."""
    changes: dict[str, str | None] = {}
    for name, value in values.items():
        changes[document.check_name(name)] = check_value(name, value)
    return _change(config, changes, "secrets.set")


def unset_value(config: Config, name: str) -> StoreResult:
    """Remove `name` (InputError, exit 2, when it is not stored)."""
    get_value(config, name)
    return _change(config, {document.check_name(name): None}, "secrets.unset")


def _change(config: Config, changes: dict[str, str | None], stage: str) -> StoreResult:
    paths = secrets_paths(config)
    backend = select_backend(config)
    with stage_log(stage, credentials_file=paths.credentials, names=",".join(changes)) as summary:
        exists = paths.credentials.exists()
        current = decrypt_values(config, paths.credentials, backend=backend) if exists else {}
        target = _existing_target(paths) if exists else _new_target(paths)
        updated = document.changed(current, changes)
        replaced = [name for name in changes if document.lookup(current, name) is not None]
        _write(config, backend, paths, updated, target)
        summary.update(replaced=",".join(replaced) or "-", file_created=not exists, key_created=target.key_created)
    return StoreResult(
        credentials_file=str(paths.credentials),
        names=list(changes),
        replaced=replaced,
        file_created=not exists,
        key_created=target.key_created,
        backend=backend.name,
        verified=True,
    )


def _existing_target(paths: SecretsPaths) -> _Target:
    """The recipients the file is encrypted for now (kept as they are)."""
    try:
        metadata = sopsfile.read_metadata(read_encrypted(paths.credentials), detect_format(paths.credentials.name))
    except (FormatError, UnicodeDecodeError) as exc:
        raise SecretsError(f"{paths.credentials} is not a readable sops file: {exc}") from None
    recipients = [entry.recipient for entry in metadata.age]
    if not recipients:
        raise SecretsError(f"{paths.credentials} has no age recipients", hint="re-run `netsec secrets init --force`")
    return _Target(recipients, decryption_identities(paths), None, False)


def _new_target(paths: SecretsPaths) -> _Target:
    """The project's age key (generated in memory when missing), as `secrets init` uses it."""
    created = not paths.key_file.is_file()
    identity = age.generate_identity() if created else age.read_identity(paths.key_file)
    return _Target([identity.recipient], Identities(inline=(identity.text,)), identity, created)


def _write(config: Config, backend: Backend, paths: SecretsPaths, updated: dict[str, Any], target: _Target) -> None:
    """Encrypt, check in memory, replace the file atomically, check the file on disk."""
    fmt = detect_format(paths.credentials.name)
    data = backend.encrypt(updated, target.recipients, fmt)
    if backend.decrypt(data, fmt, target.identities, paths.credentials) != updated:
        raise SecretsError(f"verification failed: the encrypted {paths.credentials} does not decrypt to the input")
    if target.identity is not None:
        if target.key_created:
            age.write_identity(paths.key_file, target.identity)
        relative = relative_to_root(paths.credentials, paths.root)
        sopsconfig.write_rule(paths.sops_config, relative, target.recipients)
    with atomic_write(paths.credentials, "wb", private=True) as handle:
        handle.write(data)
    if decrypt_values(config, paths.credentials, backend=backend, identities=target.identities) != updated:
        raise SecretsError(f"verification failed: {paths.credentials} does not decrypt to the stored values")


def parse_env_file(path: Path) -> dict[str, str]:
    """The names and values of a `.env` file (no `${VAR}` expansion), each registered for masking."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise InputError(f"{path} not found")
    try:
        raw = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    values: dict[str, str] = {}
    for name, value in raw.items():
        register_secret(value)
        document.check_name(name)
        if not value:
            raise InputError(f"{path}: {name} has no value", hint="nothing was imported")
        values[name] = value
    if not values:
        raise InputError(f"{path} defines no names", hint="nothing was imported")
    return values


@dataclass(frozen=True)
class ImportResult:
    """`secrets import`: what was stored from which file, and whether the plaintext was deleted."""

    source: str
    stored: StoreResult
    deleted: bool


def import_env_file(config: Config, path: Path) -> StoreResult:
    """Store every name of the `.env` file at `path` in one verified write."""
    return set_values(config, parse_env_file(path))


def delete_plaintext(path: Path) -> None:
    """Unlink the imported file: a plain delete, not a secure one (the bytes may stay on disk)."""
    try:
        path.unlink()
    except OSError as exc:
        raise InputError(f"cannot delete {path}: {exc.strerror or exc}") from None
