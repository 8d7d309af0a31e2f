"""Artifact layout, atomic writes and per-stage manifests.

Every stage writes into `artifacts/<stage>/`. A stage never writes there directly: it fills a
staging folder (`artifacts/.staging-<stage>-<pid>`) and `publish` swaps it into place only when
the stage succeeded, after writing `manifest.json` (size and sha256 of every file). An
interrupted run therefore leaves the previous good outputs untouched. Single files written
outside a stage folder go through `atomic_write` (temporary name in the same folder, then rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from netsec_cli.errors import InputError, NetsecError

MANIFEST = "manifest.json"
STAGES = ("etl", "validate", "transform", "train", "predict")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` for libraries that want a filename; rename on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically, pretty-printed."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str


def build_manifest(folder: Path, stage: str) -> dict[str, Any]:
    """Describe every file under `folder` (except the manifest itself)."""
    files = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        rel = file.relative_to(folder).as_posix()
        files.append({"path": rel, "size": file.stat().st_size, "sha256": sha256_file(file)})
    return {
        "stage": stage,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": files,
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a stage folder, or None if it has none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"corrupt manifest {path}: {exc}", hint="re-run the stage") from None


def verify_manifest(folder: Path) -> list[str]:
    """Return the files whose size or sha256 differ from the manifest (empty list when intact)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return []
    bad = []
    for entry in manifest["files"]:
        file = folder / entry["path"]
        if not file.is_file() or file.stat().st_size != entry["size"] or sha256_file(file) != entry["sha256"]:
            bad.append(entry["path"])
    return bad


def stage_dir(artifacts: Path, stage: str) -> Path:
    """The published folder of a stage, recovering it if a swap was interrupted."""
    final = artifacts / stage
    previous = artifacts / f".previous-{stage}"
    if not final.exists() and previous.exists():
        os.replace(previous, final)
    return final


def require_stage(artifacts: Path, stage: str, needed_by: str) -> Path:
    """The folder of an earlier stage, or a clear error naming the command to run first."""
    folder = stage_dir(artifacts, stage)
    if not (folder / MANIFEST).is_file():
        raise InputError(
            f"no {stage} artifacts in {folder}",
            hint=f"run `netsec {stage}` before `netsec {needed_by}`",
        )
    return folder


@contextlib.contextmanager
def staged_stage(artifacts: Path, stage: str) -> Iterator[Path]:
    """Yield an empty staging folder; on success publish it as `artifacts/<stage>` with a manifest."""
    artifacts.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{stage}-", dir=artifacts))
    try:
        yield staging
        publish(staging, artifacts, stage)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish(staging: Path, artifacts: Path, stage: str) -> Path:
    """Write the manifest into `staging` and swap it into place as the stage's folder."""
    write_json_atomic(staging / MANIFEST, build_manifest(staging, stage))
    return swap_in(staging, artifacts, stage)


def swap_in(staging: Path, artifacts: Path, stage: str) -> Path:
    """Swap a complete folder (manifest included) into place as `artifacts/<stage>`.

    The old folder is parked as `.previous-<stage>` for the instant of the swap, so a crash
    between the two renames is recovered by `stage_dir`.
    """
    final = stage_dir(artifacts, stage)
    previous = artifacts / f".previous-{stage}"
    if previous.exists():
        shutil.rmtree(previous)
    if final.exists():
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


class LockBusy(NetsecError):
    """Another netsec run holds the pipeline lock."""

    exit_code = 1


_HELD_LOCKS: dict[Path, int] = {}


@contextlib.contextmanager
def pipeline_lock(artifacts: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on the artifacts folder so overlapping runs cannot interleave.

    Re-entrant within one process, so `netsec run` can hold it while each stage takes it again.
    """
    artifacts.mkdir(parents=True, exist_ok=True)
    lock_file = (artifacts / ".lock").resolve()
    if lock_file in _HELD_LOCKS:
        _HELD_LOCKS[lock_file] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[lock_file] -= 1
        return
    with lock_file.open("a") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            raise LockBusy(
                f"another netsec run is using {artifacts}", hint="wait for it to finish, or use another paths.artifacts"
            ) from None
        _HELD_LOCKS[lock_file] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[lock_file]
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
