"""The small value types the S3 mirror passes around: files on each side, planned steps, outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LocalFile:
    """A local file with its size and sha256."""

    path: Path
    size: int
    sha256: str


@dataclass
class RemoteObject:
    """An object as listed; `sha256` is filled from the index or its metadata when needed."""

    key: str
    size: int
    etag: str
    sha256: str | None = None


@dataclass(frozen=True)
class Action:
    """One planned or performed step: upload, download, delete-remote, delete-local, replace-stage."""

    action: str
    key: str
    path: str
    size: int = 0


@dataclass(frozen=True)
class FolderMap:
    """A local folder and the key under the prefix it mirrors to."""

    local: Path
    key: str


@dataclass
class Outcome:
    """What a push or pull did (or, in a dry run, would do)."""

    actions: list[Action] = field(default_factory=list)
    transferred: int = 0
    deleted: int = 0
    unchanged: int = 0
    bytes: int = 0
    skipped: int = 0  # local symlinks and special files a push left out


def hidden(rel: str) -> bool:
    """True for a relative posix path with a hidden part (lock, staging folders, temporary files)."""
    return any(part.startswith(".") for part in rel.split("/"))
