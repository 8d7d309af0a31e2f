"""Assertions shared by the CLI tests: the one `Error:` line and the exit code of a failed command.

They accept a Typer/Click `Result` (`exit_code`, `stdout`, `stderr`) or a subprocess-style result
(`returncode`, `stdout`, `stderr`, text mode).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ERROR_PREFIX = "Error:"


def exit_code(result: Any) -> int:
    """The process exit code of a CliRunner result or a subprocess result."""
    code = getattr(result, "exit_code", None)
    return int(result.returncode if code is None else code)


def error_line(result: Any) -> str:
    """The single stderr line starting with `Error:` (fails when there is none or several).

    `result` is a result object or the stderr text itself."""
    stderr = result if isinstance(result, str) else result.stderr
    lines = [line for line in stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(lines) == 1, f"expected exactly one {ERROR_PREFIX} line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


def assert_error(result: Any, code: int, line: str | re.Pattern[str]) -> str:
    """Assert the exit code, no traceback, and one `Error:` line equal to `line` (or fully matching it).

    Returns the line."""
    output = f"{result.stdout}\n{result.stderr}"
    assert exit_code(result) == code, f"exit code {exit_code(result)}, expected {code}:\n{output}"
    assert "Traceback" not in output, output
    found = error_line(result)
    if isinstance(line, re.Pattern):
        assert line.fullmatch(found), f"{found!r} does not match {line.pattern!r}"
    else:
        assert found == line, f"\n got: {found!r}\nwant: {line!r}"
    return found


HOLD_LOCK = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from netsec_cli.artifacts import pipeline_lock\n"
    "with pipeline_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


def hold_lock(artifacts: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the artifacts lock for `seconds`; returns once it holds it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(artifacts), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def assert_nowhere_on_disk(folders: list[Path], since: float, *needles: str) -> None:
    """No file under `folders` (in the temp folder: changed since `since`) holds a needle."""
    temp = Path(tempfile.gettempdir())
    checked = 0
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = Path(dirpath) / name
                try:
                    if path.is_symlink() or not path.is_file() or (folder == temp and path.stat().st_mtime < since):
                        continue
                    content = path.read_bytes()
                except OSError:
                    continue
                checked += 1
                for needle in needles:
                    assert needle.encode() not in content, f"plaintext secret found in {path}"
    assert checked > 0
