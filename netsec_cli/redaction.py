"""Masking of secrets in anything netsec writes: log records, error lines, tracebacks.

Values registered with `register_secret` and the user:password part of URIs are replaced by
`MASK`. `RedactingFilter` applies this to every log record, whichever handler writes it.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

_SECRETS: set[str] = set()
_URI_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@")


def register_secret(value: str | None) -> None:
    """Mask `value` wherever netsec would print or log it from now on."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Mask registered secrets and the user:password part of URIs in `text`."""
    text = _URI_CREDENTIALS.sub(lambda m: f"{m['scheme']}{MASK}:{MASK}@", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrite each record's message (with its arguments merged in) through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        cleaned = redact(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = cleaned, None
        return True
