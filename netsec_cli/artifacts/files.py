"""Atomic file writes and content hashes.

A file is written under a temporary name in its own folder and renamed over the target only when
the write succeeded, so a reader never sees half a file. Files a user asked for (predictions,
reports, artifacts) get the mode the umask gives, like any file the user creates; pass
`private=True` for files that hold secrets (mode 0600 whatever the umask).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netsec_cli.errors import InputError

PRIVATE_FILE_MODE = 0o600


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def public_file_mode() -> int:
    """The mode a newly created regular file gets under the current umask."""
    return 0o666 & ~current_umask()


def public_dir_mode() -> int:
    """The mode a newly created folder gets under the current umask."""
    return 0o777 & ~current_umask()


def _temporary_beside(path: Path, suffix: str, private: bool) -> tuple[int, Path]:
    """A new temporary file in `path`'s folder (made if needed); InputError naming `path` when
    that folder cannot be made or written (read-only, not a folder, no permission)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except FileExistsError:  # the parent exists but is not a folder
        raise InputError(f"cannot write {path}: {os.strerror(errno.ENOTDIR)}") from None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.fchmod(fd, PRIVATE_FILE_MODE if private else public_file_mode())
    return fd, Path(name)


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "wb", *, private: bool = False) -> Iterator[Any]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    fd, tmp = _temporary_beside(path, ".tmp", private)
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
def atomic_path(path: Path, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` for libraries that want a filename; rename on success."""
    fd, tmp = _temporary_beside(path, ".tmp" + path.suffix, private)
    os.close(fd)
    try:
        yield tmp
        if not private:
            os.chmod(tmp, public_file_mode())  # a library may have recreated the file
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_write(path, "w", private=private) as handle:
        handle.write(text)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically, pretty-printed."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
