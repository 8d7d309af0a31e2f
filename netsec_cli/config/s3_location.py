"""An S3 location named in the config: `s3://bucket[/prefix]`, and the S3 bucket-naming rules.

Pure string checks, no boto3: config load validates `paths.artifacts: s3://…` with them, and
`netsec_cli.cloud` applies the same rules to `aws.bucket_name` before any request.
"""

from __future__ import annotations

import re
from typing import NamedTuple

SCHEME = "s3://"

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\\]")


class S3Location(NamedTuple):
    """A bucket and a key prefix inside it ("" for the bucket's top level)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """The location as `s3://bucket/prefix` (no trailing slash)."""
        return f"{SCHEME}{self.bucket}/{self.prefix}" if self.prefix else f"{SCHEME}{self.bucket}"


def bucket_name_problem(name: str) -> str | None:
    """The S3 general-purpose bucket naming rule `name` breaks, worded to follow "it", or None."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not _BUCKET_RE.match(name):
        return "may hold only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit"
    if ".." in name:
        return "must not contain two adjacent periods"
    if _IP_RE.match(name):
        return "must not look like an IP address"
    if name.startswith(_BAD_PREFIXES) or name.endswith(_BAD_SUFFIXES):
        return "uses a prefix or suffix reserved by S3"
    return None


def is_s3_url(text: str) -> bool:
    """True when `text` names an S3 location (starts with `s3://`, any case) rather than a local path."""
    return text[: len(SCHEME)].lower() == SCHEME


def parse_s3_url(text: str) -> S3Location:
    """`s3://bucket[/prefix]` as an S3Location; ValueError saying what is wrong otherwise.

    The prefix loses its outer slashes; it may not hold empty, `.` or `..` segments, backslashes
    or control characters, because it also names a local folder (the working copy)."""
    rest = text[len(SCHEME) :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"{text!r} names no bucket (expected s3://bucket or s3://bucket/prefix)")
    problem = bucket_name_problem(bucket)
    if problem:
        raise ValueError(f"invalid S3 bucket name {bucket!r} in {text!r}: it {problem}")
    prefix = prefix.strip("/")
    segments = prefix.split("/") if prefix else []
    if any(segment in ("", ".", "..") for segment in segments) or _CONTROL_RE.search(prefix):
        raise ValueError(
            f"invalid prefix {prefix!r} in {text!r}: it may not hold empty, '.' or '..' segments,"
            " backslashes or control characters"
        )
    return S3Location(bucket, prefix)
