"""Staging folders swapped into place whole: a stage folder is never half-written.

A stage fills `<parent>/.staging-<name>-<random>`; `publish` writes its manifest and `swap_in`
renames it to `<parent>/<name>`. The old folder is parked as `.previous-<name>` for the instant
of the swap, so a crash between the two renames is recovered by `published_dir`.

A run killed mid-stage (SIGKILL, power loss) leaves its `.staging-<name>-*` folder behind;
`remove_stale_staging` removes those of one stage, called by the next run of that stage once it
holds the artifacts lock (every staging folder is created under the lock, so none of them can
belong to a live netsec process then).
"""

from __future__ import annotations

import contextlib
import os
import re
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


def remove_stale_staging(parent: Path, name: str) -> list[Path]:
    """Remove the `.staging-<name>-*` folders, and `.previous-<name>` when `<name>` exists, that
    killed runs of stage `name` left in `parent`; other stages' folders are untouched.

    Call it only with the artifacts lock held: every staging folder is created under the lock, so
    any left then is stale. Returns the removed folders."""
    staging = re.compile(rf"\.staging-{re.escape(name)}-[a-z0-9_]+")  # mkdtemp's suffix alphabet
    stale = [p for p in parent.glob(f".staging-{name}-*") if staging.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]
    previous = parent / f".previous-{name}"
    if (parent / name).is_dir() and previous.is_dir() and not previous.is_symlink():
        stale.append(previous)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


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
