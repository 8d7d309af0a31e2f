"""`netsec secrets init|show|check|rotate` as plain functions returning small results.

Plaintext credentials only ever live in memory: they are encrypted in-process (built-in backend)
or piped into sops, checked by decrypting the result in memory, and only then is the encrypted
file written atomically. Replaced files (credentials, age keys) are kept as `.bak-<UTC time>`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from netsec_cli.artifacts import atomic_write
from netsec_cli.config import Config
from netsec_cli.errors import NetsecError, SecretsError
from netsec_cli.logging_setup import stage_log
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import age, checks, sopsconfig, sopsfile
from netsec_cli.secrets.age import AgeIdentity, Identities
from netsec_cli.secrets.backends import Backend, select_backend
from netsec_cli.secrets.credentials import (
    AwsCredentials,
    credentials_from_tree,
    credentials_tree,
    decrypt_values,
    read_encrypted,
)
from netsec_cli.secrets.keys import SecretsPaths, relative_to_root, secrets_paths
from netsec_cli.secrets.tree import FormatError, detect_format

log = logging.getLogger("netsec_cli.secrets.provision")
MASK = "********"


@dataclass(frozen=True)
class InitResult:
    credentials_file: str
    key_file: str
    key_created: bool
    recipient: str
    sops_config: str
    backend: str
    stored_keys: list[str]
    backup: str | None
    verified: bool


@dataclass(frozen=True)
class StoredValue:
    key: str
    value: str


@dataclass(frozen=True)
class ShowResult:
    credentials_file: str
    backend: str
    key_file: str
    recipients: list[str]
    lastmodified: str
    sops_version: str
    values: list[StoredValue]


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    credentials_file: str
    credentials_exists: bool
    decrypts: bool
    backend: str
    key_file: str
    key_file_exists: bool
    key_file_mode: str | None
    recipients: list[str]
    git_checked: bool
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    sops_version: str | None = None
    sops_path: str | None = None


@dataclass(frozen=True)
class RotateResult:
    credentials_file: str
    key_file: str
    old_recipient: str | None
    new_recipient: str
    key_backup: str | None
    credentials_backup: str
    sops_config: str
    backend: str
    verified: bool


# ---------------------------------------------------------------- shared steps


def backup_file(path: Path) -> Path:
    """Copy `path` to `<name>.bak-<UTC time>` beside it (mode kept), never overwriting a backup."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
        counter += 1
    shutil.copy2(path, target)
    return target


def _encrypt_verified(
    backend: Backend, document: dict[str, Any], identity: AgeIdentity, paths: SecretsPaths, others: Sequence[str] = ()
) -> bytes:
    """Encrypt the whole `document` for `identity` (and `others`), then prove in memory that it decrypts to it."""
    fmt = detect_format(paths.credentials.name)
    data = backend.encrypt(document, [identity.recipient, *others], fmt)
    values = backend.decrypt(data, fmt, Identities(inline=(identity.text,)), paths.credentials)
    if values != document:
        raise SecretsError(f"verification failed: the encrypted {paths.credentials} does not decrypt to the input")
    return data


def _write_encrypted(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def _verify_on_disk(config: Config, paths: SecretsPaths, document: dict[str, Any]) -> None:
    identities = Identities(files=(paths.key_file,))
    values = decrypt_values(config, paths.credentials, identities=identities)
    if values != document:
        raise SecretsError(f"verification failed: {paths.credentials} does not decrypt to the stored credentials")


def _register(credentials: AwsCredentials) -> None:
    for value in (credentials.access_key_id, credentials.secret_access_key, credentials.session_token):
        register_secret(value)


# ---------------------------------------------------------------- init


def refuse_existing(config: Config, force: bool) -> None:
    """SecretsError when credentials exist and `force` is not set (checked before any prompt)."""
    path = secrets_paths(config).credentials
    if path.exists() and not force:
        raise SecretsError(
            f"credentials file {path} already exists",
            hint="pass --force to replace it (the old file is kept as a backup), or `netsec secrets rotate`",
        )


def init_secrets(config: Config, credentials: AwsCredentials, *, force: bool = False) -> InitResult:
    """Create the age key if needed, encrypt `credentials` to it, write `.sops.yaml` and the file."""
    _register(credentials)
    refuse_existing(config, force)
    paths = secrets_paths(config)
    backend = select_backend(config)
    with stage_log("secrets.init", credentials_file=paths.credentials, backend=backend.name) as summary:
        key_created = not paths.key_file.is_file()
        identity = age.generate_identity() if key_created else age.read_identity(paths.key_file)
        data = _encrypt_verified(backend, credentials_tree(credentials), identity, paths)
        if key_created:
            age.write_identity(paths.key_file, identity)
        backup = backup_file(paths.credentials) if paths.credentials.exists() else None
        _write_encrypted(paths.credentials, data)
        relative = relative_to_root(paths.credentials, paths.root)
        sopsconfig.write_rule(paths.sops_config, relative, [identity.recipient])
        _verify_on_disk(config, paths, credentials_tree(credentials))
        stored = [f"aws.{k}" for k in credentials_tree(credentials)["aws"]]
        summary.update(recipient=identity.recipient, key_created=key_created, backup=backup)
    return InitResult(
        credentials_file=str(paths.credentials),
        key_file=str(paths.key_file),
        key_created=key_created,
        recipient=identity.recipient,
        sops_config=str(paths.sops_config),
        backend=backend.name,
        stored_keys=stored,
        backup=str(backup) if backup else None,
        verified=True,
    )


def credentials_from_env(env: dict[str, str] | None = None, default_region: str | None = None) -> AwsCredentials:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (or AWS_DEFAULT_REGION) / AWS_SESSION_TOKEN."""
    env = dict(os.environ if env is None else env)
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    values = {name: env.get(name, "").strip() for name in names}
    for value in values.values():
        register_secret(value)
    missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not values[name]]
    if missing:
        raise SecretsError(f"--from-env needs {' and '.join(missing)} in the environment")
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or default_region
    key_id, secret, token = (values[name] for name in names)
    return make_credentials(key_id, secret, region, token)


def make_credentials(key_id: str, secret: str, region: str | None, session_token: str | None = None) -> AwsCredentials:
    """Validated credentials (no whitespace inside, both keys present)."""
    key_id, secret = key_id.strip(), secret.strip()
    register_secret(key_id)
    register_secret(secret)
    for name, value in (("access key id", key_id), ("secret access key", secret)):
        if not value:
            raise SecretsError(f"the AWS {name} is empty")
        if any(c.isspace() for c in value):
            raise SecretsError(f"the AWS {name} contains whitespace")
    return AwsCredentials(
        access_key_id=key_id,
        secret_access_key=secret,
        region=(region or "").strip() or None,
        session_token=(session_token or "").strip() or None,
    )


# ---------------------------------------------------------------- show


def redact_value(key: str, value: Any) -> str:
    """What `show` prints: a partial access key id (AKIA…XY), the region, everything else masked."""
    if key.endswith("access_key_id") and isinstance(value, str):
        return f"{value[:4]}…{value[-2:]}" if len(value) >= 12 else MASK
    if key.endswith("region") and isinstance(value, str):
        return value
    return MASK


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), value)]


def file_metadata(path: Path) -> sopsfile.Metadata:
    try:
        return sopsfile.read_metadata(read_encrypted(path), detect_format(path.name))
    except (FormatError, UnicodeDecodeError) as exc:
        raise SecretsError(f"{path} is not a readable sops file: {exc}") from None


def show_secrets(config: Config) -> ShowResult:
    """Decrypt (to prove integrity) and describe the stored keys with redacted values."""
    paths = secrets_paths(config)
    metadata = file_metadata(paths.credentials)
    backend = select_backend(config)
    values = decrypt_values(config, paths.credentials, backend=backend)
    return ShowResult(
        credentials_file=str(paths.credentials),
        backend=backend.name,
        key_file=str(paths.key_file),
        recipients=[entry.recipient for entry in metadata.age],
        lastmodified=metadata.lastmodified,
        sops_version=metadata.version,
        values=[StoredValue(k, redact_value(k, v)) for k, v in _flatten(values)],
    )


# ---------------------------------------------------------------- check


def check_secrets(config: Config) -> CheckResult:
    """Can we decrypt? Is the key private? Would git commit a key or plaintext? Never raises for those."""
    paths = secrets_paths(config)
    warnings: list[str] = []
    error: str | None = None
    backend_name, recipients, decrypts, encrypted = config.secrets.backend, [], False, False
    sops_version: str | None = None
    sops_path: str | None = None
    key_exists = paths.key_file.is_file()
    mode = f"{paths.key_file.stat().st_mode & 0o777:04o}" if key_exists else None
    if key_exists and (warning := checks.key_mode_warning(paths.key_file)):
        warnings.append(warning)
    try:
        backend = select_backend(config)  # reported even before there is a file to decrypt
        backend_name, sops_version, sops_path = backend.name, backend.version, backend.executable
        metadata = file_metadata(paths.credentials)
        encrypted = True
        recipients = [entry.recipient for entry in metadata.age]
        values = decrypt_values(config, paths.credentials, backend=backend)
        if "aws" in values:  # a file holding only other names (`secrets set`) has no AWS block to check
            credentials_from_tree(values, paths.credentials)
        decrypts = True
    except NetsecError as exc:
        error = str(exc)
    warnings.extend(_sops_config_warnings(paths, recipients))
    git_checked = checks.in_git_work_tree(paths.root)
    if git_checked:
        plaintexts = checks.plaintext_candidates(paths.root, paths.credentials, encrypted)
        warnings.extend(checks.git_warnings(paths.root, paths.key_file, plaintexts))
    for warning in warnings:
        log.debug("secrets check: %s", warning)
    return CheckResult(
        ok=decrypts,
        credentials_file=str(paths.credentials),
        credentials_exists=paths.credentials.is_file(),
        decrypts=decrypts,
        backend=backend_name,
        key_file=str(paths.key_file),
        key_file_exists=key_exists,
        key_file_mode=mode,
        recipients=recipients,
        git_checked=git_checked,
        warnings=warnings,
        error=error,
        sops_version=sops_version,
        sops_path=sops_path,
    )


def _sops_config_warnings(paths: SecretsPaths, recipients: list[str]) -> list[str]:
    """The file's age recipients against those of the `.sops.yaml` rule sops would apply to it."""
    if not recipients:
        return []
    try:
        rule = sopsconfig.recipients_for(paths.sops_config, relative_to_root(paths.credentials, paths.sops_config.parent))
    except SecretsError as exc:
        return [str(exc)]
    if not rule:
        return [f"{paths.sops_config} has no creation rule for {paths.credentials}: sops would not know the recipients"]
    missing = [r for r in rule if r not in recipients]
    extra = [r for r in recipients if r not in rule]
    found = [f"not encrypted for {', '.join(missing)}"] if missing else []
    found += [f"also encrypted for {', '.join(extra)}"] if extra else []
    if found:
        fix = "`netsec secrets add-recipient`/`remove-recipient` (or `sops updatekeys`)"
        return [f"{paths.credentials} does not match {paths.sops_config}: {'; '.join(found)}: run {fix}"]
    return []


# ---------------------------------------------------------------- rotate


def rotate_secrets(config: Config) -> RotateResult:
    """New age key, credentials re-encrypted under a new data key, old key and file kept as backups."""
    paths = secrets_paths(config)
    backend = select_backend(config)
    with stage_log("secrets.rotate", credentials_file=paths.credentials, backend=backend.name) as summary:
        values = decrypt_values(config, paths.credentials, backend=backend)
        if "aws" in values:
            credentials_from_tree(values, paths.credentials)  # a malformed AWS block stops the rotation
        old = age.read_identity(paths.key_file) if paths.key_file.is_file() else None
        if old is not None and old.text.count("AGE-SECRET-KEY-") > 1:
            raise SecretsError(
                f"age key file {paths.key_file} holds several identities; rotate only replaces a single-key file",
                hint="set secrets.age_key_file (or SOPS_AGE_KEY_FILE) to a file holding just this project's key",
            )
        new = age.generate_identity()
        others = [e.recipient for e in file_metadata(paths.credentials).age if old is None or e.recipient != old.recipient]
        data = _encrypt_verified(backend, values, new, paths, others)
        key_backup = backup_file(paths.key_file) if old is not None else None
        credentials_backup = backup_file(paths.credentials)
        age.write_identity(paths.key_file, new)
        _write_encrypted(paths.credentials, data)
        relative = relative_to_root(paths.credentials, paths.root)
        sopsconfig.write_rule(paths.sops_config, relative, [new.recipient, *others])
        _verify_on_disk(config, paths, values)
        summary.update(new_recipient=new.recipient, key_backup=key_backup)
    return RotateResult(
        credentials_file=str(paths.credentials),
        key_file=str(paths.key_file),
        old_recipient=old.recipient if old else None,
        new_recipient=new.recipient,
        key_backup=str(key_backup) if key_backup else None,
        credentials_backup=str(credentials_backup),
        sops_config=str(paths.sops_config),
        backend=backend.name,
        verified=True,
    )

