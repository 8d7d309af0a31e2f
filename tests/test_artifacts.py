"""Atomic stage folders, manifests and the pipeline lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netsec_cli import artifacts
from netsec_cli.artifacts import Manifest
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
    assert Manifest.read(folder).verify(folder) == []


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
    assert Manifest.read(folder).verify(folder) == ["model.txt"]


def test_atomic_write_leaves_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    artifacts.write_json_atomic(target, {"ok": 1})
    with pytest.raises(ValueError):
        with artifacts.atomic_write(target, "w") as handle:
            handle.write("partial")
            raise ValueError("boom")
    assert json.loads(target.read_text()) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_open_stage_names_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        artifacts.open_stage(tmp_path, "train", needed_by="predict")
    assert str(err.value) == f"no train artifacts in {tmp_path / 'train'} (run `netsec train` before `netsec predict`)"


def test_open_stage_refuses_a_folder_that_no_longer_matches_its_manifest(tmp_path: Path) -> None:
    folder = _publish(tmp_path, "train", "v1")
    (folder / "model.txt").write_text("tampered")
    with pytest.raises(InputError) as err:
        artifacts.open_stage(tmp_path, "train", needed_by="predict")
    assert str(err.value) == f"train artifacts in {folder} changed since they were written (model.txt) (re-run `netsec train`)"


def test_manifest_round_trip_and_corrupt_text(tmp_path: Path) -> None:
    folder = _publish(tmp_path, "train", "v1")
    manifest = Manifest.read(folder)
    assert manifest is not None
    assert Manifest.parse((folder / "manifest.json").read_bytes(), "x") == manifest
    assert manifest.entry("model.txt").size == 2
    assert manifest.entry("absent") is None
    with pytest.raises(InputError) as err:
        Manifest.parse(b'{"files": [{"path": "a"}]}', "s3://b/manifest.json")
    assert str(err.value) == "corrupt manifest s3://b/manifest.json (re-run the stage)"


def test_stage_files_name_every_output(tmp_path: Path) -> None:
    transform = artifacts.stage_files(tmp_path, "transform")
    assert transform.preprocessor == tmp_path / "preprocessor.skops"
    assert transform.array("X_train") == tmp_path / "X_train.npy"
    with pytest.raises(ValueError):
        transform.array("X_other")
    with pytest.raises(InputError):
        artifacts.stage_files(tmp_path, "nonsense")


def test_published_files_follow_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        folder = _publish(tmp_path, "train", "v1")
        artifacts.write_text_atomic(tmp_path / "report.txt", "x")
        artifacts.write_text_atomic(tmp_path / "secret.txt", "x", private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "manifest.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "secret.txt").stat().st_mode) == 0o600


def test_pipeline_lock_is_exclusive_across_processes_and_reentrant(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from netsec_cli.artifacts import pipeline_lock\n"
        "from netsec_cli.errors import LockBusy\n"
        "try:\n    with pipeline_lock(Path(sys.argv[1])): pass\nexcept LockBusy: sys.exit(9)\n"
    )
    with artifacts.pipeline_lock(tmp_path):
        with artifacts.pipeline_lock(tmp_path):
            busy = subprocess.run([sys.executable, "-c", code, str(tmp_path)])
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path)])
    assert busy.returncode == 9
    assert free.returncode == 0


def test_pipeline_lock_waits_for_the_holder_then_gives_up(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from netsec_cli.errors import EXIT_BUSY, LockBusy

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from netsec_cli.artifacts import pipeline_lock\n"
         "with pipeline_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(1.5)", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(LockBusy) as busy:
        with artifacts.pipeline_lock(tmp_path, wait=0.3):
            pass
    assert busy.value.exit_code == EXIT_BUSY == 5
    assert str(busy.value) == (
        f"another netsec run is using {tmp_path} (waited 0.3s) (try again when it has finished, or pass --wait SECONDS)"
    )
    started = time.monotonic()
    with artifacts.pipeline_lock(tmp_path, wait=30):
        waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert 0 < waited < 30
