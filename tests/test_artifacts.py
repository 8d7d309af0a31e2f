"""Atomic stage folders, manifests and the pipeline lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netsec_cli import artifacts
from netsec_cli.errors import InputError


def _publish(root: Path, stage: str, content: str) -> Path:
    with artifacts.staged_stage(root, stage) as staging:
        (staging / "model.txt").write_text(content)
    return root / stage


def test_staged_stage_publishes_with_manifest(tmp_path: Path) -> None:
    folder = _publish(tmp_path, "train", "v1")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["stage"] == "train"
    assert [f["path"] for f in manifest["files"]] == ["model.txt"]
    assert manifest["files"][0]["sha256"] == artifacts.sha256_file(folder / "model.txt")
    assert artifacts.verify_manifest(folder) == []


def test_failed_stage_keeps_previous_outputs_and_leaves_no_staging(tmp_path: Path) -> None:
    _publish(tmp_path, "train", "v1")
    with pytest.raises(RuntimeError):
        with artifacts.staged_stage(tmp_path, "train") as staging:
            (staging / "model.txt").write_text("half")
            raise RuntimeError("interrupted")
    assert (tmp_path / "train" / "model.txt").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_republish_replaces_whole_folder(tmp_path: Path) -> None:
    _publish(tmp_path, "train", "v1")
    with artifacts.staged_stage(tmp_path, "train") as staging:
        (staging / "other.txt").write_text("v2")
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["manifest.json", "other.txt"]


def test_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    folder = _publish(tmp_path, "train", "v1")
    folder.rename(tmp_path / ".previous-train")
    assert (artifacts.stage_dir(tmp_path, "train") / "model.txt").read_text() == "v1"


def test_verify_manifest_reports_changed_files(tmp_path: Path) -> None:
    folder = _publish(tmp_path, "train", "v1")
    (folder / "model.txt").write_text("tampered")
    assert artifacts.verify_manifest(folder) == ["model.txt"]


def test_atomic_write_leaves_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    artifacts.write_json_atomic(target, {"ok": 1})
    with pytest.raises(ValueError):
        with artifacts.atomic_write(target, "w") as handle:
            handle.write("partial")
            raise ValueError("boom")
    assert json.loads(target.read_text()) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_require_stage_names_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        artifacts.require_stage(tmp_path, "train", needed_by="predict")
    assert "run `netsec train` before `netsec predict`" in str(err.value)


def test_pipeline_lock_is_exclusive_across_processes_and_reentrant(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from netsec_cli.artifacts import pipeline_lock, LockBusy\n"
        "try:\n    with pipeline_lock(Path(sys.argv[1])): pass\nexcept LockBusy: sys.exit(9)\n"
    )
    with artifacts.pipeline_lock(tmp_path):
        with artifacts.pipeline_lock(tmp_path):
            busy = subprocess.run([sys.executable, "-c", code, str(tmp_path)])
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path)])
    assert busy.returncode == 9
    assert free.returncode == 0
