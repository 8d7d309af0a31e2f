"""A trained synthetic project built once per test module and copied into each test's project."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.project import Project, small_config


def build_trained(root: Path, tracking_db: Path, **overrides: Any) -> Path:
    """Run etl → transform → train (tracking off) in `root`; return its artifacts folder."""
    from netsec_cli.config import load_config
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    config_raw = small_config(root, tracking_db, **{"tracking.enabled": False, **overrides})
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config_raw, sort_keys=False))
    config = load_config(root / "config" / "config.yaml")
    run_etl(config, source="synthetic")
    run_transform(config)
    run_train(config)
    return config.artifacts_dir


def install(project: Project, artifacts: Path) -> None:
    """Copy a trained artifacts folder into `project`."""
    shutil.copytree(artifacts, project.artifacts, ignore=shutil.ignore_patterns(".lock"))
