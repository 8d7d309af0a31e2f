"""Where a pulled object may land: the one check for every remote key and every manifest path.

A pull writes `<local folder>/<relative path>`, the relative path being an object's key after
`<prefix>/<folder key>/` or a path a remote stage manifest lists. Both come from the bucket, so
neither is trusted. `safe_relative` accepts only a plain relative path: not empty or absolute, no
empty, `.` or `..` segment, no backslash, no control character, and no hidden segment unless the
caller skips hidden paths itself. `inside` then proves the local target stays inside the folder:
no existing folder between the two is a symlink (the folder itself may be one, e.g. to another
disk). The pull plan runs both on every path before anything is written, dry runs included.

`printable` escapes what a terminal would interpret (control and other non-printable characters,
and the backslash itself, repr-style), for remote names shown in messages, logs and tables.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath

from netsec_cli.errors import InputError


class UnsafePath(ValueError):
    """A remote path a pull refuses; `reason` completes "its path …" (e.g. "is absolute")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def safe_relative(rel: str, *, allow_hidden: bool = False) -> PurePosixPath:
    """`rel` as a relative path that cannot leave the folder it is joined to; UnsafePath otherwise."""
    parts = rel.split("/")
    if any(unicodedata.category(ch) == "Cc" for ch in rel):
        reason = "contains a control character"
    elif "\\" in rel:
        reason = "contains a backslash"
    elif not rel:
        reason = "is empty"
    elif rel.startswith("/"):
        reason = "is absolute"
    elif "" in parts:
        reason = "has an empty segment"
    elif "." in parts:
        reason = "has a '.' segment"
    elif ".." in parts:
        reason = "has a '..' segment"
    elif not allow_hidden and any(part.startswith(".") for part in parts):
        reason = "has a hidden segment"
    else:
        return PurePosixPath(rel)
    raise UnsafePath(reason)


def inside(root: Path, rel: PurePosixPath) -> Path:
    """`root/rel` once no existing folder below `root` on the way to it is a symlink; UnsafePath otherwise.

    `rel` comes from `safe_relative`. The target itself may be a symlink: a pull replaces it (a
    rename), never writes through it.
    """
    current = root
    for part in rel.parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafePath(f"goes through the local symlink {printable(str(current))}")
        if not current.exists():
            break
    target = root.joinpath(*rel.parts)
    if not target.parent.resolve().is_relative_to(root.resolve()):
        raise UnsafePath(f"resolves outside {printable(str(root))}")
    return target


def refusal(url: str, problem: str, folder_key: str) -> InputError:
    """The exit-2 error refusing a whole pull: `problem` is "its path …" or "its entry '…' …"."""
    return InputError(
        f"refusing to pull {printable(url)}: {problem}", hint=f"remote objects must stay inside {folder_key}/"
    )


def printable(text: str) -> str:
    """`text` with control and other non-printable characters, and backslashes, escaped (`\\x1b`, `\\u202e`, `\\\\`)."""
    return "".join(
        ch if ch.isprintable() and ch != "\\" else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
