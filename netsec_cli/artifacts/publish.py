"""Staging folders swapped into place whole: a stage folder is never half-written.

A stage fills `<parent>/.staging-<name>-<random>`; `publish` writes its manifest and `swap_in`
renames it to `<parent>/<name>`. The old folder is parked as `.previous-<name>` for the instant
of the swap, so a crash between the two renames is recovered by `published_dir`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from netsec_cli.artifacts.files import public_dir_mode
from netsec_cli.artifacts.manifest import Manifest


def published_dir(parent: Path, name: str) -> Path:
    """The published folder `parent/name`, recovering it if a swap was interrupted."""
    final = parent / name
    previous = parent / f".previous-{name}"
    if not final.exists() and previous.exists():
        os.replace(previous, final)
    return final


def new_staging_dir(parent: Path, name: str) -> Path:
    """An empty hidden staging folder inside `parent`, with the umask's folder mode."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=parent))
    os.chmod(staging, public_dir_mode())
    return staging


@contextlib.contextmanager
def staged_stage(parent: Path, name: str) -> Iterator[Path]:
    """Yield an empty staging folder; on success publish it as `parent/name` with a manifest."""
    staging = new_staging_dir(parent, name)
    try:
        yield staging
        publish(staging, parent, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish(staging: Path, parent: Path, name: str) -> Path:
    """Write the manifest into `staging` and swap it into place as `parent/name`."""
    Manifest.build(staging, name).write(staging)
    return swap_in(staging, parent, name)


def swap_in(staging: Path, parent: Path, name: str) -> Path:
    """Swap a complete folder (manifest included) into place as `parent/name`."""
    final = published_dir(parent, name)
    previous = parent / f".previous-{name}"
    if previous.exists():
        shutil.rmtree(previous)
    if final.exists():
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)
    return final
