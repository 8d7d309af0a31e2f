"""What is on each side, by content: local files with their sha256, and the remote index.

Locally, a file's sha256 comes from the stage manifest above it (`netsec_cli.artifacts.Manifest`)
when the manifest still describes it, so an unchanged tree is not re-hashed. Remotely,
`<prefix>/.netsec-index.json` records key → sha256, size and ETag, so a listing alone tells
which objects changed; an object whose ETag or size no longer matches needs one HEAD.

Only regular files are mirrored: a symlink (to a file or a folder) or a special file is never
followed or read; the walk skips it and reports it to the caller, so a link in `artifacts/` can
never upload what it points to. The index is a cache: an unreadable one, or an entry of the
wrong shape, is ignored with a warning (each object's sha256 is then read from its metadata).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netsec_cli.artifacts import MANIFEST, Manifest, sha256_file
from netsec_cli.cloud.objects import LocalFile, RemoteObject
from netsec_cli.errors import InputError

log = logging.getLogger(__name__)

INDEX_NAME = ".netsec-index.json"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

# A folder's manifest as (manifest mtime, relative path → (size, sha256)).
_Table = tuple[int, dict[str, tuple[int, str]]]


def walk_files(folder: Path, skipped: list[Path] | None = None) -> Iterator[tuple[str, Path]]:
    """Every non-hidden regular file under `folder` as (relative posix path, path), in sorted order.

    Symlinks (to files or folders) and special files are never followed or read: each one met
    is appended to `skipped` when given.
    """
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            if (here / name).is_symlink():
                _skip(here / name, skipped)
            else:
                kept.append(name)
        dirnames[:] = kept  # os.walk descends only into these
        for name in sorted(f for f in filenames if not f.startswith(".")):
            path = here / name
            if stat.S_ISREG(path.lstat().st_mode):
                yield path.relative_to(folder).as_posix(), path
            else:
                _skip(path, skipped)


def _skip(path: Path, skipped: list[Path] | None) -> None:
    if skipped is not None:
        skipped.append(path)


def local_files(
    folder: Path, *, trust_manifests: bool = True, skipped: list[Path] | None = None
) -> dict[str, LocalFile]:
    """Every non-hidden regular file under `folder` by relative posix path, with size and sha256.

    With `trust_manifests`, the sha256 comes from the nearest stage manifest above the file when
    the size matches and the file is not newer than that manifest; otherwise it is computed.
    Symlinks and special files are left out (see `walk_files`; appended to `skipped`).
    """
    found: dict[str, LocalFile] = {}
    if not folder.is_dir():
        return found
    tables: dict[Path, _Table] = {}
    looked: set[Path] = set()
    for rel, path in walk_files(folder, skipped):
        if trust_manifests and path.parent not in looked:
            looked.add(path.parent)  # a folder's own files come before its subfolders'
            manifest = path.parent / MANIFEST
            if manifest.is_file() and not manifest.is_symlink():
                tables[path.parent] = _manifest_table(path.parent)
        stat = path.stat()
        sha = _trusted_sha(path, stat, folder, tables) if trust_manifests else None
        found[rel] = LocalFile(path, stat.st_size, sha or sha256_file(path))
    return found


def _manifest_table(folder: Path) -> _Table:
    """The manifest in `folder` as a lookup table; empty when it is unreadable."""
    try:
        manifest = Manifest.read(folder)
        mtime = (folder / MANIFEST).stat().st_mtime_ns
    except (InputError, OSError):
        return (0, {})
    if manifest is None:
        return (0, {})
    return (mtime, {e.path: (e.size, e.sha256) for e in manifest.files})


def _trusted_sha(path: Path, stat: os.stat_result, root: Path, tables: dict[Path, _Table]) -> str | None:
    for parent in path.parents:
        if parent in tables:
            mtime, entries = tables[parent]
            size, sha = entries.get(path.relative_to(parent).as_posix(), (-1, ""))
            return sha if size == stat.st_size and stat.st_mtime_ns <= mtime else None
        if parent == root:
            return None
    return None


class RemoteIndex:
    """The remote index in memory: key → sha256, size and ETag; safe to update from threads."""

    def __init__(self, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self._entries = dict(entries or {})
        self._lock = threading.Lock()
        self.dirty = False

    @classmethod
    def parse(cls, body: bytes, origin: str) -> RemoteIndex:
        """The index from its JSON; an unreadable one is ignored (logged) and starts empty.

        Entries of the wrong shape (sha256 not 64 hex digits, size not an integer, ETag not a
        string) are dropped, with one warning.
        """
        try:
            objects = json.loads(body)["objects"]
            items = list(objects.items())
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            log.warning("ignoring unreadable S3 index %s", origin)
            return cls()
        entries = {k: v for k, v in items if isinstance(k, str) and _well_formed(v)}
        if len(entries) < len(items):
            log.warning("ignoring %d malformed entries of S3 index %s", len(items) - len(entries), origin)
        return cls(entries)

    def to_bytes(self) -> bytes:
        """The JSON document to store."""
        with self._lock:
            objects = dict(sorted(self._entries.items()))
        return json.dumps({"version": 1, "objects": objects}, indent=1).encode()

    def sha256_of(self, obj: RemoteObject) -> str | None:
        """The recorded sha256 of `obj` when its ETag and size still match the record."""
        entry = self._entries.get(obj.key)
        if entry and entry.get("etag") == obj.etag and entry.get("size") == obj.size:
            return entry.get("sha256")
        return None

    def remember(self, obj: RemoteObject) -> None:
        """Record an object whose sha256 is known."""
        entry = {"sha256": obj.sha256, "size": obj.size, "etag": obj.etag}
        with self._lock:
            if obj.sha256 and self._entries.get(obj.key) != entry:
                self._entries[obj.key] = entry
                self.dirty = True

    def forget(self, key: str) -> None:
        """Drop a deleted object."""
        with self._lock:
            if self._entries.pop(key, None) is not None:
                self.dirty = True


def _well_formed(entry: Any) -> bool:
    """An index entry: {"sha256": 64 hex digits, "size": int, "etag": str}."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and _SHA256_RE.fullmatch(entry["sha256"]) is not None
        and type(entry.get("size")) is int
        and isinstance(entry.get("etag"), str)
    )
