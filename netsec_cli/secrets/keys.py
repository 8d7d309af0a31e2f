"""Where the secrets live: the credentials file, the age key file, `.sops.yaml`, and identities.

`SOPS_AGE_KEY_FILE` overrides `secrets.age_key_file` (as it does for sops itself); `SOPS_AGE_KEY`
adds inline identities for decryption (sops-format.md section 12).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netsec_cli.config import Config
from netsec_cli.redaction import register_secret
from netsec_cli.secrets.age import Identities

KEY_FILE_ENV = "SOPS_AGE_KEY_FILE"
INLINE_KEY_ENV = "SOPS_AGE_KEY"


@dataclass(frozen=True)
class SecretsPaths:
    """Resolved locations for one project."""

    credentials: Path
    key_file: Path
    sops_config: Path
    root: Path


def secrets_paths(config: Config) -> SecretsPaths:
    """Resolve the secrets section against the project root (and SOPS_AGE_KEY_FILE)."""
    from_env = os.environ.get(KEY_FILE_ENV, "").strip()
    key_file = Path(from_env).expanduser().resolve() if from_env else config.resolve(config.secrets.age_key_file)
    return SecretsPaths(
        credentials=config.resolve(config.secrets.credentials_file),
        key_file=key_file,
        sops_config=config.resolve(config.secrets.sops_config),
        root=config.root,
    )


def inline_identities() -> tuple[str, ...]:
    """Identities from SOPS_AGE_KEY (one or more per line, `#` lines skipped), registered as secrets."""
    raw = os.environ.get(INLINE_KEY_ENV, "")
    keys = [
        word
        for line in raw.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
        for word in line.split()
    ]
    for key in keys:
        register_secret(key)
    return ("\n".join(keys) + "\n",) if keys else ()


def decryption_identities(paths: SecretsPaths) -> Identities:
    """The key file plus any SOPS_AGE_KEY identities."""
    return Identities(files=(paths.key_file,), inline=inline_identities())


def relative_to_root(path: Path, root: Path) -> str:
    """`path` relative to the project root when inside it (POSIX form), else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
