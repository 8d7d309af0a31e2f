"""Documents as sops sees them: ordered mappings, go-yaml v3 scalar typing, Go value formatting.

sops-format.md sections 4, 5.1 and 10. A mapping is a `Pairs` list (order kept, JSON duplicates
kept); scalars are str, int, float, bool, None or `Timestamp`. YAML is read with PyYAML's parser
but typed by the yaml.v3 rules (so `yes` stays a string and `0x1F` is 31), because those rules
decide the `type:` tag and the MAC bytes. Anchors, aliases and merge keys are refused.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import yaml

Format = Literal["yaml", "json"]
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class FormatError(ValueError):
    """The document cannot be represented in the sops model (message names the problem, no values)."""


class Pairs(list):  # type: ignore[type-arg]
    """An ordered mapping: a list of (key, value) tuples."""

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Timestamp:
    """A YAML timestamp kept as its canonical Go RFC 3339 text (time.MarshalText)."""

    text: str


# ---------------------------------------------------------------- Go value formatting (section 4)


def go_float(value: float) -> str:
    """Go strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_bytes(value: Any) -> bytes:
    """The bytes sops encrypts and hashes for a scalar (sops.go ToBytes)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return go_float(value).encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, Timestamp):
        return value.text.encode()
    if isinstance(value, bytes):
        return value
    raise FormatError(f"unsupported value type {type(value).__name__}")


def type_name(value: Any) -> str:
    """The `type:` tag of an encrypted scalar."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Timestamp):
        return "time"
    if isinstance(value, bytes):
        return "bytes"
    raise FormatError(f"unsupported value type {type(value).__name__}")


# ---------------------------------------------------------------- timestamps (yaml.v3 / RFC 3339)

_TS = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?\Z"
)


def parse_timestamp(text: str, *, strict_rfc3339: bool = False) -> Timestamp | None:
    """A yaml.v3 timestamp (or strict RFC 3339 when decrypting `type:time`), canonicalised."""
    match = _TS.match(text)
    if not match:
        return None
    parts = match.groupdict()
    if parts["h"] is None:
        if strict_rfc3339:
            return None
        parts.update(h="0", mi="0", s="0", tz="Z")
    elif parts["sep"] == " " and (parts["tz"] is not None or strict_rfc3339):
        return None
    elif parts["sep"] in "Tt" and parts["tz"] is None:
        return None
    year, month, day = int(parts["y"]), int(parts["mo"]), int(parts["d"])
    hour, minute, second = int(parts["h"]), int(parts["mi"]), int(parts["s"])
    if not (1 <= month <= 12 and 1 <= day <= _days_in(year, month) and hour < 24 and minute < 60 and second < 60):
        return None
    tz = parts["tz"] or "Z"
    if tz in ("+00:00", "-00:00"):
        tz = "Z"
    frac = (parts["frac"] or "").rstrip("0")
    text_out = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return Timestamp(text_out + (f".{frac}" if frac else "") + tz)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def rfc3339_seconds(text: str) -> str:
    """Re-format a `lastmodified` value as Go RFC 3339 to whole seconds (the MAC's AAD)."""
    stamp = parse_timestamp(text, strict_rfc3339=True)
    if stamp is None:
        raise FormatError("lastmodified is not an RFC 3339 timestamp")
    return re.sub(r"\.\d+", "", stamp.text)


# ---------------------------------------------------------------- yaml.v3 plain-scalar typing

_NULLS = {"~", "null", "Null", "NULL", ""}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOAT_SPECIALS = {
    **{s: math.nan for s in (".nan", ".NaN", ".NAN")},
    **{p + s: math.inf for p in ("", "+") for s in (".inf", ".Inf", ".INF")},
    **{"-" + s: -math.inf for s in (".inf", ".Inf", ".INF")},
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_INT = re.compile(r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[bB](?P<bin>[01]+)|0[oO](?P<oct>[0-7]+)"
                     r"|0(?P<legacy>[0-7]+)|(?P<dec>[1-9][0-9]*|0))\Z")


def _go_parse_int(text: str) -> int | None:
    """Go strconv.ParseInt(text, 0, 64) without the int64 range check (None when not an integer)."""
    match = _GO_INT.match(text)
    if not match:
        return None
    for group, base in (("hex", 16), ("bin", 2), ("oct", 8), ("legacy", 8), ("dec", 10)):
        digits = match[group]
        if digits is not None:
            number = int(digits, base)
            return -number if match["sign"] == "-" else number
    return None


def resolve_plain(text: str) -> Any:
    """Type an unquoted, untagged YAML scalar the way go-yaml v3 does (sops-format.md 10.1)."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _FLOAT_SPECIALS:
        return _FLOAT_SPECIALS[text]
    if text == "<<":
        raise FormatError("YAML merge keys (<<) are not supported")
    first = text[0]
    if first == ".":
        return float(text) if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) else text
    if not (first.isdigit() and first.isascii()) and first not in "+-":
        return text
    stamp = parse_timestamp(text)
    if stamp is not None and re.match(r"\d{4}-", text):
        return stamp
    plain = text.replace("_", "")
    number = _go_parse_int(plain)
    if number is not None:
        if INT64_MIN <= number <= INT64_MAX:
            return number
        if 0 <= number < (1 << 64):
            raise FormatError("integer beyond the int64 range (sops cannot type uint64)")
    if _YAML_FLOAT.match(plain):
        return float(plain)
    return text


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


def from_plain(value: Any) -> Any:
    """Turn dicts/lists of plain Python values into the sops model (dicts become Pairs)."""
    if isinstance(value, dict):
        pairs = Pairs()
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError("mapping keys must be strings")
            pairs.append((key, from_plain(item)))
        return pairs
    if isinstance(value, (list, tuple)):
        return [from_plain(item) for item in value]
    return value


def to_plain(value: Any) -> Any:
    """Turn the sops model into dicts/lists/JSON scalars (timestamps become their RFC 3339 text)."""
    if isinstance(value, Pairs):
        return {key: to_plain(item) for key, item in value}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, Timestamp):
        return value.text
    return value


def detect_format(path_name: str) -> Format:
    """json for *.json, else yaml (sops picks the store from the extension the same way)."""
    return "json" if path_name.lower().endswith(".json") else "yaml"
