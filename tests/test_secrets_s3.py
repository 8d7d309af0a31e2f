"""`netsec sync-s3` authenticates with the sops-encrypted credentials, and never shows them.

End to end: `netsec secrets init --from-env` with the real age binaries, then `netsec sync-s3` in a
fresh process (so no secret is pre-registered with the log redactor by an earlier call) whose
environment holds no AWS keys, against moto's S3 server with authentication ON. The keys are real
moto IAM credentials (an IAM user's access key, and an assumed role's key + secret + session
token), so a wrong secret, a missing token or a fallback to other keys is rejected by the server.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netsec_cli.artifacts import staged_stage
from tests.fixtures.age import flip
from tests.fixtures.project import Project
from tests.fixtures.s3 import ACCESS_KEY, S3, SECRET_KEY
from tests.helpers import assert_error, error_line

CREDENTIALS = Path("config") / "aws_credentials.yaml"
KEY_FILE = Path("config") / "sops" / "age" / "keys.txt"
REGION = "eu-west-3"
S3_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
TRUST_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
)
FILES = {"etl/train.parquet": os.urandom(2000), "etl/schema.yaml": b"columns: []\n"}


@dataclass(frozen=True)
class Identity:
    """Credentials moto's IAM/STS issued (so moto accepts them with authentication on)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The variables `secrets init --from-env` reads (only for that one call)."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key, "AWS_REGION": REGION}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return {**env, **extra}

    def wrong_secret(self) -> Identity:
        secret = self.secret_access_key
        return Identity(self.access_key_id, secret[::-1] if secret[::-1] != secret else secret + "x", self.session_token)

    def needles(self) -> list[str]:
        """Every value that must never show, plus pieces of them (Rich wraps long lines)."""
        found = {self.access_key_id, self.access_key_id[-12:], self.secret_access_key}
        for value in (self.secret_access_key, self.session_token or ""):
            found.update(value[i : i + 12] for i in range(0, len(value) - 11, 12))
        found.discard("")
        return sorted(found)


@dataclass(frozen=True)
class Iam:
    user: Identity  # an IAM user's long-term key (AKIA...)
    role: Identity  # an assumed role's temporary key (ASIA...) with its session token
    other_user: Identity  # a second valid user (to tell which keys the server saw)


def _moto_client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
    )


def _new_user(iam: Any, name: str) -> Identity:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=S3_POLICY)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Identity(key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture
def iam(s3: S3) -> Iterator[Iam]:
    """IAM identities allowed s3:* on a freshly reset moto, then moto checking every request's keys."""
    client = _moto_client("iam", s3.endpoint)
    user = _new_user(client, "netsec-ci")
    other = _new_user(client, "netsec-other")
    role = client.create_role(RoleName="netsec-sync", AssumeRolePolicyDocument=TRUST_POLICY)["Role"]
    client.put_role_policy(RoleName="netsec-sync", PolicyName="s3", PolicyDocument=S3_POLICY)
    temp = _moto_client("sts", s3.endpoint).assume_role(RoleArn=role["Arn"], RoleSessionName="netsec-test")["Credentials"]
    s3.server.require_auth(True)
    try:
        yield Iam(user=user, role=Identity(temp["AccessKeyId"], temp["SecretAccessKey"], temp["SessionToken"]), other_user=other)
    finally:
        s3.server.require_auth(False)


@pytest.fixture
def project_s3(secrets_project: Project, s3: S3, iam: Iam, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A secrets project with artifacts to push, pointed at moto; no AWS variable in this process's env."""
    for name in [n for n in os.environ if n.startswith(("AWS_", "SOPS_AGE_"))]:
        monkeypatch.delenv(name)
    for name, value in no_profile(secrets_project.root.parent).items():
        monkeypatch.setenv(name, value)
    secrets_project.update_config(
        **{"aws.bucket_name": s3.bucket, "aws.endpoint_url": s3.endpoint, "aws.retries": 1, "aws.region": "us-east-1"}
    )
    with staged_stage(secrets_project.artifacts, "etl") as folder:
        for rel, data in FILES.items():
            (folder / rel.removeprefix("etl/")).write_bytes(data)
    return secrets_project


def init(project: Project, identity: Identity, *args: str, **extra_env: str) -> None:
    """`secrets init --from-env`, the AWS variables set for this call only."""
    result = project.invoke("secrets", "init", "--from-env", *args, env=identity.env(**extra_env))
    assert result.exit_code == 0, result.output
    assert not [name for name in os.environ if name.startswith("AWS_ACCESS") or name.startswith("AWS_SECRET")]


def no_profile(tmp: Path) -> dict[str, str]:
    """No ~/.aws shared credentials or config, no instance metadata."""
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-such-credentials"),
        "AWS_CONFIG_FILE": str(tmp / "no-such-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """This environment without any AWS_*/SOPS_AGE_* variable (except `no_profile`), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SOPS_AGE_"))}
    env.update(no_profile(tmp), PYTHONPATH=str(Path(__file__).resolve().parents[1]), **extra)
    return env


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def netsec(project: Project, *args: str, **extra_env: str) -> Run:
    """`python -m netsec_cli --config ... <args>` in a fresh process (nothing pre-registered with the
    log redactor, no AWS variable unless given), in the project folder."""
    command = [sys.executable, "-m", "netsec_cli", "--config", str(project.config_path), *args]
    env = clean_env(project.root.parent, **extra_env)
    done = subprocess.run(command, cwd=project.root, env=env, capture_output=True, text=True, timeout=90)
    return Run(done.returncode, done.stdout, done.stderr)


def invoke(project: Project, *args: str, **extra_env: str) -> Run:
    """The same in this process (faster; for checks that do not scan for leaks)."""
    result = project.invoke(*args, env=extra_env or None)
    return Run(result.exit_code, result.stdout, result.stderr)


def rejected(s3: S3, reason: str) -> str:
    """The `Error:` line when S3 refuses the stored keys (`reason`: the status or S3 error code)."""
    return (
        f"Error: S3 at {s3.endpoint} rejected the credentials for bucket {s3.bucket} ({reason}) "
        "(check the keys (`netsec secrets show`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the bucket policy)"
    )


def no_credentials(s3: S3) -> str:
    return (
        f"Error: no usable AWS credentials for index read (bucket {s3.bucket}) "
        "(run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )


def key_not_found(key_file: Path, project: Project) -> str:
    return (
        f"Error: age key file {key_file} not found (needed to decrypt {project.root / CREDENTIALS}) "
        "(set SOPS_AGE_KEY_FILE or secrets.age_key_file to your key, or run `netsec secrets init`)"
    )


def log_text(project: Project) -> str:
    logs = [p for p in (project.root / "logs").rglob("*") if p.is_file()]
    assert logs, "no log file written"
    return "".join(p.read_text(errors="replace") for p in logs)


def assert_never_shown(identity: Identity, project: Project, *outputs: str) -> None:
    """No credential value (or a 12-char piece of one) in the outputs or in any file of the project."""
    texts = [*outputs, *(o.replace("\n", "") for o in outputs)]
    for needle in identity.needles():
        for text in texts:
            assert needle not in text, f"credential piece {needle[:4]}… leaked"
        for path in project.root.rglob("*"):
            if path.is_file():
                assert needle.encode() not in path.read_bytes(), f"credential piece {needle[:4]}… in {path}"


def client_as(s3: S3, identity: Identity) -> Any:
    """The test's own S3 client, signing with `identity` (moto checks it)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=REGION,
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        aws_session_token=identity.session_token,
    )


def remote_keys(s3: S3, identity: Identity) -> set[str]:
    listed = client_as(s3, identity).list_objects_v2(Bucket=s3.bucket, Prefix="netsec/artifacts/")
    return {item["Key"].removeprefix("netsec/artifacts/") for item in listed.get("Contents", [])}


# ---- the decrypted credentials are the ones S3 sees ------------------------------------------


def test_sync_authenticates_with_the_decrypted_credentials(project_s3: Project, s3: S3, iam: Iam) -> None:
    init(project_s3, iam.user)
    result = netsec(project_s3, "sync-s3", "--create-bucket", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bucket_created"] is True and data["uploaded"] == len(FILES) + 1  # + the etl manifest
    assert set(FILES) <= remote_keys(s3, iam.user)
    # Created in the region stored with the credentials (config.aws.region is us-east-1).
    assert client_as(s3, iam.user).get_bucket_location(Bucket=s3.bucket)["LocationConstraint"] == REGION
    assert_never_shown(iam.user, project_s3, result.stdout, result.stderr)

    # Control: without the encrypted file nothing else in the environment supplies keys.
    stored = project_s3.root / CREDENTIALS
    moved = stored.rename(stored.with_suffix(".away"))
    bare = invoke(project_s3, "sync-s3", "--json")
    assert_error(bare, 2, no_credentials(s3))
    moved.rename(stored)

    # A wrong secret under the same key id is refused by the server: exit 2, no secret shown.
    init(project_s3, iam.user.wrong_secret(), "--force")
    wrong = netsec(project_s3, "sync-s3", "--create-bucket", "--json")
    assert_error(wrong, 2, rejected(s3, "403"))  # HEAD bucket: status only
    assert wrong.stdout == ""
    plain = invoke(project_s3, "sync-s3", "--json")
    assert_error(plain, 2, rejected(s3, "SignatureDoesNotMatch"))
    for identity in (iam.user, iam.user.wrong_secret()):
        assert_never_shown(identity, project_s3, wrong.stdout, wrong.stderr, plain.stdout, plain.stderr)


def test_session_token_from_the_encrypted_file_is_sent(project_s3: Project, s3: S3, iam: Iam) -> None:
    init(project_s3, iam.role)
    result = invoke(project_s3, "sync-s3", "--create-bucket", "--json")
    assert result.returncode == 0, result.stderr
    assert set(FILES) <= remote_keys(s3, iam.role)

    # The same key and secret without the token: moto no longer knows the key.
    init(project_s3, Identity(iam.role.access_key_id, iam.role.secret_access_key), "--force")
    no_token = invoke(project_s3, "sync-s3", "--json")
    assert_error(no_token, 2, rejected(s3, "InvalidAccessKeyId"))


# ---- nothing secret in --json, stderr or the log files, success or failure --------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("outcome", ["ok", "wrong-secret", "endpoint-down"])
def test_debug_sync_never_shows_key_secret_or_token(project_s3: Project, s3: S3, iam: Iam, outcome: str) -> None:
    stored = iam.role.wrong_secret() if outcome == "wrong-secret" else iam.role
    init(project_s3, stored)
    if outcome == "endpoint-down":
        port = _closed_port()
        project_s3.update_config(**{"aws.endpoint_url": f"http://127.0.0.1:{port}"})
    result = netsec(project_s3, "-v", "--debug", "sync-s3", "--json", "--create-bucket")
    logs = log_text(project_s3)
    assert "sync" in logs  # the debug log really recorded the run
    if outcome == "ok":
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["uploaded"] == len(FILES) + 1
    elif outcome == "wrong-secret":
        assert result.returncode == 2, result.stderr
        assert error_line(result) == rejected(s3, "403") and "Traceback" in result.stderr  # --debug
    else:
        assert result.returncode == 4, result.stderr
        assert re.fullmatch(
            rf"Error: S3 endpoint http://127\.0\.0\.1:{port} failed during bucket check of bucket {s3.bucket}"
            r" after 2 attempt\(s\): .+ \(check aws\.endpoint_url / AWS_ENDPOINT_URL and the network, then re-run;"
            r" finished files are not sent again\)",
            error_line(result),
        )
    for identity in {iam.role, stored}:
        assert_never_shown(identity, project_s3, result.stdout, result.stderr, logs)


# ---- credentials that cannot be decrypted stop the sync before any request -------------------


def _reorder_keys(text: str) -> str:
    """Swap the access_key_id and secret_access_key lines: every value still decrypts, only the MAC fails."""
    changed, count = re.subn(r"^( +access_key_id: .*\n)( +secret_access_key: .*\n)", r"\2\1", text, flags=re.MULTILINE)
    assert count == 1
    return changed


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        pytest.param(
            lambda text: flip(text, "secret_access_key:"), "value at 'aws:secret_access_key:' failed authentication", id="value"
        ),
        pytest.param(
            lambda text: flip(text, "mac:"), "the MAC does not authenticate (MAC or lastmodified modified)", id="mac"
        ),
        pytest.param(
            _reorder_keys, "MAC mismatch: values were modified, reordered, added or removed", id="reordered-mac-only"
        ),
    ],
)
def test_tampered_credentials_stop_sync_with_integrity_error(
    project_s3: Project, s3: S3, iam: Iam, tamper: Callable[[str], str], detail: str
) -> None:
    init(project_s3, iam.user)
    path = project_s3.root / CREDENTIALS
    path.write_text(tamper(path.read_text()))
    s3.server.clear_log()
    result = netsec(project_s3, "-v", "sync-s3", "--json")
    integrity = (
        f"Error: integrity check failed for {path}: {detail} (the file was modified or corrupted:"
        " restore it from a backup or re-run `netsec secrets init --force`)"
    )
    assert_error(result, 2, integrity)
    assert result.stdout == "" and s3.server.requests == []
    assert_never_shown(iam.user, project_s3, result.stdout, result.stderr)


def test_missing_age_key_stops_sync_naming_the_key_file(project_s3: Project, s3: S3, iam: Iam) -> None:
    init(project_s3, iam.user)
    s3.server.clear_log()
    elsewhere = project_s3.root.parent / "nowhere" / "keys.txt"
    result = invoke(project_s3, "sync-s3", "--json", SOPS_AGE_KEY_FILE=str(elsewhere))
    assert_error(result, 2, key_not_found(elsewhere, project_s3))

    key_file = project_s3.root / KEY_FILE
    key_file.unlink()
    result = netsec(project_s3, "sync-s3", "--json")
    assert_error(result, 2, key_not_found(key_file, project_s3))
    assert result.stdout == "" and s3.server.requests == []
    assert_never_shown(iam.user, project_s3, result.stdout, result.stderr)


# ---- precedence: the encrypted file wins over AWS_* variables ---------------------------------


def test_encrypted_file_wins_over_valid_env_keys(project_s3: Project, s3: S3, iam: Iam) -> None:
    other = iam.other_user
    env = {"AWS_ACCESS_KEY_ID": other.access_key_id, "AWS_SECRET_ACCESS_KEY": other.secret_access_key}
    init(project_s3, iam.user.wrong_secret())
    result = invoke(project_s3, "sync-s3", "--create-bucket", "--json", **env)
    assert_error(result, 2, rejected(s3, "403"))  # the env keys would work; they are not used

    init(project_s3, iam.user, "--force")
    bogus = {"AWS_ACCESS_KEY_ID": "AKIANOTAREALKEY00000", "AWS_SECRET_ACCESS_KEY": "x" * 40, "AWS_SESSION_TOKEN": "stray"}
    result = invoke(project_s3, "sync-s3", "--create-bucket", "--json", AWS_REGION="ap-south-1", **bogus)
    assert result.returncode == 0, result.stderr  # bogus env keys (and a stray token) are ignored


def test_session_built_from_the_file_ignores_env_keys_token_and_region(
    project_s3: Project, iam: Iam, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netsec_cli.config import load_config
    from netsec_cli.runner.mirror import aws_session as build_session

    init(project_s3, iam.user)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", iam.other_user.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", iam.other_user.secret_access_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "stray-token-from-env")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    session = build_session(load_config(project_s3.config_path))
    found = session.get_credentials().get_frozen_credentials()
    assert (found.access_key, found.secret_key, found.token) == (iam.user.access_key_id, iam.user.secret_access_key, None)
    assert session.region_name == REGION  # the region stored with the credentials
