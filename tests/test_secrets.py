"""`netsec secrets init|show|check|rotate` end to end, with the real age binaries."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from netsec_cli.config import load_config
from netsec_cli.errors import SecretsError
from netsec_cli.secrets.credentials import AwsCredentials
from netsec_cli.secrets.runtime import load_aws_credentials
from tests.fixtures.age import FakeAws, flip, new_fake_aws
from tests.fixtures.project import Project

CREDENTIALS = Path("config") / "aws_credentials.yaml"
KEY_FILE = Path("config") / "sops" / "age" / "keys.txt"


def init(project: Project, aws: FakeAws, *args: str, **extra_env: str):  # noqa: ANN201 - typer Result
    return project.invoke("secrets", "init", "--from-env", *args, env=aws.env(**extra_env))


def load(project: Project) -> AwsCredentials | None:
    return load_aws_credentials(load_config(project.config_path))


def test_init_from_env_without_terminal_then_show_and_decrypt(secrets_project: Project, fake_aws: FakeAws) -> None:
    result = init(secrets_project, fake_aws, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["recipient"].startswith("age1") and data["key_created"] is True
    assert data["stored_keys"] == ["aws.access_key_id", "aws.secret_access_key", "aws.region"]
    root = secrets_project.root
    key_file = root / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    sops_yaml = (root / ".sops.yaml").read_text()
    assert data["recipient"] in sops_yaml and "config/aws_credentials\\.yaml$" in sops_yaml
    encrypted = (root / CREDENTIALS).read_text()
    assert encrypted.count("ENC[AES256_GCM,") == 4 and "sops:" in encrypted

    shown = secrets_project.invoke("secrets", "show", "--json")
    assert shown.exit_code == 0, shown.output
    values = {v["key"]: v["value"] for v in json.loads(shown.stdout)["values"]}
    assert values["aws.access_key_id"] == f"{fake_aws.access_key_id[:4]}…{fake_aws.access_key_id[-2:]}"
    assert values["aws.secret_access_key"] == "********"
    assert json.loads(shown.stdout)["recipients"] == [data["recipient"]]
    for output in (result.output, shown.output):
        assert fake_aws.secret_access_key not in output and fake_aws.access_key_id not in output

    credentials = load(secrets_project)
    assert credentials == AwsCredentials(fake_aws.access_key_id, fake_aws.secret_access_key, fake_aws.region)
    assert fake_aws.secret_access_key not in repr(credentials)


def test_init_prompts_with_hidden_input(secrets_project: Project) -> None:
    aws = new_fake_aws()
    result = secrets_project.invoke(
        "secrets", "init", input=f"{aws.access_key_id}\n{aws.secret_access_key}\n\n"
    )
    assert result.exit_code == 0, result.output
    assert aws.secret_access_key not in result.output and aws.access_key_id not in result.output
    assert "public recipient: age1" in result.stdout
    credentials = load(secrets_project)
    assert credentials is not None and credentials.secret_access_key == aws.secret_access_key
    assert credentials.region == "us-east-1"  # the prompt's default: aws.region from config


def _files_under(folder: Path, since: float | None = None) -> list[Path]:
    found = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            try:
                if path.is_file() and not path.is_symlink() and (since is None or path.stat().st_mtime >= since):
                    found.append(path)
            except OSError:
                continue
    return found


def test_no_plaintext_secret_in_any_file_after_init(
    secrets_project: Project, fake_aws: FakeAws, tmp_path_factory: pytest.TempPathFactory
) -> None:
    started = time.time() - 1
    assert init(secrets_project, fake_aws).exit_code == 0
    assert secrets_project.invoke("secrets", "show").exit_code == 0
    assert secrets_project.invoke("-v", "secrets", "check").exit_code == 0
    logging.getLogger("netsec_cli.test").info("the secret is %s", fake_aws.secret_access_key)
    files = set(_files_under(secrets_project.root)) | set(_files_under(tmp_path_factory.getbasetemp()))
    files |= set(_files_under(Path(tempfile.gettempdir()), since=started))
    assert any(p.name == "system.log" for p in files)
    needles = [fake_aws.secret_access_key.encode(), fake_aws.access_key_id.encode()]
    for path in files:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for needle in needles:
            assert needle not in content, f"plaintext secret found in {path}"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda text: flip(text, "secret_access_key:"), id="value"),
        pytest.param(lambda text: flip(text, "mac:"), id="mac"),
        pytest.param(
            lambda text: re.sub(r'lastmodified: "[^"]+"', 'lastmodified: "2020-01-01T00:00:00Z"', text), id="lastmodified"
        ),
        pytest.param(
            lambda text: re.sub(
                r"(access_key_id: )(ENC\[[^\]]+\])(.*\n.*secret_access_key: )(ENC\[[^\]]+\])", r"\1\4\3\2", text
            ),
            id="swapped-values",
        ),
    ],
)
def test_tampered_file_fails_integrity_check(secrets_project: Project, fake_aws: FakeAws, tamper) -> None:  # noqa: ANN001
    assert init(secrets_project, fake_aws).exit_code == 0
    path = secrets_project.root / CREDENTIALS
    original = path.read_text()
    path.write_text(tamper(original))
    assert path.read_text() != original
    for command in (("secrets", "show"), ("secrets", "check"), ("--debug", "secrets", "show", "--json")):
        result = secrets_project.invoke(*command)
        assert result.exit_code == 2, result.output
        assert "integrity check failed" in result.stderr and str(path) in result.stderr
        assert fake_aws.secret_access_key not in result.output
    with pytest.raises(SecretsError, match="integrity check failed"):
        load(secrets_project)


def test_wrong_key_file_names_it(secrets_project: Project, fake_aws: FakeAws, tmp_path: Path) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    other = tmp_path / "other-keys.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    result = secrets_project.invoke("secrets", "show", env={"SOPS_AGE_KEY_FILE": str(other)})
    assert result.exit_code == 2
    assert str(other) in result.stderr and "not one of its recipients" in result.stderr


def test_missing_key_file_names_it(secrets_project: Project, fake_aws: FakeAws, tmp_path: Path) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    missing = tmp_path / "nowhere" / "keys.txt"
    result = secrets_project.invoke("secrets", "show", env={"SOPS_AGE_KEY_FILE": str(missing)})
    assert result.exit_code == 2
    assert f"age key file {missing} not found" in result.stderr
    (secrets_project.root / KEY_FILE).unlink()
    result = secrets_project.invoke("secrets", "show")
    assert result.exit_code == 2 and str(secrets_project.root / KEY_FILE) in result.stderr
    with pytest.raises(SecretsError, match="not found"):
        load(secrets_project)


def test_inline_sops_age_key_decrypts(secrets_project: Project, fake_aws: FakeAws, tmp_path: Path) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    identity = (secrets_project.root / KEY_FILE).read_text()
    env = {"SOPS_AGE_KEY_FILE": str(tmp_path / "absent.txt"), "SOPS_AGE_KEY": identity}
    result = secrets_project.invoke("secrets", "show", "--json", env=env)
    assert result.exit_code == 0, result.output


def test_init_refuses_existing_and_force_keeps_backup(secrets_project: Project, fake_aws: FakeAws) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    path = secrets_project.root / CREDENTIALS
    before = path.read_bytes()
    again = init(secrets_project, new_fake_aws())
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert path.read_bytes() == before

    second = new_fake_aws()
    forced = init(secrets_project, second, "--force", "--json")
    assert forced.exit_code == 0, forced.output
    data = json.loads(forced.stdout)
    backup = Path(data["backup"])
    assert backup.name.startswith("aws_credentials.yaml.bak-") and backup.read_bytes() == before
    assert data["key_created"] is False  # the existing age key is reused
    credentials = load(secrets_project)
    assert credentials is not None and credentials.secret_access_key == second.secret_access_key


def test_rotate_new_key_and_old_key_no_longer_decrypts(secrets_project: Project, fake_aws: FakeAws) -> None:
    first = init(secrets_project, fake_aws, "--json")
    old_recipient = json.loads(first.stdout)["recipient"]
    old_data = (secrets_project.root / CREDENTIALS).read_text()
    old_mac = re.search(r"mac: (ENC\[.*\])", old_data)[1]  # type: ignore[index]

    result = secrets_project.invoke("secrets", "rotate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["old_recipient"] == old_recipient and data["new_recipient"] != old_recipient
    key_backup = Path(data["key_backup"])
    assert key_backup.is_file() and stat.S_IMODE(key_backup.stat().st_mode) == 0o600
    assert Path(data["credentials_backup"]).read_text() == old_data
    new_data = (secrets_project.root / CREDENTIALS).read_text()
    assert data["new_recipient"] in new_data and old_recipient not in new_data and old_mac not in new_data
    assert data["new_recipient"] in (secrets_project.root / ".sops.yaml").read_text()
    assert load(secrets_project) == AwsCredentials(fake_aws.access_key_id, fake_aws.secret_access_key, fake_aws.region)

    with_old_key = secrets_project.invoke("secrets", "show", env={"SOPS_AGE_KEY_FILE": str(key_backup)})
    assert with_old_key.exit_code == 2 and "not one of its recipients" in with_old_key.stderr


def test_rotate_without_credentials_fails(secrets_project: Project) -> None:
    result = secrets_project.invoke("secrets", "rotate")
    assert result.exit_code == 2 and "not found" in result.stderr and "secrets init" in result.stderr
    assert not (secrets_project.root / KEY_FILE).exists()


def test_check_ok_and_warns_on_readable_key(secrets_project: Project, fake_aws: FakeAws) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    ok = secrets_project.invoke("secrets", "check", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["warnings"] == [] and json.loads(ok.stdout)["decrypts"] is True
    key_file = secrets_project.root / KEY_FILE
    key_file.chmod(0o644)
    result = secrets_project.invoke("secrets", "check", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["key_file_mode"] == "0644"
    assert any("readable by group/others" in w and str(key_file) in w for w in data["warnings"])
    human = secrets_project.invoke("secrets", "check")
    assert "warning:" in human.stderr and "chmod 600" in human.stderr


def test_check_without_credentials_exits_2(secrets_project: Project) -> None:
    result = secrets_project.invoke("secrets", "check", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["ok"] is False
    assert "not found" in result.stderr and "netsec secrets init" in result.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_check_warns_on_git_tracked_plaintext(secrets_project: Project, fake_aws: FakeAws) -> None:
    root = secrets_project.root
    assert init(secrets_project, fake_aws).exit_code == 0
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    plain = root / "config" / "aws_credentials.plain.yaml"
    plain.write_text("aws:\n  access_key_id: AKIAEXAMPLE\n")
    subprocess.run(["git", "-C", str(root), "add", "-f", str(plain)], check=True)
    data = json.loads(secrets_project.invoke("secrets", "check", "--json").stdout)
    assert data["git_checked"] is True
    assert any(f"plaintext secrets file {plain} is tracked by git" in w for w in data["warnings"])
    assert any(f"age key file {root / KEY_FILE} is not ignored by git" in w for w in data["warnings"])

    subprocess.run(["git", "-C", str(root), "rm", "-q", "--cached", str(plain)], check=True)
    (root / ".gitignore").write_text("config/sops/\nconfig/aws_credentials.plain*\n")
    data = json.loads(secrets_project.invoke("secrets", "check", "--json").stdout)
    assert data["warnings"] == []


def test_missing_age_binary_says_how_to_install(secrets_project: Project, fake_aws: FakeAws, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = init(secrets_project, fake_aws, PATH=str(empty))
    assert result.exit_code == 2
    assert "apt-get install age" in result.stderr
    assert not (secrets_project.root / CREDENTIALS).exists() and not (secrets_project.root / KEY_FILE).exists()


def test_from_env_without_variables(secrets_project: Project) -> None:
    result = secrets_project.invoke("secrets", "init", "--from-env", env={"AWS_REGION": "eu-west-1"})
    assert result.exit_code == 2
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in result.stderr
    assert not (secrets_project.root / "config" / "sops").exists()


def test_session_token_and_default_region(secrets_project: Project, fake_aws: FakeAws) -> None:
    env = fake_aws.env(AWS_SESSION_TOKEN="FwoGZXIvYXdzEXAMPLETOKEN", AWS_REGION="", AWS_DEFAULT_REGION="ap-south-1")
    result = secrets_project.invoke("secrets", "init", "--from-env", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert "aws.session_token" in json.loads(result.stdout)["stored_keys"]
    credentials = load(secrets_project)
    assert credentials is not None
    assert credentials.session_token == "FwoGZXIvYXdzEXAMPLETOKEN" and credentials.region == "ap-south-1"


def test_runtime_returns_none_without_credentials_file(secrets_project: Project) -> None:
    assert load(secrets_project) is None


def test_redaction_filter_masks_secret_in_log_file(secrets_project: Project, fake_aws: FakeAws) -> None:
    assert init(secrets_project, fake_aws).exit_code == 0
    logger = logging.getLogger("netsec_cli.secrets.test")
    logger.warning("leaking %s and %s", fake_aws.secret_access_key, fake_aws.access_key_id)
    for handler in logging.getLogger("netsec_cli").handlers:
        handler.flush()
    log_text = (secrets_project.root / "logs" / "system.log").read_text()
    assert "leaking *** and ***" in log_text
    assert fake_aws.secret_access_key not in log_text and fake_aws.access_key_id not in log_text
