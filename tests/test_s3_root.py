"""`paths.artifacts: s3://bucket/prefix`: every stage pulls its inputs from and pushes its outputs to S3.

Against moto's standalone S3 server on loopback (tests/fixtures/s3.py), through the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from netsec_cli.config import parse_config
from tests.fixtures.project import Project
from tests.fixtures.s3 import ACCESS_KEY, S3, SECRET_KEY
from tests.helpers import assert_error

PREFIX = "team/netsec"
STAGE_FOLDERS = {"etl", "validate", "transform", "train", "models"}


def cache(project: Project, s3: S3) -> Path:
    """The local working copy of s3://<bucket>/<PREFIX>."""
    return project.root / ".netsec-cache" / "s3" / s3.bucket / PREFIX


def use_root(project: Project, s3: S3, **extra: object) -> None:
    project.update_config(
        **{
            "paths.artifacts": f"s3://{s3.bucket}/{PREFIX}/",
            "aws.endpoint_url": s3.endpoint,
            "aws.retries": 1,
            "tracking.enabled": False,
            "data.synthetic_rows": 1500,
            **extra,
        }
    )


def tree(root: Path) -> dict[str, str]:
    """relative path → sha256 of every non-hidden file under `root`."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def remote_tree(s3: S3) -> dict[str, str]:
    """relative key → sha256 of every object under `PREFIX/` except the index."""
    base = PREFIX + "/"
    return {k[len(base) :]: v["sha256"] for k, v in s3.objects(base).items() if not k.endswith(".netsec-index.json")}


def invoke_ok(project: Project, *args: str) -> str:
    result = project.invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def object_gets(s3: S3) -> list[str]:
    """Paths of the GetObject requests the server served (listings excluded)."""
    return [path for method, path in s3.server.requests if method == "GET" and "?" not in path]


# ---- config -------------------------------------------------------------------------------


def test_s3_root_config_gives_a_remote_and_a_local_working_copy(tmp_path: Path) -> None:
    source = tmp_path / "config" / "config.yaml"
    config = parse_config({"paths": {"root": "..", "artifacts": "s3://my-bucket/a/b/"}}, source)
    assert config.artifacts_remote == ("my-bucket", "a/b")
    assert config.artifacts_remote.url == "s3://my-bucket/a/b"
    assert config.artifacts_dir == tmp_path / ".netsec-cache" / "s3" / "my-bucket" / "a" / "b"
    top = parse_config({"paths": {"artifacts": "s3://my-bucket"}}, source)
    assert top.artifacts_remote == ("my-bucket", "") and top.artifacts_dir == tmp_path / ".netsec-cache" / "s3" / "my-bucket"
    local = parse_config({"paths": {"artifacts": "out/artifacts"}}, source)
    assert local.artifacts_remote is None and local.artifacts_dir == tmp_path / "out" / "artifacts"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "s3://Bad_Bucket/p",
            (
                "invalid S3 bucket name 'Bad_Bucket' in 's3://Bad_Bucket/p': it may hold only lowercase letters,"
                " digits, '.' and '-', and must start and end with a letter or digit"
            ),
        ),
        ("s3://ab/p", "invalid S3 bucket name 'ab' in 's3://ab/p': it must be 3 to 63 characters long"),
        ("s3:///p", "'s3:///p' names no bucket (expected s3://bucket or s3://bucket/prefix)"),
        (
            "s3://good-bucket/a/../b",
            (
                "invalid prefix 'a/../b' in 's3://good-bucket/a/../b': it may not hold empty, '.' or '..' segments,"
                " backslashes or control characters"
            ),
        ),
    ],
)
def test_malformed_s3_root_exit_2_naming_paths_artifacts(project: Project, aws_env: None, url: str, problem: str) -> None:
    project.update_config(**{"paths.artifacts": url})
    result = project.invoke("run", "--source", "synthetic")
    assert_error(result, 2, f"Error: invalid config {project.config_path}: paths.artifacts: {problem}")
    assert not (project.root / ".netsec-cache").exists()


# ---- the pipeline against the root --------------------------------------------------------


def test_run_publishes_every_stage_to_s3_and_predict_pulls_the_model_on_a_clean_cache(
    project: Project, s3: S3, tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd

    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "run", "--source", "synthetic")

    local = cache(project, s3)
    assert not (project.root / "artifacts").exists()
    remote = remote_tree(s3)
    assert {rel.split("/")[0] for rel in remote} == STAGE_FOLDERS
    assert {f"{stage}/manifest.json" for stage in STAGE_FOLDERS} <= set(remote)
    assert remote == tree(local)  # the S3 root holds exactly what was published

    sample = tmp_path / "flows.npy"
    frame = pd.read_parquet(local / "etl" / "test.parquet").head(200)
    np.save(sample, frame.astype(str).to_numpy().astype("U"))
    invoke_ok(project, "predict", str(sample), "--output", str(tmp_path / "before.csv"))

    shutil.rmtree(project.root / ".netsec-cache")
    s3.server.clear_log()
    invoke_ok(project, "predict", str(sample), "--output", str(tmp_path / "after.csv"))
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()
    assert sorted(p.name for p in local.iterdir() if not p.name.startswith(".")) == ["models"]  # only what predict reads
    assert tree(local / "models") == {rel[len("models/") :]: sha for rel, sha in remote.items() if rel.startswith("models/")}
    assert any(path.endswith("/models/1/model_info.json") for path in object_gets(s3))

    s3.server.clear_log()  # an up-to-date copy downloads nothing but the manifest
    invoke_ok(project, "predict", str(sample), "--output", str(tmp_path / "again.csv"))
    assert [p for p in object_gets(s3) if f"/{PREFIX}/models/" in p] == [f"/{s3.bucket}/{PREFIX}/models/manifest.json"]
    assert s3.server.puts() == []  # predict --output publishes nothing


def test_default_predict_output_is_pushed_to_the_root(project: Project, s3: S3, tmp_path: Path) -> None:
    import pandas as pd

    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "run", "--source", "synthetic")
    source = tmp_path / "flows.csv"
    pd.read_parquet(cache(project, s3) / "etl" / "test.parquet").head(50).to_csv(source, index=False)
    invoke_ok(project, "predict", str(source))
    remote = remote_tree(s3)
    assert {"predict/manifest.json", "predict/predictions.csv"} <= set(remote)
    assert remote["predict/predictions.csv"] == tree(cache(project, s3) / "predict")["predictions.csv"]


def test_evaluate_pulls_the_model_into_a_clean_cache(project: Project, s3: S3, tmp_path: Path) -> None:
    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "run", "--source", "synthetic")
    labelled = tmp_path / "test.parquet"
    shutil.copy(cache(project, s3) / "etl" / "test.parquet", labelled)
    before = json.loads(invoke_ok(project, "evaluate", str(labelled), "--json"))

    shutil.rmtree(project.root / ".netsec-cache")
    after = json.loads(invoke_ok(project, "evaluate", str(labelled), "--json"))
    assert after["metrics"] == before["metrics"] and after["rows"] == before["rows"] > 0
    assert sorted(p.name for p in cache(project, s3).iterdir() if not p.name.startswith(".")) == ["models"]


def test_serve_pulls_the_model_from_the_root_before_it_listens(project: Project, s3: S3) -> None:
    from tests.fixtures.serve import start_server

    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "run", "--source", "synthetic")
    trained = tree(cache(project, s3) / "models")
    shutil.rmtree(project.root / ".netsec-cache")
    server = start_server(project)
    try:
        assert server.client.get("/readyz").status_code == 200  # a fresh cache alone would be 503
        assert tree(cache(project, s3) / "models") == trained
    finally:
        server.stop()


def test_a_stage_reads_what_the_root_publishes_not_a_stale_local_copy(project: Project, s3: S3, tmp_path: Path) -> None:
    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "etl", "--source", "synthetic")
    etl_remote = {k: v for k, v in remote_tree(s3).items() if k.startswith("etl/")}

    # Another machine publishes a different etl; this machine's copy is now stale.
    other = tmp_path / "machine2"
    other.mkdir()
    twin = Project(root=other, runner=project.runner)
    twin.write_config(yaml.safe_load(project.config_path.read_text()))
    twin.update_config(**{"paths.root": str(other), "data.synthetic_seed": 7})
    invoke_ok(twin, "etl", "--source", "synthetic")
    assert {k: v for k, v in remote_tree(s3).items() if k.startswith("etl/")} != etl_remote

    invoke_ok(project, "validate")  # pulls etl first
    assert tree(cache(project, s3) / "etl") == tree(cache(twin, s3) / "etl")

    # A stage the root no longer publishes is removed from the local copy before a stage reads it.
    s3.client.delete_objects(
        Bucket=s3.bucket,
        Delete={"Objects": [{"Key": k} for k in s3.objects(f"{PREFIX}/etl/")]},
    )
    result = project.invoke("transform")
    assert result.exit_code == 2, result.output
    assert "run `netsec etl`" in result.stderr
    assert not (cache(project, s3) / "etl").exists()


def test_failed_stage_leaves_the_published_folder_in_s3_and_locally(project: Project, s3: S3, tmp_path: Path) -> None:
    s3.create_bucket()
    use_root(project, s3)
    invoke_ok(project, "etl", "--source", "synthetic")
    before_remote = {k: (v["sha256"], v["etag"]) for k, v in s3.objects(f"{PREFIX}/etl/").items()}
    before_local = tree(cache(project, s3) / "etl")

    bad = tmp_path / "bad.csv"
    bad.write_text("alpha,beta\n1,2\n")
    s3.server.clear_log()
    result = project.invoke("etl", "--source", str(bad))
    assert result.exit_code == 2, result.output
    assert s3.server.puts() == []
    assert {k: (v["sha256"], v["etag"]) for k, v in s3.objects(f"{PREFIX}/etl/").items()} == before_remote
    assert tree(cache(project, s3) / "etl") == before_local


# ---- credentials, endpoint, bucket --------------------------------------------------------


def test_no_credentials_anywhere_exit_2_names_every_place_looked(
    project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket()
    use_root(project, s3)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    shared, profiles = os.environ["AWS_SHARED_CREDENTIALS_FILE"], os.environ["AWS_CONFIG_FILE"]
    s3.server.clear_log()
    result = project.invoke("etl", "--source", "synthetic")
    assert_error(
        result,
        2,
        f"Error: the artifacts root s3://{s3.bucket}/{PREFIX} needs AWS credentials: none in"
        f" config/aws_credentials.yaml (not found), the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY),"
        f" {shared}, {profiles} or an instance role"
        " (run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    )
    assert s3.server.requests == []
    assert not (cache(project, s3) / "etl").exists()


def test_sops_credentials_authenticate_the_root(
    secrets_project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket()
    use_root(secrets_project, s3)
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1"}
    init = secrets_project.invoke("secrets", "init", "--from-env", env=env)
    assert init.exit_code == 0, init.output
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)

    invoke_ok(secrets_project, "etl", "--source", "synthetic")
    assert "etl/manifest.json" in remote_tree(s3)

    stored = secrets_project.root / "config" / "aws_credentials.yaml"
    stored.rename(stored.with_suffix(".away"))  # control: nothing else supplies keys
    result = secrets_project.invoke("etl", "--source", "synthetic")
    assert result.exit_code == 2 and "needs AWS credentials: none in config/aws_credentials.yaml" in result.stderr


def test_unreachable_endpoint_exit_4(project: Project, aws_env: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    project.update_config(
        **{"paths.artifacts": "s3://netsec-nowhere/p", "aws.endpoint_url": endpoint, "aws.retries": 1}
    )
    result = project.invoke("etl", "--source", "synthetic")
    assert result.exit_code == 4, result.output
    assert result.stderr.count("Error: S3 endpoint " + endpoint + " failed during bucket check of bucket netsec-nowhere") == 1


def test_missing_bucket_exit_2_names_the_root(project: Project, s3: S3) -> None:
    use_root(project, s3)
    result = project.invoke("etl", "--source", "synthetic")
    assert_error(
        result,
        2,
        f"Error: S3 bucket {s3.bucket} of the artifacts root s3://{s3.bucket}/{PREFIX} does not exist at"
        f" {s3.endpoint} (create the bucket, or fix paths.artifacts)",
    )


def test_sync_s3_refuses_an_s3_root(project: Project, s3: S3) -> None:
    use_root(project, s3, **{"aws.bucket_name": s3.bucket})
    result = project.invoke("sync-s3")
    assert_error(
        result,
        2,
        f"Error: paths.artifacts is already the S3 location s3://{s3.bucket}/{PREFIX}: every stage pulls from"
        " and pushes to it, so sync-s3 has nothing to mirror (set paths.artifacts to a local folder to mirror it"
        " with sync-s3)",
    )
    assert s3.server.requests == []
