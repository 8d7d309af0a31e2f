"""The artifacts lock: one netsec run at a time writes to an artifacts folder.

An exclusive `flock` on `<artifacts>/.lock`, re-entrant within one process (so `netsec run`
holds it while each stage takes it again). A second process gets `LockBusy` (exit 5) at once,
or after waiting up to `wait` seconds for the holder to finish.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from netsec_cli.errors import LockBusy

LOCK_FILE = ".lock"
POLL_SECONDS = 0.2

_HELD_LOCKS: dict[Path, int] = {}


def _acquire(handle: object, artifacts: Path, wait: float) -> None:
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[attr-defined]
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                waited = f" (waited {wait:g}s)" if wait > 0 else ""
                raise LockBusy(
                    f"another netsec run is using {artifacts}{waited}",
                    hint="try again when it has finished, or pass --wait SECONDS",
                ) from None
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def pipeline_lock(artifacts: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the exclusive lock on `artifacts` for the block; wait up to `wait` seconds for it."""
    artifacts.mkdir(parents=True, exist_ok=True)
    lock_file = (artifacts / LOCK_FILE).resolve()
    if lock_file in _HELD_LOCKS:
        _HELD_LOCKS[lock_file] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[lock_file] -= 1
        return
    with lock_file.open("a") as handle:
        _acquire(handle, artifacts, wait)
        _HELD_LOCKS[lock_file] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[lock_file]
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
