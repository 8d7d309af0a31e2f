"""`netsec secrets add-recipient|remove-recipient`: change who can decrypt the credentials file.

Adding a recipient re-wraps the same data key for it (sops: `sops updatekeys`). Removing one also
makes a new data key (sops: `sops rotate`, then `sops updatekeys`), since the removed key's holder may
have kept the old data key. The sops binary works on an encrypted copy in a private temporary
folder beside the file; the new file is decrypted in memory and compared before it replaces the
old one atomically (the old one is kept as `.bak-<time>`), then `.sops.yaml`'s rule is updated.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netsec_cli.artifacts import atomic_write
from netsec_cli.config import Config
from netsec_cli.errors import SecretsError
from netsec_cli.logging_setup import stage_log
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import age, sops_text, sopsconfig, sopsfile
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import Backend, SopsBackend, key_error, unwrapper
from netsec_cli.secrets.credentials import read_encrypted
from netsec_cli.secrets.keys import (
    SecretsPaths,
    decryption_identities,
    relative_to_root,
    secrets_paths,
)
from netsec_cli.secrets.provision import backup_file, file_metadata, select_backend
from netsec_cli.secrets.tree import Format, Pairs, detect_format

AGE_RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}")


@dataclass(frozen=True)
class RecipientsResult:
    credentials_file: str
    action: str
    recipient: str
    recipients: list[str]
    data_key_rotated: bool
    sops_config: str
    backend: str
    backup: str


def validate_recipient(text: str) -> str:
    """A bech32 X25519 age public key (`age1` + 58 characters), else exit 2 (a secret key is never echoed)."""
    value = text.strip()
    if "SECRET-KEY" in value.upper():
        register_secret(value)
        raise SecretsError(
            "that is an age secret key, not a public key: pass its age1… recipient (`age-keygen -y KEYFILE`)"
        )
    if not AGE_RECIPIENT.fullmatch(value):
        raise SecretsError(
            f"not an age public key: {value!r} (expected age1 followed by 58 lowercase bech32 characters)"
        )
    return value


def add_recipient(config: Config, recipient: str) -> RecipientsResult:
    """Let one more age key decrypt the credentials file (same data key)."""
    return _change(config, validate_recipient(recipient), adding=True)


def remove_recipient(config: Config, recipient: str) -> RecipientsResult:
    """Stop one age key from decrypting the credentials file (new data key)."""
    return _change(config, validate_recipient(recipient), adding=False)


def _new_recipients(
    paths: SecretsPaths, current: list[str], recipient: str, adding: bool
) -> list[str]:
    if adding:
        if recipient in current:
            raise SecretsError(
                f"{recipient} is already a recipient of {paths.credentials}"
            )
        return [*current, recipient]
    if recipient not in current:
        raise SecretsError(f"{recipient} is not a recipient of {paths.credentials}")
    if len(current) == 1:
        raise SecretsError(
            f"{recipient} is the last recipient of {paths.credentials}: nobody could decrypt it",
            hint="add another recipient first, or run `netsec secrets rotate`",
        )
    return [r for r in current if r != recipient]


def _change(config: Config, recipient: str, *, adding: bool) -> RecipientsResult:
    paths = secrets_paths(config)
    data, fmt = read_encrypted(paths.credentials), detect_format(paths.credentials.name)
    metadata = file_metadata(paths.credentials)
    if len(metadata.groups) > 1:
        raise SecretsError(
            f"{paths.credentials} has {len(metadata.groups)} key groups",
            hint="change the key_groups of its .sops.yaml rule, then run `sops updatekeys`",
        )
    current = [entry.recipient for entry in metadata.age]
    wanted = _new_recipients(paths, current, recipient, adding)
    backend = select_backend(config)
    identities = decryption_identities(paths)
    action = "added" if adding else "removed"
    with stage_log(
        f"secrets.recipient_{action}",
        credentials_file=paths.credentials,
        backend=backend.name,
    ):
        values = backend.decrypt(data, fmt, identities, paths.credentials)
        if isinstance(backend, SopsBackend):
            new = sops_rekey(
                backend,
                data,
                wanted,
                rotate=not adding,
                identities=identities,
                source=paths.credentials,
            )
        elif adding:
            new = rewrap(data, fmt, wanted, identities, paths.credentials)
        else:
            new = backend.encrypt(values, wanted, fmt)
        _verify(backend, new, fmt, identities, paths.credentials, values, wanted)
        backup = backup_file(paths.credentials)
        with atomic_write(paths.credentials, "wb", private=True) as handle:
            handle.write(new)
        relative = relative_to_root(paths.credentials, paths.sops_config.parent)
        sopsconfig.set_recipients(paths.sops_config, relative, wanted)
    return RecipientsResult(
        credentials_file=str(paths.credentials),
        action=action,
        recipient=recipient,
        recipients=wanted,
        data_key_rotated=not adding,
        sops_config=str(paths.sops_config),
        backend=backend.name,
        backup=str(backup),
    )


def _verify(
    backend: Backend,
    data: bytes,
    fmt: Format,
    identities: Identities,
    source: Path,
    values: object,
    wanted: list[str],
) -> None:
    """The new bytes decrypt to the same values and list exactly the wanted recipients."""
    listed = [entry.recipient for entry in sopsfile.read_metadata(data, fmt).age]
    if (
        sorted(listed) != sorted(wanted)
        or backend.decrypt(data, fmt, identities, source) != values
    ):
        raise SecretsError(
            f"verification failed: the re-keyed {source} does not match; the file was left as it was"
        )


def rewrap(
    data: bytes,
    fmt: Format,
    recipients: Sequence[str],
    identities: Identities,
    source: Path,
) -> bytes:
    """The same file with its data key wrapped for `recipients` (values, MAC and lastmodified kept)."""
    documents = sops_text.load(data, fmt)
    metadata, stripped = sopsfile.split_metadata(documents)

    try:
        data_key = sopsfile.open_data_key(metadata, unwrapper(identities, source))
    except sopsfile.NoKey:
        raise key_error(
            source, identities, [entry.recipient for entry in metadata.age]
        ) from None
    sopsfile.decrypt_documents(stripped, metadata, data_key)
    entries = [
        Pairs([("recipient", r), ("enc", age.wrap(data_key, r))]) for r in recipients
    ]
    first = documents[0]
    block = next(v for k, v in first if k == "sops")
    new_block = Pairs((k, entries if str(k).lower() == "age" else v) for k, v in block)
    documents[0] = Pairs((k, new_block if k == "sops" else v) for k, v in first)
    return sops_text.dump(documents, fmt)


def sops_rekey(
    backend: SopsBackend,
    data: bytes,
    recipients: Sequence[str],
    *,
    rotate: bool,
    identities: Identities,
    source: Path,
) -> bytes:
    """`sops updatekeys` (and `sops rotate`) on an encrypted copy in a private folder beside `source`."""
    import yaml

    with tempfile.TemporaryDirectory(
        prefix=".netsec-rekey-", dir=source.parent
    ) as folder:
        copy, rules = Path(folder) / source.name, Path(folder) / ".sops.yaml"
        copy.write_bytes(data)
        copy.chmod(0o600)
        rules.write_text(
            yaml.safe_dump({"creation_rules": [{"age": ",".join(recipients)}]}),
            encoding="utf-8",
        )
        config = ["--config", str(rules)]
        if rotate:  # first, while the local key is surely still a recipient
            backend.run_on_file(
                [*config, "rotate", "--in-place", str(copy)],
                identities,
                source,
                f"rotating {source}",
            )
        backend.run_on_file(
            [*config, "updatekeys", "--yes", str(copy)],
            identities,
            source,
            f"updating the keys of {source}",
        )
        return copy.read_bytes()
