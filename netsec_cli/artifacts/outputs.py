"""Files a user names for a command's output (`predict --output`, `evaluate --report`), checked up front.

Such a file is written by plain atomic rename, without the artifacts lock or a manifest, so it must
never replace the command's own input or land inside the artifacts folder: there only a stage's
publish writes (under the lock, with its manifest). Both checks compare `Path.resolve()`d paths
(symlinks followed, `..` collapsed); an existing output is also compared with the input file by
inode, so a hard link to the input is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path

from netsec_cli.errors import InputError


def check_output_path(path: Path, *, option: str, input_file: Path, artifacts: Path, hint: str) -> None:
    """InputError (exit 2) when `path`, given as `option`, is `input_file` or lies inside `artifacts`.

    `hint` says where to write instead."""
    target = Path(path).resolve()
    if target == Path(input_file).resolve() or _same_file(target, Path(input_file)):
        raise InputError(f"{option} {path} is the input file; refusing to overwrite it")
    folder = Path(artifacts).resolve()
    if target == folder or folder in target.parents:
        raise InputError(f"{option} {path} is inside the artifacts folder {artifacts}", hint=hint)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet)
        return False
