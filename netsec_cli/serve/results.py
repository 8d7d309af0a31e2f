"""Predictions kept for the upload page's "Download CSV" link, under an unguessable id.

A browser follows a plain link without the token, so the link itself is the capability: 128
random bits, kept for `KEEP_SECONDS` in a private temporary folder (mode 0700), at most
`KEEP_FILES` at a time, oldest first out.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from pathlib import Path

from netsec_cli.artifacts import atomic_write

KEEP_SECONDS = 3600
KEEP_FILES = 32
_RESULT_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


class ResultStore:
    """CSV results by id in one folder (shared by the workers of one server)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="netsec-serve-results-"))

    def keep(self, csv: bytes) -> str:
        """Store a CSV; its id for `/results/{id}.csv`."""
        self._expire()
        result_id = secrets.token_urlsafe(16)
        with atomic_write(self.folder / f"{result_id}.csv") as handle:
            handle.write(csv)
        return result_id

    def path(self, result_id: str) -> Path | None:
        """The stored CSV (None for an unknown, malformed or expired id)."""
        if not _RESULT_ID.match(result_id):
            return None
        path = self.folder / f"{result_id}.csv"
        try:
            fresh = time.time() - path.stat().st_mtime < KEEP_SECONDS
        except OSError:
            return None
        return path if fresh else None

    def _expire(self) -> None:
        kept = sorted(self.folder.glob("*.csv"), key=lambda p: p.stat().st_mtime, reverse=True)
        now = time.time()
        for index, path in enumerate(kept):
            if index >= KEEP_FILES - 1 or now - path.stat().st_mtime >= KEEP_SECONDS:
                path.unlink(missing_ok=True)
