"""`netsec sync-s3` against a real S3 endpoint (moto's server over HTTP on loopback)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from netsec_cli.artifacts import staged_stage
from netsec_cli.config import load_config
from tests.fixtures.project import Project
from tests.fixtures.s3 import S3, SECRET_KEY, start_server
from tests.helpers import assert_error

PREFIX = "netsec"
REJECTED_HINT = (
    "(check the keys (`netsec secrets show`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the bucket policy)"
)


def endpoint_failed(endpoint: str, step: str, bucket: str, attempts: int) -> re.Pattern[str]:
    """The `Error:` line when the endpoint stayed unreachable (the last error's wording is botocore's)."""
    return re.compile(
        rf"Error: S3 endpoint {re.escape(endpoint)} failed during {step} of bucket {bucket}"
        rf" after {attempts} attempt\(s\): .+ \(check aws\.endpoint_url / AWS_ENDPOINT_URL and the network,"
        r" then re-run; finished files are not sent again\)"
    )


def tree(root: Path) -> dict[str, str]:
    """relative path → sha256 of every non-hidden file under `root`."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def make_stage(project: Project, stage: str, files: dict[str, bytes]) -> None:
    with staged_stage(project.artifacts, stage) as folder:
        for rel, data in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)


def make_artifacts(project: Project, version: str = "v1") -> None:
    make_stage(project, "etl", {"train.parquet": os.urandom(3000), "schema.yaml": f"columns: {version}\n".encode()})
    make_stage(
        project,
        "train",
        {"model.ubj": f"model-{version}".encode() * 500, "metrics.json": b'{"f1": 0.9}', "plots/roc.csv": b"0,1\n"},
    )


def configure(project: Project, s3: S3, **extra: object) -> None:
    project.update_config(**{"aws.bucket_name": s3.bucket, "aws.endpoint_url": s3.endpoint, "aws.retries": 1, **extra})


def sync(project: Project, *args: str) -> dict:
    result = project.invoke("sync-s3", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def remote_tree(s3: S3, folder: str = "artifacts") -> dict[str, str]:
    base = f"{PREFIX}/{folder}/"
    return {k[len(base) :]: v["sha256"] for k, v in s3.objects(base).items()}


# ---- round trip, incremental, verification ------------------------------------------------


def test_push_wipe_pull_gives_byte_identical_artifacts(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    before = tree(project.artifacts)

    pushed = sync(project)
    assert pushed["uploaded"] == len(before) and pushed["direction"] == "push"
    assert remote_tree(s3) == before
    meta = s3.objects(f"{PREFIX}/artifacts/")
    assert all(item["meta_sha256"] == item["sha256"] for item in meta.values())

    shutil.rmtree(project.artifacts)
    pulled = sync(project, "--pull")
    assert pulled["downloaded"] == len(before)
    assert tree(project.artifacts) == before
    assert not [p for p in project.artifacts.rglob("*") if p.name.startswith((".staging", ".previous")) or p.suffix == ".part"]

    again = sync(project, "--pull")
    assert again["downloaded"] == 0 and again["unchanged"] == len(before)


def test_second_push_of_unchanged_tree_sends_nothing(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    first = sync(project)
    assert first["requests"].get("PUT", 0) >= first["uploaded"] > 0
    stamps = {k: (v["last_modified"], v["etag"]) for k, v in s3.objects(PREFIX).items()}
    s3.server.clear_log()

    second = sync(project)
    assert second["uploaded"] == 0 and second["unchanged"] == first["uploaded"]
    assert second["requests"].get("PUT", 0) == 0 and second["requests"].get("POST", 0) == 0
    assert s3.server.puts() == []  # the server saw no write either
    assert {k: (v["last_modified"], v["etag"]) for k, v in s3.objects(PREFIX).items()} == stamps


def test_changed_file_is_the_only_one_sent(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    make_stage(project, "etl", {"train.parquet": (project.artifacts / "etl" / "train.parquet").read_bytes(), "schema.yaml": b"new\n"})
    s3.server.clear_log()
    result = sync(project)
    # schema.yaml and the etl manifest changed; train.parquet kept its content.
    assert sorted(a["key"].rsplit("/", 1)[1] for a in result["actions"]) == ["manifest.json", "schema.yaml"]
    assert remote_tree(s3) == tree(project.artifacts)


def test_large_file_goes_multipart_and_round_trips(project: Project, s3: S3) -> None:
    make_stage(project, "train", {"model.ubj": os.urandom(6 * 1024 * 1024 + 123)})
    configure(project, s3, **{"aws.multipart_threshold_mb": 5})
    s3.create_bucket()
    sync(project)
    assert any("uploadId=" in path for path in s3.server.puts())  # UploadPart requests
    before = tree(project.artifacts)
    shutil.rmtree(project.artifacts)
    sync(project, "--pull")
    assert tree(project.artifacts) == before


def test_pull_rejects_an_object_that_does_not_match_its_checksum(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    shutil.rmtree(project.artifacts)
    make_artifacts(project, "old")
    before = tree(project.artifacts)
    key = f"{PREFIX}/artifacts/train/model.ubj"
    good = s3.client.head_object(Bucket=s3.bucket, Key=key)["Metadata"]
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"tampered", Metadata=good)

    result = project.invoke("sync-s3", "--pull")
    assert_error(
        result,
        4,
        f"Error: downloaded s3://{s3.bucket}/{key} does not match its expected sha256; nothing was replaced "
        "(re-run the pull; if it persists, push again from the source machine)",
    )
    assert tree(project.artifacts) == before  # nothing replaced, no mix of versions
    assert not [p for p in project.artifacts.rglob(".staging-*")]


# ---- dry run and --delete -------------------------------------------------------------------


def test_dry_run_moves_nothing_either_way(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    planned = sync(project, "--dry-run")
    assert planned["dry_run"] and planned["uploaded"] == 0
    assert {a["action"] for a in planned["actions"]} == {"upload"} and len(planned["actions"]) == len(tree(project.artifacts))
    assert s3.objects() == {}

    sync(project)
    shutil.rmtree(project.artifacts / "train")
    plan_pull = sync(project, "--pull", "--dry-run")
    assert {a["action"] for a in plan_pull["actions"]} == {"download", "replace-stage"}
    assert not (project.artifacts / "train").exists()

    table = project.invoke("sync-s3", "--pull", "--dry-run")
    assert table.exit_code == 0 and "replace-stage" in table.stdout


def test_push_delete_removes_remote_files_gone_locally(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    shutil.rmtree(project.artifacts / "train")

    kept = sync(project)
    assert kept["deleted"] == 0 and "train/model.ubj" in remote_tree(s3)

    removed = sync(project, "--delete")
    assert removed["deleted"] == 4
    assert remote_tree(s3) == tree(project.artifacts)


def test_pull_delete_removes_local_files_not_on_remote(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    remote = tree(project.artifacts)
    make_stage(project, "validate", {"report.json": b"{}"})
    (project.artifacts / "notes.txt").write_text("local only")

    kept = sync(project, "--pull")
    assert kept["deleted"] == 0 and (project.artifacts / "notes.txt").exists()

    removed = sync(project, "--pull", "--delete")
    assert removed["deleted"] == 2
    assert tree(project.artifacts) == remote


def test_delete_against_an_empty_side_is_refused(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    before = tree(project.artifacts)
    project.update_config(**{"aws.prefix": "typo"})
    result = project.invoke("sync-s3", "--pull", "--delete")
    assert_error(
        result,
        2,
        f"Error: s3://{s3.bucket}/typo/artifacts/ is empty: refusing --delete, which would remove every file under "
        f"{project.artifacts} (check aws.bucket_name, aws.prefix and aws.sync_folders; run without --delete)",
    )
    assert tree(project.artifacts) == before

    project.update_config(**{"aws.prefix": PREFIX})
    for stage in ("etl", "train"):
        shutil.rmtree(project.artifacts / stage)
    result = project.invoke("sync-s3", "--delete")
    assert result.exit_code == 2 and "refusing --delete" in result.stderr
    assert len(remote_tree(s3)) == len(before)


# ---- bad input and faults -------------------------------------------------------------------


def test_missing_bucket_exit_2_suggests_create_bucket_which_works(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    result = project.invoke("sync-s3")
    assert_error(
        result,
        2,
        f"Error: S3 bucket {s3.bucket} does not exist at {s3.endpoint} "
        "(create it with `netsec sync-s3 --create-bucket`, or fix aws.bucket_name)",
    )

    created = sync(project, "--create-bucket")
    assert created["bucket_created"] and created["uploaded"] == len(tree(project.artifacts))
    assert remote_tree(s3) == tree(project.artifacts)


@pytest.mark.parametrize("name", ["Netsec_Bucket", "ab", "192.168.1.10", "my..bucket", "xn--bucket"])
def test_bad_bucket_name_exit_2_without_network(project: Project, aws_env: None, name: str) -> None:
    project.update_config(**{"aws.bucket_name": name, "aws.endpoint_url": "http://127.0.0.1:9"})
    result = project.invoke("sync-s3")
    invalid = rf"Error: invalid S3 bucket name '{re.escape(name)}' in aws\.bucket_name: it .+ \(fix aws\.bucket_name\)"
    assert_error(result, 2, re.compile(invalid))


def test_unset_bucket_exit_2(project: Project, aws_env: None) -> None:
    result = project.invoke("sync-s3")
    assert_error(
        result, 2, "Error: aws.bucket_name is not set (set aws.bucket_name in config/config.yaml to your S3 bucket)"
    )


def test_unreachable_endpoint_exit_4_in_bounded_time(project: Project, s3: S3) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make_artifacts(project)
    project.update_config(**{"aws.bucket_name": s3.bucket, "aws.endpoint_url": f"http://127.0.0.1:{port}", "aws.retries": 2})
    started = time.monotonic()
    result = project.invoke("sync-s3")
    assert time.monotonic() - started < 30
    assert_error(result, 4, endpoint_failed(f"http://127.0.0.1:{port}", "index read", s3.bucket, 3))


def test_wrong_credentials_exit_2_and_secret_never_shown(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    s3.server.require_auth(True)
    try:
        result = project.invoke("-v", "sync-s3")
    finally:
        s3.server.require_auth(False)
    assert_error(
        result,
        2,
        f"Error: S3 at {s3.endpoint} rejected the credentials for bucket {s3.bucket} (InvalidAccessKeyId) "
        + REJECTED_HINT,
    )
    assert SECRET_KEY not in result.output


def test_server_killed_mid_push_exit_4_then_rerun_completes(project: Project, s3: S3) -> None:
    make_stage(project, "etl", {f"part-{i:03d}.bin": os.urandom(200 + i) for i in range(300)})
    local = tree(project.artifacts)
    server = start_server()
    port = server.port
    try:
        project.update_config(**{"aws.bucket_name": s3.bucket, "aws.endpoint_url": server.endpoint, "aws.retries": 1})
        s3.create_bucket()
        server.kill_after = ("PUT", 100)
        started = time.monotonic()
        result = project.invoke("sync-s3")
        assert time.monotonic() - started < 60
        assert server.killed.is_set()
        assert_error(result, 4, endpoint_failed(server.endpoint, "upload", s3.bucket, 2))
    finally:
        server.stop()
    stored = s3.objects(f"{PREFIX}/artifacts/")
    assert 0 < len(stored) < len(local)
    assert f"{PREFIX}/artifacts/etl/manifest.json" not in stored  # manifests go last

    server = start_server(port)  # same port, same moto state
    try:
        rerun = sync(project)
    finally:
        server.stop()
    assert rerun["uploaded"] == len(local) - len(stored)  # what made it the first time is not re-sent
    assert remote_tree(s3) == local  # same keys, same content: nothing lost, nothing duplicated


def test_pull_cut_off_midway_keeps_the_old_stage_whole(project: Project, s3: S3) -> None:
    make_stage(project, "train", {f"tree-{i:02d}.json": f"new {i}".encode() * 100 for i in range(40)})
    server = start_server()
    port = server.port
    try:
        project.update_config(**{"aws.bucket_name": s3.bucket, "aws.endpoint_url": server.endpoint, "aws.retries": 1})
        s3.create_bucket()
        sync(project)
        shutil.rmtree(project.artifacts)
        make_stage(project, "train", {f"tree-{i:02d}.json": f"old {i}".encode() for i in range(40)})
        old = tree(project.artifacts)
        server.clear_log()
        server.kill_after = ("GET", 10)
        result = project.invoke("sync-s3", "--pull")
        assert_error(result, 4, endpoint_failed(server.endpoint, "download", s3.bucket, 2))
    finally:
        server.stop()
    assert tree(project.artifacts) == old
    assert [p.name for p in project.artifacts.iterdir() if not p.name.startswith(".lock")] == ["train"]
    server = start_server(port)
    try:
        sync(project, "--pull")
    finally:
        server.stop()
    assert tree(project.artifacts / "train")["tree-05.json"] == hashlib.sha256(b"new 5" * 100).hexdigest()


# ---- endpoint selection, stage hook, secrets ------------------------------------------------


def test_aws_endpoint_url_env_is_used_and_config_wins(project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    make_artifacts(project)
    project.update_config(**{"aws.bucket_name": s3.bucket, "aws.retries": 0})
    s3.create_bucket()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    assert sync(project)["endpoint"] == s3.endpoint
    assert remote_tree(s3) == tree(project.artifacts)

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    project.update_config(**{"aws.endpoint_url": s3.endpoint})
    assert sync(project)["endpoint"] == s3.endpoint


def test_sync_stage_outputs_pushes_only_that_stage(project: Project, s3: S3) -> None:
    from netsec_cli.runner.mirror import push_stage as sync_stage_outputs

    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    result = sync_stage_outputs(load_config(project.config_path), "train")
    assert result.uploaded == 4
    assert set(remote_tree(s3)) == {f"train/{rel}" for rel in tree(project.artifacts / "train")}

    make_stage(project, "train", {"model.ubj": b"retrained"})
    sync_stage_outputs(load_config(project.config_path), "train")
    assert set(remote_tree(s3)) == {"train/model.ubj", "train/manifest.json"}  # stale files of the stage removed


def test_logs_and_json_never_contain_the_secret(project: Project, s3: S3) -> None:
    make_artifacts(project)
    configure(project, s3)
    result = project.invoke("--debug", "sync-s3", "--json", "--create-bucket")
    assert result.exit_code == 0, result.output
    assert SECRET_KEY not in result.output
    for log in project.root.joinpath("logs").rglob("*"):
        if log.is_file():
            assert SECRET_KEY not in log.read_text(errors="replace")


# ---- with the real pipeline -----------------------------------------------------------------


def test_etl_sync_flag_mirrors_the_stage_when_it_finishes(project: Project, s3: S3) -> None:
    configure(project, s3)
    s3.create_bucket()
    result = project.invoke("etl", "--source", "synthetic", "--sync")
    assert result.exit_code == 0, result.output
    assert remote_tree(s3) == {f"etl/{rel}": sha for rel, sha in tree(project.artifacts / "etl").items()}


def test_a_skipped_stage_is_still_mirrored_with_sync(project: Project, s3: S3) -> None:
    configure(project, s3)
    s3.create_bucket()
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    result = project.invoke("etl", "--source", "synthetic", "--sync")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("etl: skipped (unchanged)\n")
    assert remote_tree(s3) == {f"etl/{rel}": sha for rel, sha in tree(project.artifacts / "etl").items()}


def test_predict_works_on_a_fresh_machine_after_pull(project: Project, s3: S3, tmp_path: Path, tracking_db: Path) -> None:
    import numpy as np
    import pandas as pd

    from tests.fixtures.project import small_config

    configure(project, s3, **{"tracking.enabled": False, "data.synthetic_rows": 1500})
    s3.create_bucket()
    run = project.invoke("run", "--sync")  # each stage mirrored as it finishes
    assert run.exit_code == 0, run.output
    assert {rel.split("/")[0] for rel in remote_tree(s3)} == {"etl", "validate", "transform", "train", "models"}
    assert remote_tree(s3) == tree(project.artifacts)
    sample = tmp_path / "flows.npy"
    frame = pd.read_parquet(project.artifacts / "etl" / "test.parquet").head(200)
    np.save(sample, frame.astype(str).to_numpy().astype("U"))
    here = project.invoke("predict", str(sample), "--output", str(tmp_path / "here.csv"))
    assert here.exit_code == 0, here.output
    pushed = sync(project)
    assert pushed["uploaded"] == len(tree(project.artifacts / "predict"))  # the rest was already there

    root = tmp_path / "machine2"
    root.mkdir()
    fresh = Project(root=root, runner=project.runner)
    aws = {"aws.bucket_name": s3.bucket, "aws.endpoint_url": s3.endpoint, "aws.retries": 1}
    fresh.write_config(small_config(root, tracking_db, **aws))
    assert not fresh.artifacts.exists()
    pulled = sync(fresh, "--pull")
    assert pulled["downloaded"] > 0
    for stage in ("etl", "transform", "train"):
        assert tree(fresh.artifacts / stage) == tree(project.artifacts / stage)

    there = fresh.invoke("predict", str(sample), "--output", str(tmp_path / "there.csv"))
    assert there.exit_code == 0, there.output
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_no_credentials_anywhere_exit_2(project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    make_artifacts(project)
    configure(project, s3)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = project.invoke("sync-s3")
    assert_error(
        result,
        2,
        f"Error: no usable AWS credentials for index read (bucket {s3.bucket}) "
        "(run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    )


def test_unknown_aws_profile_exit_2_names_it(project: Project, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    project.update_config(**{"aws.bucket_name": "netsec-test", "aws.endpoint_url": "http://127.0.0.1:9"})
    result = project.invoke("sync-s3")
    assert result.exit_code == 2, result.output
    assert "AWS profile 'no-such-profile' not found" in result.stderr
    assert "Traceback" not in result.output
