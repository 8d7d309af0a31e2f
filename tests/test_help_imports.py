"""`netsec --help` stays light: none of the heavy data libraries are imported."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "xgboost", "catboost", "sklearn", "mlflow", "numpy", "pyarrow")

SCRIPT = """
import sys
from typer.testing import CliRunner
from netsec_cli.cli.app import app
for args in (["--help"], ["predict", "--help"], ["train", "--help"], ["run", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def test_help_imports_no_heavy_libraries() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("{HEAVY!r}", repr(HEAVY))], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"imported by --help: {out.stdout.strip()}"
