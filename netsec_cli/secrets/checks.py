"""Hygiene checks for `netsec secrets check`: key file permissions and what git would commit."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

PLAINTEXT_GLOBS = (".env", ".env.*", "config/aws_credentials.plain*", "config/*.dec.yaml", "config/*.dec.json")


def key_mode_warning(key_file: Path) -> str | None:
    """A warning when the key file can be read by group or others."""
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        return f"age key file {key_file} is readable by group/others (mode {mode:04o}): run `chmod 600 {key_file}`"
    return None


def _git(root: Path, *args: str) -> int | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, "-C", str(root), *args], capture_output=True, timeout=30).returncode
    except (OSError, subprocess.TimeoutExpired):
        return None


def in_git_work_tree(root: Path) -> bool:
    """True when `root` is inside a git work tree (and git is installed)."""
    return root.is_dir() and _git(root, "rev-parse", "--is-inside-work-tree") == 0


def git_status(root: Path, path: Path) -> tuple[bool, bool] | None:
    """(ignored by .gitignore, tracked by git) for `path`, or None when git cannot say (outside the tree)."""
    ignored = _git(root, "check-ignore", "-q", "--no-index", "--", str(path))
    if ignored not in (0, 1):
        return None
    tracked = _git(root, "ls-files", "--error-unmatch", "--", str(path)) == 0
    return ignored == 0, tracked


def plaintext_candidates(root: Path, credentials: Path, encrypted: bool) -> list[Path]:
    """Files that look like plaintext secrets: .env, *.plain*, *.dec.*, an unencrypted credentials file."""
    found = {p for pattern in PLAINTEXT_GLOBS for p in root.glob(pattern) if p.is_file()}
    if credentials.is_file() and not encrypted:
        found.add(credentials)
    return sorted(found)


def git_warnings(root: Path, key_file: Path, plaintexts: list[Path]) -> list[str]:
    """Warnings for a key file or plaintext secret that git tracks or would pick up."""
    warnings: list[str] = []
    for path, what in [(key_file, "age key file"), *((p, "plaintext secrets file") for p in plaintexts)]:
        status = git_status(root, path)
        if status is None:
            continue
        ignored, tracked = status
        if tracked:
            fix = "`netsec secrets rotate`" if what == "age key file" else "rotate the AWS keys"
            warnings.append(f"{what} {path} is tracked by git: run `git rm --cached {path}` and {fix}")
        elif not ignored:
            warnings.append(f"{what} {path} is not ignored by git: add it (or its folder) to .gitignore")
    return warnings
