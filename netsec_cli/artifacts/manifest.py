"""The per-stage `manifest.json`: every file of a stage folder with its size and sha256.

`Manifest` is the only code that reads, writes or checks that format. The S3 mirror uses it to
trust local hashes and to rebuild a pulled stage; the loaders use `verify` before they trust a
stage's files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from netsec_cli.artifacts.files import sha256_file, write_json_atomic
from netsec_cli.errors import InputError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a stage folder: its path relative to the folder, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a published stage folder holds."""

    stage: str
    created: str
    files: tuple[ManifestEntry, ...]

    @classmethod
    def build(cls, folder: Path, stage: str) -> Manifest:
        """Describe every file under `folder` (except the manifest itself)."""
        entries = []
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
            entries.append(ManifestEntry(file.relative_to(folder).as_posix(), file.stat().st_size, sha256_file(file)))
        return cls(stage, datetime.now(timezone.utc).isoformat(timespec="seconds"), tuple(entries))

    @classmethod
    def parse(cls, data: bytes | str, origin: str) -> Manifest:
        """A manifest from its JSON text; InputError naming `origin` when it is not one."""
        try:
            raw: Any = json.loads(data)
            files = tuple(ManifestEntry(str(e["path"]), int(e["size"]), str(e["sha256"])) for e in raw["files"])
            return cls(str(raw.get("stage", "")), str(raw.get("created", "")), files)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"corrupt manifest {origin}", hint="re-run the stage") from None

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The manifest of a stage folder, or None if it has none."""
        path = folder / MANIFEST
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"corrupt manifest {path}: {exc.strerror}", hint="re-run the stage") from None
        return cls.parse(data, str(path))

    def write(self, folder: Path) -> None:
        """Write `manifest.json` into `folder` atomically."""
        write_json_atomic(folder / MANIFEST, self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The JSON document (stage, created, files)."""
        return {
            "stage": self.stage,
            "created": self.created,
            "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.files],
        }

    def entry(self, path: str) -> ManifestEntry | None:
        """The entry for `path`, or None."""
        return next((e for e in self.files if e.path == path), None)

    def verify(self, folder: Path) -> list[str]:
        """The files whose size or sha256 differ from the manifest, or are missing (empty when intact)."""
        bad = []
        for entry in self.files:
            file = folder / entry.path
            if not file.is_file() or file.stat().st_size != entry.size or sha256_file(file) != entry.sha256:
                bad.append(entry.path)
        return bad
