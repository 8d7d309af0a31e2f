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


def matching_rule(path: Path, relative_path: str) -> dict[str, Any] | None:
    """The first creation rule whose `path_regex` matches `relative_path` (none: every file), as sops picks it."""
    for rule in read_rules(path):
        regex = rule.get("path_regex")
        try:
            if not regex or re.search(str(regex), relative_path):
                return rule
        except re.error:
            raise SecretsError(f"{path}: path_regex {regex!r} is not a valid regular expression") from None
    return None


def _split(age: Any) -> list[str]:
    return [r.strip() for r in (age if isinstance(age, list) else str(age or "").split(",")) if str(r).strip()]


def rule_recipients(rule: dict[str, Any]) -> list[str]:
    """The age recipients of one rule: its `age` list, or every key group's."""
    groups = rule.get("key_groups")
    if isinstance(groups, list):
        return [r for group in groups if isinstance(group, dict) for r in _split(group.get("age"))]
    return _split(rule.get("age"))


def recipients_for(path: Path, relative_path: str) -> list[str]:
    """The age recipients of the rule `.sops.yaml` applies to `relative_path` (empty when none matches)."""
    rule = matching_rule(path, relative_path)
    return rule_recipients(rule) if rule else []


def set_recipients(path: Path, relative_path: str, recipients: list[str]) -> None:
    """Replace the age recipients of the rule matching `relative_path` (a new rule first when none does)."""
    import yaml

    rule = matching_rule(path, relative_path)
    if rule is None:
        write_rule(path, relative_path, recipients)
        return
    if "key_groups" in rule:
        raise SecretsError(
            f"{path}: the rule for {relative_path} uses key_groups",
            hint="edit its groups by hand, then run `sops updatekeys`",
        )
    data = _read(path)
    rules = read_rules(path)
    index = next(i for i, r in enumerate(rules) if r == rule)
    rules[index] = {**rule, "age": ",".join(recipients)}
    data["creation_rules"] = rules
    write_text_atomic(path, HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def write_rule(path: Path, relative_path: str, recipients: list[str]) -> None:
    """Set (or add, first) the rule for `relative_path`, keeping every other rule and setting."""
    import yaml

    regex = path_regex(relative_path)
    others = [r for r in read_rules(path) if r.get("path_regex") != regex]
    data = _read(path)
    data["creation_rules"] = [{"path_regex": regex, "age": ",".join(recipients)}, *others]
    text = HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    write_text_atomic(path, text)
