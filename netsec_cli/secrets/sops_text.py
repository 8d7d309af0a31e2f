"""sops documents as YAML or JSON text: reading (PyYAML's parser, yaml.v3 typing) and writing.

sops-format.md sections 5.1 and 10. Anchors, aliases and merge keys are refused; output is laid
out byte for byte as sops writes it, so a file round-trips unchanged.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

import yaml

from netsec_cli.secrets.tree import (
    INT64_MAX,
    INT64_MIN,
    Format,
    FormatError,
    Pairs,
    Timestamp,
    go_float,
    parse_timestamp,
    resolve_plain,
)

# ---------------------------------------------------------------- YAML reading


_PLAIN_TAG = "!netsec/plain"
_STR = "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """PyYAML's parser and composer; plain scalars are marked so yaml.v3 rules can type them."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN_TAG
        return super().resolve(kind, value, implicit)


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == _PLAIN_TAG:
        return resolve_plain(text)
    if tag == _STR:
        return text
    if tag == "tag:yaml.org,2002:binary":
        try:
            return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
        except ValueError:
            raise FormatError("a !!binary scalar is not valid base64 UTF-8 text") from None
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        value = resolve_plain(text)
        expected = {"bool": bool, "int": int, "float": (float, int)}[tag.rsplit(":", 1)[1]]
        if isinstance(value, expected):
            return float(value) if tag.endswith("float") else value
    if tag == "tag:yaml.org,2002:timestamp":
        stamp = parse_timestamp(text)
        if stamp is not None:
            return stamp
    raise FormatError(f"unsupported YAML scalar tag {tag} at line {node.start_mark.line + 1}")


def _convert(node: yaml.Node, seen: set[int]) -> Any:
    if id(node) in seen:
        raise FormatError(f"YAML anchors and aliases are not supported (line {node.start_mark.line + 1})")
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, seen) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        pairs = Pairs()
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = _convert(key_node, seen)
            if not isinstance(key, str):
                raise FormatError(f"non-string mapping key at line {key_node.start_mark.line + 1}")
            if key in keys:
                raise FormatError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            keys.add(key)
            pairs.append((key, _convert(value_node, seen)))
        return pairs
    raise FormatError(f"unsupported YAML node at line {node.start_mark.line + 1}")


def load_yaml(data: bytes) -> list[Pairs]:
    """Parse a YAML stream into documents (each a mapping); empty documents become empty mappings."""
    text = data.decode("utf-8")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise FormatError(f"not valid YAML{where}") from None
    documents: list[Pairs] = []
    for node in nodes or [None]:
        value = Pairs() if node is None else _convert(node, set())
        if value is None:
            value = Pairs()
        if not isinstance(value, Pairs):
            raise FormatError("the top level of a YAML document must be a mapping")
        documents.append(value)
    return documents


def load_json(data: bytes) -> Pairs:
    """Parse a JSON object, keeping key order and duplicates; integers beyond int64 become floats."""

    def number(text: str) -> int | float:
        value = int(text)
        return value if INT64_MIN <= value <= INT64_MAX else float(text)

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=Pairs, parse_int=number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({type(exc).__name__})") from None
    if not isinstance(value, Pairs):
        raise FormatError("the top level of a JSON document must be an object")
    return value


def load(data: bytes, fmt: Format) -> list[Pairs]:
    """Parse `data` into a list of documents."""
    return load_yaml(data) if fmt == "yaml" else [load_json(data)]


# ---------------------------------------------------------------- emitting

_SAFE_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+=-]*\Z")
_ENC_PLAIN = re.compile(r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]\Z")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_YAML11 = yaml.resolver.Resolver()


def _reads_back_as_str(text: str) -> bool:
    """True when both go-yaml v3 and PyYAML (YAML 1.1) would read the plain scalar as this string."""
    try:
        as_v3 = resolve_plain(text)
    except FormatError:
        return False
    return as_v3 == text and _YAML11.resolve(yaml.ScalarNode, text, (True, False)) == _STR


def _yaml_str(text: str) -> str:
    if _ENC_PLAIN.match(text):
        return text
    if _SAFE_PLAIN.match(text) and text.lower() not in _YAML11_WORDS and _reads_back_as_str(text):
        return text
    dumped = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=float("inf"))
    return dumped.rstrip("\n").removesuffix("\n...").rstrip("\n")


def _null_bool_int(value: Any) -> str | None:
    """The text of null, booleans and integers, spelt the same in YAML and JSON; else None."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return None


def _yaml_scalar(value: Any) -> str:
    simple = _null_bool_int(value)
    if simple is not None:
        return simple
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = go_float(value)
        return text if re.search(r"[.eE]", text) else text + ".0"
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, str):
        return _yaml_str(value)
    raise FormatError(f"cannot write a {type(value).__name__} value to YAML")


def _literal_block(text: str, indent: str) -> str | None:
    """A `|` block for multi-line strings that survive it unchanged, else None."""
    lines = text.split("\n")
    body = lines[:-1] if text.endswith("\n") else lines
    if text.endswith("\n\n") or not body or any(line != line.rstrip() or "\r" in line for line in body):
        return None
    if body[0].startswith(" ") or any(ord(c) < 32 and c != "\t" for c in text.replace("\n", "")):
        return None
    header = "|" if text.endswith("\n") else "|-"
    return header + "".join(f"\n{indent}{line}" if line else "\n" for line in body)


def _yaml_lines(value: Any, indent: int, step: int = 4) -> list[str]:
    """Lines for the body of a mapping or list at `indent` spaces."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Pairs):
        for key, item in value:
            lines.extend(_yaml_entry(f"{pad}{_yaml_str(key)}:", item, indent + step, step))
    else:
        for item in value:
            if isinstance(item, Pairs) and item:
                sub = _yaml_lines(item, indent + 2, step)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.extend(_yaml_entry(f"{pad}-", item, indent + 2, step))
    return lines


def _yaml_entry(head: str, item: Any, child_indent: int, step: int) -> list[str]:
    if isinstance(item, Pairs):
        return [f"{head} {{}}"] if not item else [head, *_yaml_lines(item, child_indent, step)]
    if isinstance(item, list):
        return [f"{head} []"] if not item else [head, *_yaml_lines(item, child_indent, step)]
    if isinstance(item, str) and "\n" in item:
        block = _literal_block(item, " " * child_indent)
        if block is not None:
            return [f"{head} {block}"]
    return [f"{head} {_yaml_scalar(item)}"]


def dump_yaml(documents: list[Pairs]) -> bytes:
    """YAML as sops writes it: 4-space indent, list dashes under their key, `---` between documents."""
    parts = ["\n".join(_yaml_lines(doc, 0)) + "\n" if doc else "{}\n" for doc in documents]
    return "---\n".join(parts).encode("utf-8")


def _json_str(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        out = out.replace(char, f"\\u{ord(char):04x}")
    return out


def _json_value(value: Any, depth: int, indent: str) -> str:
    pad, inner = indent * depth, indent * (depth + 1)
    if isinstance(value, Pairs):
        if not value:
            return "{}"
        items = [f"{inner}{_json_str(k)}: {_json_value(v, depth + 1, indent)}" for k, v in value]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{_json_value(v, depth + 1, indent)}" for v in value) + f"\n{pad}]"
    simple = _null_bool_int(value)
    if simple is not None:
        return simple
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise FormatError("NaN and infinities cannot be written to JSON")
        return go_float(value)
    if isinstance(value, Timestamp):
        return _json_str(value.text)
    if isinstance(value, str):
        return _json_str(value)
    raise FormatError(f"cannot write a {type(value).__name__} value to JSON")


def dump_json(document: Pairs, indent: str = "\t") -> bytes:
    """JSON as sops writes it: tab indent, Go string escaping, trailing newline."""
    return (_json_value(document, 0, indent) + "\n").encode("utf-8")


def dump(documents: list[Pairs], fmt: Format) -> bytes:
    """Serialise documents in `fmt` (JSON holds exactly one)."""
    if fmt == "json":
        if len(documents) != 1:
            raise FormatError("JSON holds exactly one document")
        return dump_json(documents[0])
    return dump_yaml(documents)

