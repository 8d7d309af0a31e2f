"""Which answer a client asked for, from its Accept header: JSON (default), HTML or CSV."""

from __future__ import annotations

_KINDS = {"application/json": "json", "text/html": "html", "application/xhtml+xml": "html", "text/csv": "csv"}


def answer_kind(accept: str | None) -> str:
    """"json", "html" or "csv": the listed type with the highest q (the first on a tie); JSON
    when nothing listed is one of those (`*/*`, no header)."""
    best, best_q = "json", 0.0
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        kind = _KINDS.get(media.lower())
        if kind is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = kind, q
    return best
