"""Documents as sops sees them: ordered mappings, go-yaml v3 scalar typing, Go value formatting.

sops-format.md sections 4, 5.1 and 10. A mapping is a `Pairs` list (order kept, JSON duplicates
kept); scalars are str, int, float, bool, None or `Timestamp`, typed by the yaml.v3 rules (so
`yes` stays a string and `0x1F` is 31), because those rules decide the `type:` tag and the MAC
bytes. Reading and writing YAML/JSON text is `netsec_cli.secrets.sops_text`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

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
