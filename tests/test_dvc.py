"""dvc.yaml: the real `dvc` runs the netsec stages on a copy of the project, then only what changed.

DVC lives in its own venv (`make tools`: .venv-tools/, kept out of .venv because its hydra-core pins
an antlr4 runtime that moto's parser cannot use); `netsec` comes from this interpreter's venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from netsec_cli.artifacts.manifest import Manifest

REPO = Path(__file__).resolve().parents[1]
STAGES = ("etl", "validate", "transform", "train")
PARAMS = "config/config.yaml"


def _dvc_binary() -> Path | None:
    """The tool venv's dvc, else one on PATH."""
    tool = REPO / ".venv-tools" / "bin" / "dvc"
    if tool.is_file():
        return tool
    found = shutil.which("dvc")
    return Path(found) if found else None


def _ran(output: str) -> list[str]:
    """The stages `dvc repro` ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


def _skipped(output: str) -> list[str]:
    """The stages `dvc repro` found unchanged."""
    return re.findall(r"Stage '(\w+)' didn't change, skipping", output)


@dataclass
class DvcProject:
    """A copy of the project with its own DVC repository; `dvc` runs DVC in it."""

    root: Path
    binary: Path
    env: dict[str, str]

    def dvc(self, *args: str) -> str:
        """Run dvc here; its combined output (the test fails on a non-zero exit)."""
        done = subprocess.run(
            [str(self.binary), *args],
            check=False,
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"dvc {' '.join(args)} exited {done.returncode}:\n{done.stdout}"
        return done.stdout

    def manifest(self, stage: str) -> Manifest:
        found = Manifest.read(self.root / "artifacts" / stage)
        assert found is not None, f"artifacts/{stage} has no manifest"
        return found

    def snapshot(self) -> dict[str, tuple[str, int]]:
        """Each stage's manifest creation time and file mtime."""
        return {
            stage: (
                self.manifest(stage).created,
                (self.root / "artifacts" / stage / "manifest.json").stat().st_mtime_ns,
            )
            for stage in STAGES
        }

    def set_param(self, dotted: str, value: Any) -> None:
        path = self.root / PARAMS
        config = yaml.safe_load(path.read_text())
        *parents, leaf = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[leaf] = value
        path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def dvc_project(tmp_path: Path) -> DvcProject:
    """dvc.yaml, .dvcignore, the package, schema/ and a small config copied; `dvc init --no-scm` run."""
    binary = _dvc_binary()
    if binary is None:
        pytest.skip("DVC is not installed: `make tools` installs it into .venv-tools/ (`make test` does)")
    root = tmp_path / "proj"
    root.mkdir()
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "schema", root / "schema")
    shutil.copytree(REPO / "netsec_cli", root / "netsec_cli", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "config").mkdir()
    shutil.copy2(REPO / "config" / "logging.yaml", root / "config" / "logging.yaml")
    config = yaml.safe_load((REPO / PARAMS).read_text())
    config["data"]["synthetic_rows"] = 2000
    config["model"]["hyperparameters"]["n_estimators"] = 30
    config["model"]["cv_folds"] = 3
    config["tracking"]["enabled"] = False
    (root / PARAMS).write_text(yaml.safe_dump(config, sort_keys=False))
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DVC_", "NETSEC_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        DVC_NO_ANALYTICS="1",
        DVC_STUDIO_OFFLINE="1",
        DVC_SITE_CACHE_DIR=str(tmp_path / "dvc-site"),
        DVC_GLOBAL_CONFIG_DIR=str(tmp_path / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(tmp_path / "dvc-system"),
    )
    project = DvcProject(root, binary, env)
    project.dvc("init", "--no-scm")
    return project


def test_dvc_dag_chains_the_stages(dvc_project: DvcProject) -> None:
    edges = set(re.findall(r'"(\w+)" -> "(\w+)"', dvc_project.dvc("dag", "--dot")))
    assert edges == {("etl", "validate"), ("etl", "transform"), ("validate", "transform"), ("transform", "train")}
    drawn = dvc_project.dvc("dag")
    assert [drawn.index(stage) for stage in STAGES] == sorted(drawn.index(stage) for stage in STAGES)


@pytest.mark.slow
def test_dvc_repro_runs_the_pipeline_then_only_what_changed(dvc_project: DvcProject) -> None:
    first = dvc_project.dvc("repro")
    assert _ran(first) == list(STAGES), first
    assert [dvc_project.manifest(stage).stage for stage in STAGES] == list(STAGES)
    lock = yaml.safe_load((dvc_project.root / "dvc.lock").read_text())
    assert list(lock["stages"]) == list(STAGES)
    assert lock["stages"]["train"]["params"][PARAMS]["model"]["hyperparameters"]["max_depth"] == 8
    before = dvc_project.snapshot()

    bytecode = dvc_project.root / "netsec_cli" / "__pycache__"
    bytecode.mkdir()
    (bytecode / "stray.cpython-311.pyc").write_bytes(b"written while a stage ran")
    second = dvc_project.dvc("repro")
    assert _ran(second) == [], second
    assert _skipped(second) == list(STAGES), second
    assert "Data and pipelines are up to date." in second
    assert dvc_project.snapshot() == before

    dvc_project.set_param("model.hyperparameters.max_depth", 4)
    third = dvc_project.dvc("repro")
    assert _ran(third) == ["train"], third
    assert _skipped(third) == ["etl", "validate", "transform"], third
    after = dvc_project.snapshot()
    assert {stage: after[stage] for stage in STAGES[:3]} == {stage: before[stage] for stage in STAGES[:3]}
    assert after["train"][1] > before["train"][1]
    info = json.loads((dvc_project.root / "artifacts" / "train" / "model_info.json").read_text())
    assert info["hyperparameters"]["max_depth"] == 4

    source = dvc_project.root / "netsec_cli" / "stages" / "transform.py"
    source.write_text(source.read_text() + "\n# an edit\n")
    status = json.loads(dvc_project.dvc("status", "--json"))
    assert sorted(status) == sorted(STAGES)
    assert all(entry == [{"changed deps": {"netsec_cli": "modified"}}] for entry in status.values()), status
