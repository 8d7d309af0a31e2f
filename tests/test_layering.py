"""Layering rules, checked mechanically: library code never imports the CLI layer or Typer,
and the CLI layer never imports the heavy data libraries at module level."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "netsec_cli"
HEAVY = {"pandas", "numpy", "xgboost", "catboost", "sklearn", "mlflow", "boto3", "botocore", "pymongo", "pyarrow", "scipy"}


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_library_never_imports_cli_or_typer() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts or path.name == "__main__.py":
            continue
        for name in _imports(path, top_level_only=False):
            if name == "typer" or name.startswith(("typer.", "netsec_cli.cli", "click")):
                offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_cli_layer_has_no_heavy_top_level_imports() -> None:
    offenders = []
    for path in (PACKAGE / "cli").glob("*.py"):
        for name in _imports(path, top_level_only=True):
            if name.split(".")[0] in HEAVY:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_import_contracts_hold() -> None:
    """The layers, stage independence and acyclic packages of pyproject.toml (see ARCHITECTURE.md)."""
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_no_source_file_is_ignored_by_git() -> None:
    """A .gitignore pattern must never hide a module, test or script (a fresh clone would lack it)."""
    import shutil
    import subprocess

    import pytest

    root = PACKAGE.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    sources = [str(p.relative_to(root)) for folder in ("netsec_cli", "tests", "scripts") for p in (root / folder).rglob("*.py")]
    sources = [s for s in sources if "__pycache__" not in s]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], input="\n".join(sources), capture_output=True, text=True, cwd=root)
    assert ignored.stdout.split() == [], f"ignored by .gitignore: {ignored.stdout.split()}"
