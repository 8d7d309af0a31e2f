"""Reading netsec's own YAML files (config.yaml, logging.yaml): bounded, plain, one mapping.

A config file is a few kilobytes of plain YAML, so anything else is refused before it can cost
memory or time:
- a file over `MAX_BYTES` (1 MB) is refused unread (a 57 MB list took minutes to parse);
- anchors and aliases (`&name`, `*name`, and so `<<: *name` merges) are refused: they are how a
  few hundred bytes expand into billions of nodes (an "alias bomb"), and a config file has no
  need for them (repeat the value instead);
- the text must be UTF-8 and its top level a mapping (an empty file is an empty mapping).
Every refusal is a `ConfigError` (exit 2) naming the file. libyaml's parser is used when
PyYAML has it (it is ~7x faster and bounds nesting depth), PyYAML's own otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netsec_cli.errors import ConfigError

MAX_BYTES = 1 << 20


def read_yaml_mapping(path: Path, what: str = "config file", *, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The mapping in the YAML file `path`; `what` names the file in errors ("config file")."""
    import yaml

    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ConfigError(f"{what} {path} is larger than {max_bytes / 2**20:g} MB", hint="netsec config files are a few KB of YAML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not YAML text (not UTF-8)") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _refuse_anchors(yaml.parse(text, Loader=loader), what, path)
        raw = yaml.load(text, Loader=loader)  # a SafeLoader (or its C twin)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{what} {path} is not valid YAML{line}") from None
    except RecursionError:
        raise ConfigError(f"{what} {path} is nested too deeply") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {path} must be a mapping of sections, not {type(raw).__name__}")
    return raw


def _refuse_anchors(events: Any, what: str, path: Path) -> None:
    import yaml

    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            raise ConfigError(
                f"{what} {path} uses a YAML anchor or alias at line {mark.line + 1}",
                hint="anchors and aliases are not allowed in netsec config files; repeat the value",
            )
