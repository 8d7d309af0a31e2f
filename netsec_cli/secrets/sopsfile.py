"""The SOPS v3 file format, built in: AES-256-GCM per value, path AAD, encrypted MAC (age only).

Follows ../shared/sops-format.md. Each leaf is sealed with the 32-byte data key and a fresh
32-byte IV, the GCM additional data being the path of mapping keys plus `:`; the SHA-512 of
every value (uppercase hex) is sealed with `lastmodified` as additional data. Wrapping the data
key for age recipients is delegated to callables, so this module does no I/O. Files it writes
follow the spec's "widest compatibility" advice: X25519 recipients, one default rule
(`unencrypted_suffix`), no `type:time`, no `mac_only_encrypted`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from netsec_cli.redaction import register_secret
from netsec_cli.secrets import shamir, sops_text, tree
from netsec_cli.secrets.tree import Format, FormatError, Pairs, Timestamp

SOPS_VERSION = "3.8.1"
DEFAULT_SUFFIX = "_unencrypted"
RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
COMMENT_RULE_KEYS = ("unencrypted_comment_regex", "encrypted_comment_regex")
OTHER_KEY_TYPES = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")
_ENC = re.compile(r"ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
_MAC_PREFIX = hashlib.sha256(b"sops").digest()
_BOOL_TEXT = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


# The integrity details of the final MAC check (shared with the sops backend's wording).
NO_MAC = "the file has no MAC"
MAC_NOT_AUTHENTIC = "the MAC does not authenticate (MAC or lastmodified modified)"
MAC_MISMATCH = "MAC mismatch: values were modified, reordered, added or removed"


class IntegrityError(ValueError):
    """A value, the MAC or lastmodified does not authenticate (message names the path, never a value)."""


class NoKey(Exception):
    """No identity opens enough of the wrapped data key (raised by an Unwrap, or for key groups)."""


class Comment(str):
    """A decrypted `type:comment` value. sops keeps comments out of the MAC by their type, so a
    value relabelled `type:str` -> `type:comment` drops out of the MAC and fails it (section 6.1)."""


@dataclass(frozen=True)
class AgeEntry:
    """One age recipient and the data key wrapped for it (an ASCII-armored age file)."""

    recipient: str
    enc: str


@dataclass(frozen=True)
class Metadata:
    """The `sops` block of an encrypted file. `age` lists every entry; `groups` the key groups
    (one group for a file without `key_groups`), of which `shamir_threshold` are needed."""

    age: tuple[AgeEntry, ...]
    lastmodified: str
    mac: str
    rule: tuple[str, str]
    mac_only_encrypted: bool
    version: str
    other_key_types: tuple[str, ...]
    groups: tuple[tuple[AgeEntry, ...], ...] = ()
    shamir_threshold: int = 1


Wrap = Callable[[bytes, str], str]
Unwrap = Callable[[Sequence[AgeEntry]], bytes]


# ---------------------------------------------------------------- one value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Standard padded base64, as Go's StdEncoding reads it."""
    return base64.b64decode(text, validate=True)


def encrypt_value(key: bytes, value: Any, aad: str) -> str:
    """`ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` for one scalar (fresh 32-byte IV)."""
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, tree.to_bytes(value), aad.encode("utf-8"))
    data, tag = sealed[:-16], sealed[-16:]
    return f"ENC[AES256_GCM,data:{_b64(data)},iv:{_b64(iv)},tag:{_b64(tag)},type:{tree.type_name(value)}]"


def decrypt_value(key: bytes, text: str, aad: str, where: str) -> Any:
    """Open one `ENC[…]` string and parse it by its type; IntegrityError if it does not authenticate."""
    match = _ENC.match(text)
    if not match:
        raise IntegrityError(f"value at '{where}' is not a sops-encrypted value")
    try:
        data, iv, tag = (_unb64(match[i]) for i in (1, 2, 3))
    except (binascii.Error, ValueError):
        raise IntegrityError(f"value at '{where}' has malformed base64") from None
    if len(tag) != 16 or not 8 <= len(iv) <= 128:
        raise IntegrityError(f"value at '{where}' has a malformed IV or tag")
    try:
        plain = AESGCM(key).decrypt(iv, data + tag, aad.encode("utf-8"))
    except InvalidTag:
        raise IntegrityError(f"value at '{where}' failed authentication") from None
    return _parse_typed(plain, match[4], where)


def _parse_typed(plain: bytes, kind: str, where: str) -> Any:
    try:
        if kind in ("str", "comment"):
            text = plain.decode("utf-8")
            register_secret(text)
            return Comment(text) if kind == "comment" else text
        if kind == "bytes":
            return plain
        text = plain.decode("ascii")
        if kind == "int":
            if not re.fullmatch(r"[-+]?[0-9]+", text) or not tree.INT64_MIN <= int(text) <= tree.INT64_MAX:
                raise ValueError
            return int(text)
        if kind == "float":
            if "_" in text:
                raise ValueError
            return float(text)
        if kind == "bool":
            return _BOOL_TEXT[text]
        if kind == "time":
            stamp = tree.parse_timestamp(text, strict_rfc3339=True)
            if stamp is None:
                raise ValueError
            return stamp
    except (ValueError, KeyError, UnicodeDecodeError):
        raise IntegrityError(f"value at '{where}' does not parse as type {kind}") from None
    raise FormatError(f"value at '{where}' has unknown data type {kind!r}")


# ---------------------------------------------------------------- rules and walking


@dataclass(frozen=True)
class Rules:
    """Which leaves are encrypted (sops-format.md section 7) and which feed the MAC."""

    key: str = "unencrypted_suffix"
    value: str = DEFAULT_SUFFIX
    mac_only_encrypted: bool = False

    def encrypts(self, path: tuple[str, ...]) -> bool:
        if self.key == "unencrypted_suffix":
            return not any(k.endswith(self.value) for k in path)
        if self.key == "encrypted_suffix":
            return any(k.endswith(self.value) for k in path)
        if self.key == "unencrypted_regex":
            return not any(re.search(self.value, k) for k in path)
        return any(re.search(self.value, k) for k in path)


def _walk(node: Any, path: tuple[str, ...], leaf: Callable[[Any, tuple[str, ...]], Any]) -> Any:
    if isinstance(node, Pairs):
        return Pairs((k, _walk(v, (*path, k), leaf)) for k, v in node)
    if isinstance(node, list):
        return [_walk(v, path, leaf) for v in node]
    if node is None:
        return None
    return leaf(node, path)


def aad_of(path: tuple[str, ...]) -> str:
    """The GCM additional data of a value: mapping keys joined by `:`, plus a trailing `:`."""
    return "".join(f"{k}:" for k in path)


def _new_hasher(rules: Rules) -> Any:
    hasher = hashlib.sha512()
    if rules.mac_only_encrypted:
        hasher.update(_MAC_PREFIX)
    return hasher


# ---------------------------------------------------------------- encrypt


def encrypt_documents(
    documents: Sequence[Pairs], recipients: Sequence[str], wrap: Wrap, *, now: datetime | None = None
) -> list[Pairs]:
    """Encrypt every leaf with a new data key, append the `sops` block to each document."""
    if not documents or not any(documents):
        raise FormatError("nothing to encrypt: the document is empty")
    if not recipients:
        raise FormatError("no age recipient to encrypt for")
    if any(k == "sops" for k, _ in documents[0]):
        raise FormatError("the document already has a top-level 'sops' key (already encrypted?)")
    rules = Rules()
    data_key = os.urandom(32)
    hasher = _new_hasher(rules)

    def leaf(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, Timestamp):
            raise FormatError(f"timestamp at '{aad_of(path)}' needs sops 3.10+ (type:time): quote it to store a string")
        hasher.update(tree.to_bytes(value))
        if not rules.encrypts(path) or value == "":
            return value
        return encrypt_value(data_key, value, aad_of(path))

    encrypted = [_walk(doc, (), leaf) for doc in documents]
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = encrypt_value(data_key, hasher.hexdigest().upper(), stamp)
    entries = [Pairs([("recipient", r.strip()), ("enc", wrap(data_key, r.strip()))]) for r in recipients]
    block = Pairs(
        [("age", entries), ("lastmodified", stamp), ("mac", mac), (rules.key, rules.value), ("version", SOPS_VERSION)]
    )
    return [Pairs([*doc, ("sops", block)]) for doc in encrypted]


def encrypt(plain: Any, recipients: Sequence[str], wrap: Wrap, fmt: Format) -> bytes:
    """Encrypt a plain mapping (dicts, lists, scalars) into sops-format bytes."""
    return sops_text.dump(encrypt_documents([tree.from_plain(plain)], recipients, wrap), fmt)


# ---------------------------------------------------------------- metadata


def _lower_keys(block: Pairs) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in block}


def split_metadata(documents: Sequence[Pairs]) -> tuple[Metadata, list[Pairs]]:
    """Take the `sops` block from the first document and remove it from every document."""
    if not documents:
        raise FormatError("sops metadata not found (empty file)")
    blocks = [v for k, v in documents[0] if k == "sops"]
    if not blocks:
        raise FormatError("sops metadata not found: the file is not sops-encrypted")
    if len(blocks) > 1 or not isinstance(blocks[0], Pairs):
        raise FormatError("the sops metadata block is malformed")
    meta = _lower_keys(blocks[0])
    if any(meta.get(k) for k in COMMENT_RULE_KEYS):
        raise FormatError("comment-regex rules are not supported by the built-in backend")
    rules = [(k, meta[k]) for k in RULE_KEYS if meta.get(k) not in (None, "")]
    if len(rules) > 1:
        raise FormatError("the sops metadata sets more than one encryption rule")
    groups, threshold = _key_groups(meta)
    lastmodified = meta.get("lastmodified")
    if isinstance(lastmodified, Timestamp):
        lastmodified = lastmodified.text
    metadata = Metadata(
        age=tuple(entry for group in groups for entry in group),
        lastmodified=str(lastmodified or ""),
        mac=str(meta.get("mac") or ""),
        rule=rules[0] if rules else ("unencrypted_suffix", DEFAULT_SUFFIX),
        mac_only_encrypted=meta.get("mac_only_encrypted") is True,
        version=str(meta.get("version") or ""),
        other_key_types=tuple(k for k in OTHER_KEY_TYPES if meta.get(k)),
        groups=groups,
        shamir_threshold=threshold,
    )
    stripped = [Pairs((k, v) for k, v in doc if k != "sops") for doc in documents]
    return metadata, stripped


def _age_entries(entries: Any) -> tuple[AgeEntry, ...]:
    found = []
    for entry in entries or []:
        fields = _lower_keys(entry) if isinstance(entry, Pairs) else {}
        if not isinstance(fields.get("enc"), str):
            raise FormatError("an age entry in the sops metadata has no 'enc'")
        found.append(AgeEntry(str(fields.get("recipient") or ""), fields["enc"]))
    return tuple(found)


def _key_groups(meta: dict[str, Any]) -> tuple[tuple[tuple[AgeEntry, ...], ...], int]:
    """The key groups and the Shamir threshold (sops: 0 or absent means every group)."""
    raw = meta.get("key_groups")
    if not raw:
        return (_age_entries(meta.get("age")),), 1
    if not isinstance(raw, list) or not all(isinstance(group, Pairs) for group in raw):
        raise FormatError("the sops metadata key_groups is malformed")
    groups = tuple(_age_entries(_lower_keys(group).get("age")) for group in raw)
    threshold = meta.get("shamir_threshold") or len(groups)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(groups):
        raise FormatError(f"the sops metadata shamir_threshold {threshold!r} does not fit {len(groups)} key groups")
    return groups, threshold


def read_metadata(data: bytes, fmt: Format) -> Metadata:
    """The `sops` block of encrypted file bytes (no key needed)."""
    return split_metadata(sops_text.load(data, fmt))[0]


# ---------------------------------------------------------------- decrypt


def decrypt_documents(documents: Sequence[Pairs], metadata: Metadata, data_key: bytes) -> list[Pairs]:
    """Decrypt every leaf and verify the MAC; IntegrityError on any mismatch."""
    rules = Rules(metadata.rule[0], metadata.rule[1], metadata.mac_only_encrypted)
    hasher = _new_hasher(rules)

    def leaf(value: Any, path: tuple[str, ...]) -> Any:
        encrypted = rules.encrypts(path)
        if encrypted:
            if not isinstance(value, str):
                raise IntegrityError(f"value at '{aad_of(path)}' should be encrypted but is not")
            if value != "":
                value = decrypt_value(data_key, value, aad_of(path), aad_of(path))
        if (encrypted or not rules.mac_only_encrypted) and not isinstance(value, Comment):
            hasher.update(tree.to_bytes(value))
        return value

    plain = [_walk(doc, (), leaf) for doc in documents]
    _verify_mac(metadata, data_key, hasher.hexdigest().upper())
    return plain


def _verify_mac(metadata: Metadata, data_key: bytes, computed: str) -> None:
    if not metadata.mac:
        raise IntegrityError(NO_MAC)
    try:
        aad = tree.rfc3339_seconds(metadata.lastmodified)
    except FormatError:
        raise IntegrityError("lastmodified is not an RFC 3339 timestamp") from None
    try:
        stored = decrypt_value(data_key, metadata.mac, aad, "sops:mac")
    except IntegrityError:
        raise IntegrityError(MAC_NOT_AUTHENTIC) from None
    if stored != computed:
        raise IntegrityError(MAC_MISMATCH)


def decrypt(data: bytes, fmt: Format, unwrap: Unwrap) -> tuple[list[Pairs], Metadata]:
    """Decrypt sops-format bytes; `unwrap` turns the age entries into the 32-byte data key."""
    metadata, documents = split_metadata(sops_text.load(data, fmt))
    if not metadata.age:
        others = ", ".join(metadata.other_key_types) or "none"
        raise FormatError(f"the file has no age recipients (key types present: {others}); only age is supported")
    data_key = open_data_key(metadata, unwrap)
    if len(data_key) != 32:
        raise IntegrityError("the unwrapped data key is not 32 bytes")
    return decrypt_documents(documents, metadata, data_key), metadata


def open_data_key(metadata: Metadata, unwrap: Unwrap) -> bytes:
    """The data key: unwrapped whole (one group), or combined from `shamir_threshold` groups' shares."""
    if len(metadata.groups) == 1:
        return unwrap(metadata.groups[0])
    shares: list[bytes] = []
    for group in metadata.groups:
        if len(shares) == metadata.shamir_threshold:
            break
        try:
            shares.append(unwrap(group))
        except NoKey:
            continue
    if len(shares) < metadata.shamir_threshold:
        raise NoKey(f"{len(shares)} of the {metadata.shamir_threshold} key groups needed could be opened")
    try:
        return shamir.combine(shares)
    except shamir.ShareError as exc:
        raise IntegrityError(f"the key group shares do not combine: {exc}") from None
