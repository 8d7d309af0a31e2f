"""The plaintext layout of the credentials file, as names: validated, listed, changed, exported.

The decrypted document holds the AWS keys under `aws:` (`access_key_id`, `secret_access_key`,
`region`, `session_token`: the layout `secrets init` writes and sync-s3 reads) and every other
name as a top-level string key in UPPER_SNAKE_CASE (`MONGODB_URI`, `NETSEC_SERVE_TOKEN`, ...).
The AWS environment names address the `aws` block: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION (AWS_DEFAULT_REGION is the same value) and AWS_SESSION_TOKEN.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netsec_cli.errors import InputError

NAME_PATTERN = re.compile(r"[A-Z_][A-Z0-9_]*")
AWS_SECTION = "aws"
AWS_FIELDS = {
    "AWS_ACCESS_KEY_ID": "access_key_id",
    "AWS_SECRET_ACCESS_KEY": "secret_access_key",
    "AWS_REGION": "region",
    "AWS_SESSION_TOKEN": "session_token",
}
ALIASES = {"AWS_DEFAULT_REGION": "AWS_REGION"}
USED_BY = {
    "MONGODB_URI": "etl --source mongo, etl load",
    "MLFLOW_TRACKING_TOKEN": "MLflow tracking",
    "MLFLOW_TRACKING_USERNAME": "MLflow tracking",
    "MLFLOW_TRACKING_PASSWORD": "MLflow tracking",
    "NETSEC_SERVE_TOKEN": "serve",
    **{name: "sync-s3, s3:// artifacts" for name in AWS_FIELDS},
}


@dataclass(frozen=True)
class Entry:
    """One stored name: how it is addressed, where it sits in the document, who reads it."""

    name: str
    stored_as: str
    used_by: str


def check_name(name: str) -> str:
    """The canonical name (AWS_DEFAULT_REGION is AWS_REGION), or InputError (exit 2)."""
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"invalid secret name {name!r}: use A-Z, 0-9 and _, not starting with a digit (e.g. MONGODB_URI)"
        )
    return ALIASES.get(name, name)


def _aws(document: Mapping[str, Any]) -> dict[str, Any]:
    section = document.get(AWS_SECTION)
    return dict(section) if isinstance(section, dict) else {}


def entries(document: Mapping[str, Any]) -> list[Entry]:
    """Every stored name with its place in the document (values never included)."""
    found = [
        Entry(name, f"{AWS_SECTION}.{field}", USED_BY[name])
        for name, field in AWS_FIELDS.items()
        if field in _aws(document)
    ]
    for key, value in document.items():
        if key != AWS_SECTION and isinstance(value, str):
            found.append(Entry(key, key, USED_BY.get(key, "-")))
    return found


def lookup(document: Mapping[str, Any], name: str) -> str | None:
    """The stored string for `name` (an AWS name reads the aws block), or None."""
    name = ALIASES.get(name, name)
    value = _aws(document).get(AWS_FIELDS[name]) if name in AWS_FIELDS else document.get(name)
    return value if isinstance(value, str) and value else None


def changed(document: Mapping[str, Any], changes: Mapping[str, str | None]) -> dict[str, Any]:
    """A copy of `document` with each canonical name set to its value, or removed when None."""
    result = dict(document)
    aws = _aws(document)
    for name, value in changes.items():
        target, key = (aws, AWS_FIELDS[name]) if name in AWS_FIELDS else (result, name)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    if aws:
        result[AWS_SECTION] = aws
    else:
        result.pop(AWS_SECTION, None)
    return result


def environment(document: Mapping[str, Any]) -> dict[str, str]:
    """The document as environment variables (`secrets exec`): AWS names from the aws block
    (the region as both AWS_REGION and AWS_DEFAULT_REGION), every other string name as is."""
    env = {entry.name: lookup(document, entry.name) or "" for entry in entries(document)}
    if env.get("AWS_REGION"):
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
    return {name: value for name, value in env.items() if value and NAME_PATTERN.fullmatch(name)}
