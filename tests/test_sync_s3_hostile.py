"""`netsec sync-s3` against a bucket that is not to be trusted, and local links that must not be followed.

A real S3 endpoint (moto's server on loopback, see `tests/fixtures/s3.py`). Every refused pull
is checked for its one `Error:` line and exit code, for the file it would have written outside
the project (which must not exist), and for the published artifacts (which must not change).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from netsec_cli.config import load_config
from tests.fixtures.project import Project
from tests.fixtures.s3 import S3
from tests.helpers import assert_error
from tests.test_sync_s3 import (
    PREFIX,
    configure,
    make_artifacts,
    make_stage,
    remote_tree,
    sync,
    tree,
)

INSIDE_HINT = "(remote objects must stay inside artifacts/)"
CORRUPT_HINT = "(re-run the stage and push again from the machine that has it)"


def pushed_project(project: Project, s3: S3) -> dict[str, str]:
    """Artifacts pushed to the bucket, then replaced locally by an older version; returns the local tree."""
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    make_artifacts(project, "old")
    return tree(project.artifacts)


def put(s3: S3, key: str, body: bytes) -> None:
    """Store an object the way a push does (sha256 metadata), bypassing netsec."""
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=body, Metadata={"sha256": hashlib.sha256(body).hexdigest()})


def assert_untouched(project: Project, before: dict[str, str], *outside: Path) -> None:
    """The published artifacts are as they were, no staging or partial file is left, nothing exists outside."""
    assert tree(project.artifacts) == before
    leftovers = [p for p in project.artifacts.rglob("*") if p.name.startswith((".staging", ".previous")) or p.suffix == ".part"]
    assert leftovers == []
    for path in outside:
        assert not os.path.lexists(path), f"{path} was written"


def manifest_body(*paths: str) -> bytes:
    files = [{"path": p, "size": 1, "sha256": "0" * 64} for p in paths]
    return json.dumps({"stage": "train", "created": "2024-01-01T00:00:00+00:00", "files": files}).encode()


# ---- keys that would leave the folder --------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("{outside}", "its path is absolute"),  # <prefix>/artifacts//tmp/.../x
        ("train/{outside}", "its path has an empty segment"),  # <prefix>/artifacts/train//tmp/.../x
        ("../../x", "its path has a '..' segment"),
        ("notes/./x", "its path has a '.' segment"),
        ("..\\..\\x", "its path contains a backslash"),
        ("notes/\x1b[31mred", "its path contains a control character"),
        ("notes/nul\x00x", "its path contains a control character"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_pull_refuses_a_key_that_would_leave_the_folder(
    project: Project, s3: S3, tmp_path: Path, rel: str, reason: str, dry_run: bool
) -> None:
    before = pushed_project(project, s3)
    outside = tmp_path / "outside" / "x"
    key = f"{PREFIX}/artifacts/" + rel.format(outside=outside)
    put(s3, key, b"written outside the project")

    result = project.invoke("sync-s3", "--pull", *(["--dry-run"] if dry_run else []))
    shown = key.replace("\\", "\\\\").replace("\x1b", "\\x1b").replace("\x00", "\\x00")
    line = assert_error(result, 2, f"Error: refusing to pull s3://{s3.bucket}/{shown}: {reason} {INSIDE_HINT}")
    assert "\x1b" not in result.output and "\x00" not in result.output  # the key's control characters are escaped
    assert line.isprintable()
    would_be = [outside, outside.parent, tmp_path / "x", project.artifacts / "notes"]
    assert_untouched(project, before, *would_be)


def test_folder_markers_are_not_files(project: Project, s3: S3) -> None:
    """Empty `name/` objects (what S3 consoles create for "folders") are skipped, not written."""
    before = pushed_project(project, s3)
    for marker in (f"{PREFIX}/artifacts/", f"{PREFIX}/artifacts/notes/", f"{PREFIX}/artifacts/train/"):
        s3.client.put_object(Bucket=s3.bucket, Key=marker, Body=b"")
    pulled = sync(project, "--pull")
    assert pulled["downloaded"] > 0 and tree(project.artifacts) != before
    assert not (project.artifacts / "notes").exists()
    assert tree(project.artifacts) == {rel: sha for rel, sha in remote_tree(s3).items() if rel and not rel.endswith("/")}


# ---- manifests that list paths outside their stage --------------------------------------------


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("{outside}", "is absolute"),
        ("../../x", "has a '..' segment"),
        ("plots/../../../x", "has a '..' segment"),
        (".hidden/x", "has a hidden segment"),
        ("a//x", "has an empty segment"),
        ("", "is empty"),
        ("evil\x1b]0;x\x07", "contains a control character"),
    ],
)
def test_pull_refuses_a_manifest_listing_a_path_outside_its_stage(
    project: Project, s3: S3, tmp_path: Path, entry: str, reason: str
) -> None:
    before = pushed_project(project, s3)
    outside = tmp_path / "outside" / "x"
    path = entry.format(outside=outside)
    put(s3, f"{PREFIX}/artifacts/train/manifest.json", manifest_body("model.ubj", path))

    result = project.invoke("sync-s3", "--pull")
    shown = path.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert_error(
        result,
        2,
        f"Error: refusing to pull s3://{s3.bucket}/{PREFIX}/artifacts/train/manifest.json: its entry '{shown}' {reason} "
        + INSIDE_HINT,
    )
    assert_untouched(project, before, outside, outside.parent, tmp_path / "x", project.root / "x")


def test_a_listed_absolute_object_is_refused_by_its_key_before_the_manifest_is_used(
    project: Project, s3: S3, tmp_path: Path
) -> None:
    """The object an absolute manifest entry names exists too: the pull stops at its key, writing nothing."""
    before = pushed_project(project, s3)
    outside = tmp_path / "outside" / "x"
    put(s3, f"{PREFIX}/artifacts/train/manifest.json", manifest_body("model.ubj", str(outside)))
    put(s3, f"{PREFIX}/artifacts/train/{outside}", b"x")
    for args in (["--pull", "--dry-run"], ["--pull"]):
        result = project.invoke("sync-s3", *args)
        assert_error(
            result,
            2,
            f"Error: refusing to pull s3://{s3.bucket}/{PREFIX}/artifacts/train/{outside}: its path has an empty segment "
            + INSIDE_HINT,
        )
        assert_untouched(project, before, outside, outside.parent)


# ---- local symlinks ---------------------------------------------------------------------------


def test_pull_refuses_to_write_through_a_symlinked_folder(project: Project, s3: S3, tmp_path: Path) -> None:
    before = pushed_project(project, s3)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project.artifacts / "notes").symlink_to(outside, target_is_directory=True)
    put(s3, f"{PREFIX}/artifacts/notes/x.txt", b"through the link")

    result = project.invoke("sync-s3", "--pull")
    assert_error(
        result,
        2,
        f"Error: refusing to pull s3://{s3.bucket}/{PREFIX}/artifacts/notes/x.txt: its path goes through the local "
        f"symlink {project.artifacts / 'notes'} {INSIDE_HINT}",
    )
    assert list(outside.iterdir()) == []
    assert_untouched(project, before, outside / "x.txt")


def test_pull_refuses_a_stage_folder_that_is_a_symlink(project: Project, s3: S3, tmp_path: Path) -> None:
    pushed_project(project, s3)
    outside = tmp_path / "outside"
    (project.artifacts / "train").rename(outside)
    (project.artifacts / "train").symlink_to(outside, target_is_directory=True)
    before, elsewhere = tree(project.artifacts), tree(outside)

    result = project.invoke("sync-s3", "--pull")
    assert_error(
        result,
        2,
        f"Error: refusing to pull s3://{s3.bucket}/{PREFIX}/artifacts/train/metrics.json: its path goes through the "
        f"local symlink {project.artifacts / 'train'} {INSIDE_HINT}",
    )
    assert (project.artifacts / "train").is_symlink() and tree(outside) == elsewhere
    assert_untouched(project, before)


def test_pull_replaces_a_symlinked_file_without_writing_through_it(project: Project, s3: S3, tmp_path: Path) -> None:
    pushed_project(project, s3)
    put(s3, f"{PREFIX}/artifacts/notes.txt", b"from the bucket")
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"must survive")
    (project.artifacts / "notes.txt").symlink_to(precious)
    model = project.artifacts / "train" / "model.ubj"
    model.unlink()
    model.symlink_to(precious)

    sync(project, "--pull")
    assert precious.read_bytes() == b"must survive"
    for path in (project.artifacts / "notes.txt", model):
        assert not path.is_symlink() and path.is_file()
    assert tree(project.artifacts) == remote_tree(s3)


def test_push_never_follows_a_symlink(project: Project, s3: S3, tmp_path: Path) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    secret = tmp_path / "age.key"
    secret.write_bytes(b"AGE-SECRET-KEY-1NETSECTESTNOTAREALKEY")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "also-secret.txt").write_bytes(b"outside the project")
    links = [project.artifacts / "age.key", project.artifacts / "train" / "key-copy", project.artifacts / "linked"]
    links[0].symlink_to(secret)
    links[1].symlink_to(secret)
    links[2].symlink_to(outside, target_is_directory=True)

    result = project.invoke("sync-s3", "--json")
    assert result.exit_code == 0, result.output
    pushed = json.loads(result.stdout)
    assert pushed["skipped"] == 3 and pushed["uploaded"] == 7  # 5 files and 2 manifests
    stored = s3.objects(PREFIX)
    assert not [k for k in stored if "age.key" in k or "key-copy" in k or "linked" in k]
    contents = {item["sha256"] for item in stored.values()}
    for data in (secret.read_bytes(), (outside / "also-secret.txt").read_bytes()):
        assert hashlib.sha256(data).hexdigest() not in contents
    logged = (project.root / "logs" / "system.log").read_text()
    for link in links:
        assert f"skipped {link}: not a regular file (symlinks are never followed)" in logged
    assert "skipped" in result.stderr and "symlinks are never followed" in " ".join(result.stderr.split())

    table = project.invoke("sync-s3")
    assert table.exit_code == 0 and "skipped (symlinks)" in table.stdout


def test_stage_push_refuses_a_symlinked_stage_folder(project: Project, s3: S3, tmp_path: Path) -> None:
    from netsec_cli.errors import InputError
    from netsec_cli.runner.mirror import push_stage

    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    (project.artifacts / "train").rename(tmp_path / "train")
    (project.artifacts / "train").symlink_to(tmp_path / "train", target_is_directory=True)
    with pytest.raises(InputError, match="is a symlink; netsec never mirrors through links"):
        push_stage(load_config(project.config_path), "train")
    assert s3.objects(PREFIX) == {}


# ---- what the bucket says is not what it holds ------------------------------------------------


@pytest.mark.parametrize("multipart", [False, True])
def test_upload_the_server_stores_differently_fails_its_checksum(
    project: Project, s3: S3, multipart: bool
) -> None:
    size = 6 * 1024 * 1024 + 7 if multipart else 5000
    make_stage(project, "train", {"model.ubj": os.urandom(size), "metrics.json": b"{}"})
    configure(project, s3, **{"aws.multipart_threshold_mb": 5})
    s3.create_bucket()
    key = f"{PREFIX}/artifacts/train/model.ubj"
    s3.server.corrupt_puts.add(f"/{s3.bucket}/{key}")

    result = project.invoke("sync-s3")
    assert_error(
        result,
        4,
        f"Error: s3://{s3.bucket}/{key} does not match {project.artifacts / 'train' / 'model.ubj'} after upload "
        "(size or sha256 differ) (re-run `netsec sync-s3`; if it persists, check the endpoint)",
    )
    stored = s3.objects(PREFIX)
    assert key not in stored  # the object the server got wrong is removed, so a re-run sends it again
    assert f"{PREFIX}/artifacts/train/manifest.json" not in stored  # the manifest never describes a bad upload

    s3.server.corrupt_puts.clear()
    sync(project)
    assert remote_tree(s3) == tree(project.artifacts)


def test_confirm_upload_checks_the_servers_checksum_of_a_replaced_object(project: Project, s3: S3, tmp_path: Path) -> None:
    """No upload receipt: the HEAD the confirmation makes reports the checksum of what is really stored."""
    from netsec_cli.artifacts import sha256_file
    from netsec_cli.cloud.objects import LocalFile
    from netsec_cli.errors import ServiceError
    from netsec_cli.runner.mirror import open_mirror

    configure(project, s3)
    s3.create_bucket()
    local = tmp_path / "model.ubj"
    local.write_bytes(b"the bytes we sent")
    file = LocalFile(local, local.stat().st_size, sha256_file(local))
    mirror = open_mirror(load_config(project.config_path))
    key = mirror.key("artifacts", "train", "model.ubj")

    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=local.read_bytes(), ChecksumAlgorithm="SHA256", Metadata={"sha256": file.sha256})
    assert mirror.confirm_upload(key, file).sha256 == file.sha256

    other = b"the bytes it kept"  # same size, and metadata that still claims the local sha256
    assert len(other) == file.size
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=other, ChecksumAlgorithm="SHA256", Metadata={"sha256": file.sha256})
    with pytest.raises(ServiceError, match=re.escape(f"s3://{s3.bucket}/{key} does not match {local} after upload")):
        mirror.confirm_upload(key, file)


def test_pulled_stage_that_does_not_match_its_manifest_replaces_nothing(project: Project, s3: S3) -> None:
    """An object replaced after its manifest was written (same size, its own consistent metadata)."""
    before = pushed_project(project, s3)
    key = f"{PREFIX}/artifacts/train/model.ubj"  # differs from the local copy, so it is downloaded
    original = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    put(s3, key, b"X" * len(original))

    result = project.invoke("sync-s3", "--pull")
    assert_error(
        result,
        4,
        f"Error: downloaded s3://{s3.bucket}/{key} does not match its expected sha256; nothing was replaced "
        "(re-run the pull; if it persists, push again from the source machine)",
    )
    assert_untouched(project, before)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"files": "model.ubj"}',
        b'{"files": [{"path": "model.ubj"}]}',
        b"[" * 100_000,
        manifest_body("model.ubj", "model.ubj"),
        manifest_body("plots", "plots/roc.csv"),
        manifest_body("manifest.json"),
    ],
    ids=["not-json", "wrong-shape", "entry-fields", "deep-nesting", "duplicate", "file-and-folder", "lists-itself"],
)
def test_corrupt_remote_manifest_exit_2(project: Project, s3: S3, body: bytes) -> None:
    before = pushed_project(project, s3)
    put(s3, f"{PREFIX}/artifacts/train/manifest.json", body)
    for args in (["--pull", "--dry-run"], ["--pull"]):
        result = project.invoke("sync-s3", *args)
        assert_error(
            result, 2, f"Error: remote manifest s3://{s3.bucket}/{PREFIX}/artifacts/train/manifest.json is corrupt {CORRUPT_HINT}"
        )
        assert_untouched(project, before)


def test_oversized_remote_manifest_is_never_downloaded(project: Project, s3: S3) -> None:
    from netsec_cli.cloud.bucket import MAX_MANIFEST_BYTES

    before = pushed_project(project, s3)
    key = f"{PREFIX}/artifacts/train/manifest.json"
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b" " * (MAX_MANIFEST_BYTES + 1))
    s3.server.clear_log()

    result = project.invoke("sync-s3", "--pull")
    assert_error(
        result,
        2,
        f"Error: remote manifest s3://{s3.bucket}/{key} is too large ({MAX_MANIFEST_BYTES + 1:,} bytes; at most 16 MiB) "
        "(a stage manifest is a few kilobytes: push that stage again from the machine that produced it)",
    )
    assert not [path for method, path in s3.server.requests if method == "GET" and path.endswith(key)]
    assert_untouched(project, before)


# ---- a corrupt remote index is a cache miss ---------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"not json", b'{"objects": []}', b"[1, 2]", b"{}", b"[" * 100_000], ids=["text", "list", "array", "empty", "deep"]
)
def test_corrupt_remote_index_is_ignored_with_a_warning_and_rewritten(project: Project, s3: S3, body: bytes) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    index_key = f"{PREFIX}/.netsec-index.json"
    s3.client.put_object(Bucket=s3.bucket, Key=index_key, Body=body)

    pushed = project.invoke("sync-s3", "--json")
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.stdout)["uploaded"] == 0  # each object's sha256 came from its metadata instead
    assert f"ignoring unreadable S3 index s3://{s3.bucket}/{index_key}" in (project.root / "logs" / "system.log").read_text()
    assert set(s3.index()["objects"]) == set(s3.objects(f"{PREFIX}/artifacts/"))  # rebuilt

    s3.client.put_object(Bucket=s3.bucket, Key=index_key, Body=body)
    before = tree(project.artifacts)
    (project.artifacts / "train" / "model.ubj").unlink()
    pulled = sync(project, "--pull")
    assert pulled["downloaded"] > 0 and tree(project.artifacts) == before


def test_malformed_index_entries_are_dropped_not_trusted(project: Project, s3: S3) -> None:
    """An entry whose sha256 is not a sha256 would otherwise become a loose file's expected hash."""
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    (project.artifacts / "notes.txt").write_bytes(b"loose")
    sync(project)
    index = s3.index()
    key = f"{PREFIX}/artifacts/notes.txt"
    index["objects"][key]["sha256"] = "not-a-sha256"
    index["objects"][f"{PREFIX}/artifacts/etl/schema.yaml"]["size"] = "12"
    s3.client.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/.netsec-index.json", Body=json.dumps(index).encode())
    (project.artifacts / "notes.txt").unlink()

    pulled = sync(project, "--pull")
    assert pulled["downloaded"] == 1 and (project.artifacts / "notes.txt").read_bytes() == b"loose"
    logged = (project.root / "logs" / "system.log").read_text()
    assert f"ignoring 2 malformed entries of S3 index s3://{s3.bucket}/{PREFIX}/.netsec-index.json" in logged


def test_oversized_remote_index_is_ignored(project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    make_artifacts(project)
    configure(project, s3)
    s3.create_bucket()
    sync(project)
    monkeypatch.setattr("netsec_cli.cloud.bucket.MAX_INDEX_BYTES", 100)  # the real cap is 64 MiB
    again = sync(project)
    assert again["uploaded"] == 0
    assert "ignoring S3 index" in (project.root / "logs" / "system.log").read_text()


# ---- what is shown --------------------------------------------------------------------------


def test_dry_run_table_escapes_what_a_terminal_would_interpret(
    project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netsec_cli.cli.output import console

    monkeypatch.setattr(console, "_width", 400)  # one table row per line
    pushed_project(project, s3)
    put(s3, f"{PREFIX}/artifacts/e\u202etxt.exe", b"right-to-left override")
    put(s3, f"{PREFIX}/artifacts/[/red]", b"rich markup")

    result = project.invoke("sync-s3", "--pull", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.stdout
    assert f"{PREFIX}/artifacts/e\\u202etxt.exe" in result.stdout and f"{PREFIX}/artifacts/[/red]" in result.stdout


def test_printable_escapes_control_characters() -> None:
    from netsec_cli.cloud.paths import printable

    assert printable("a\x1b[31m\x00\n\u202e\\b é") == "a\\x1b[31m\\x00\\n\\u202e\\\\b é"
