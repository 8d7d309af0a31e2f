"""`.sops.yaml` creation rules, so the sops binary encrypts the credentials file for our recipient."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from netsec_cli.artifacts import write_text_atomic
from netsec_cli.errors import SecretsError

HEADER = (
    "# sops creation rules (written by `netsec secrets init` / `rotate`).\n"
    "# The age recipient is a public key; the private key stays in the age key file.\n"
)


def path_regex(relative_path: str) -> str:
    """The creation-rule regex for one file, anchored at its end."""
    return re.escape(relative_path).replace("\\/", "/") + "$"


def _read(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError):
        raise SecretsError(f"{path} is not valid YAML", hint="fix or remove it, then re-run") from None
    if not isinstance(data, dict):
        raise SecretsError(f"{path} must be a mapping with creation_rules")
    return data


def read_rules(path: Path) -> list[dict[str, Any]]:
    """The creation rules of an existing `.sops.yaml` (empty when there is none)."""
    rules = _read(path).get("creation_rules")
    if rules is not None and not isinstance(rules, list):
        raise SecretsError(f"{path}: creation_rules must be a list")
    return [r for r in rules or [] if isinstance(r, dict)]


def recipients_for(path: Path, relative_path: str) -> list[str]:
    """The age recipients `.sops.yaml` lists for `relative_path` (empty when no rule matches)."""
    for rule in read_rules(path):
        if rule.get("path_regex") == path_regex(relative_path):
            age = rule.get("age") or ""
            return [r.strip() for r in (age if isinstance(age, list) else str(age).split(",")) if r.strip()]
    return []


def write_rule(path: Path, relative_path: str, recipients: list[str]) -> None:
    """Set (or add, first) the rule for `relative_path`, keeping every other rule and setting."""
    import yaml

    regex = path_regex(relative_path)
    others = [r for r in read_rules(path) if r.get("path_regex") != regex]
    data = _read(path)
    data["creation_rules"] = [{"path_regex": regex, "age": ",".join(recipients)}, *others]
    text = HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    write_text_atomic(path, text)
