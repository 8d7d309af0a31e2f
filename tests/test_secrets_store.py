"""`netsec secrets set|unset|list|get|import` with the real age binary, and where stored names are used."""

from __future__ import annotations

import json
import os
import pty
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import Result

from netsec_cli.config import load_config
from netsec_cli.secrets.credentials import AwsCredentials
from netsec_cli.secrets.runtime import load_aws_credentials, mlflow_environment
from netsec_cli.serve.auth import serve_token
from netsec_cli.sources.synthetic import generate_flows
from tests.fixtures.age import FakeAws
from tests.fixtures.mongo import FAST_FAILURE, MongoServer
from tests.fixtures.project import Project, env_without
from tests.helpers import assert_error, assert_nowhere_on_disk

CREDENTIALS = Path("config") / "aws_credentials.yaml"


def store(project: Project, name: str, value: str, *args: str) -> Result:
    result = project.invoke("secrets", "set", name, *args, input=value)
    assert result.exit_code == 0, result.output
    return result


def netsec_process(
    project: Project, *args: str, extra_env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.Popen[bytes]:
    """`python -m netsec_cli --config … ARGS` as a real process, without MONGODB_URI or AWS keys."""
    env = env_without("MONGODB_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY")
    env.update(extra_env or {})
    argv = [sys.executable, "-m", "netsec_cli", "--config", str(project.config_path), *args]
    return subprocess.Popen(argv, cwd=project.root, env=env, **kwargs)  # type: ignore[call-overload]


def test_set_list_get_unset_round_trip(secrets_project: Project) -> None:
    token = "tok-" + secrets.token_hex(16)
    created = store(secrets_project, "NETSEC_SERVE_TOKEN", token + "\n", "--json")
    data = json.loads(created.stdout)
    assert data["names"] == ["NETSEC_SERVE_TOKEN"] and data["file_created"] and data["key_created"]
    assert data["verified"] and token not in created.output
    root = secrets_project.root
    assert "ENC[AES256_GCM," in (root / CREDENTIALS).read_text() and token not in (root / CREDENTIALS).read_text()
    assert "config/aws_credentials\\.yaml$" in (root / ".sops.yaml").read_text()

    store(secrets_project, "AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY123")
    replaced = json.loads(store(secrets_project, "NETSEC_SERVE_TOKEN", token + "2", "--json").stdout)
    assert replaced["replaced"] == ["NETSEC_SERVE_TOKEN"] and not replaced["file_created"]

    listed = secrets_project.invoke("secrets", "list", "--json")
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)["entries"]
    assert [(e["name"], e["stored_as"]) for e in entries] == [
        ("AWS_ACCESS_KEY_ID", "aws.access_key_id"),
        ("NETSEC_SERVE_TOKEN", "NETSEC_SERVE_TOKEN"),
    ]
    assert token not in listed.output and "AKIAEXAMPLEKEY123" not in listed.output
    table = secrets_project.invoke("secrets", "list")
    assert "NETSEC_SERVE_TOKEN" in table.stdout and token not in table.stdout

    got = secrets_project.invoke("secrets", "get", "NETSEC_SERVE_TOKEN")  # stdout is not a terminal here
    assert got.exit_code == 0 and got.stdout == token + "2\n"
    config = load_config(secrets_project.config_path)
    config.serve.auth = "token"
    assert serve_token(config) == token + "2"

    assert secrets_project.invoke("secrets", "unset", "NETSEC_SERVE_TOKEN").exit_code == 0
    path = root / CREDENTIALS
    assert_error(
        secrets_project.invoke("secrets", "get", "NETSEC_SERVE_TOKEN"),
        2,
        f"Error: no secret named NETSEC_SERVE_TOKEN in {path} (see `netsec secrets list`)",
    )
    assert_error(
        secrets_project.invoke("secrets", "unset", "NETSEC_SERVE_TOKEN"),
        2,
        f"Error: no secret named NETSEC_SERVE_TOKEN in {path} (see `netsec secrets list`)",
    )


def test_bad_names_and_empty_values_exit_2_and_store_nothing(secrets_project: Project) -> None:
    for name in ("mongodb_uri", "1TOKEN", "MY-TOKEN"):
        assert_error(
            secrets_project.invoke("secrets", "set", name, input="value-1234"),
            2,
            f"Error: invalid secret name {name!r}: use A-Z, 0-9 and _, not starting with a digit (e.g. MONGODB_URI)",
        )
    assert_error(
        secrets_project.invoke("secrets", "set", "TOKEN", input="\n"), 2, "Error: the value for TOKEN is empty (nothing was stored)"
    )
    assert not (secrets_project.root / CREDENTIALS).exists()
    assert_error(
        secrets_project.invoke("secrets", "list"),
        2,
        f"Error: credentials file {secrets_project.root / CREDENTIALS} not found (run `netsec secrets init`)",
    )


def test_get_refuses_a_terminal_unless_reveal(secrets_project: Project) -> None:
    value = "pty-" + secrets.token_hex(12)
    store(secrets_project, "API_TOKEN", value)
    for args, code in ((("API_TOKEN",), 2), (("API_TOKEN", "--reveal"), 0)):
        leader, follower = pty.openpty()
        process = netsec_process(secrets_project, "secrets", "get", *args, stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        _, stderr = process.communicate(timeout=60)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(leader)
        assert process.returncode == code, stderr
        if code == 2:
            assert value.encode() not in shown
            assert stderr.decode().splitlines()[-1] == (
                "Error: refusing to print API_TOKEN on a terminal (pass --reveal, or pipe it: netsec secrets get API_TOKEN | …)"
            )
        else:
            assert value.encode() in shown


def test_a_failed_or_killed_set_leaves_the_previous_file(secrets_project: Project) -> None:
    store(secrets_project, "FIRST", "first-value-123")
    path = secrets_project.root / CREDENTIALS
    text = path.read_text()
    recipient = next(line.split(":", 1)[1].strip() for line in text.splitlines() if "recipient:" in line)
    broken = text.replace(recipient, "age1notavalidrecipient")  # decrypts still (the identity matches), encrypting fails
    path.write_text(broken)
    failed = secrets_project.invoke("secrets", "set", "SECOND", input="second-value-456")
    assert failed.exit_code == 2, failed.output
    assert "malformed recipient" in failed.stderr or "age1notavalidrecipient" in failed.stderr
    assert path.read_text() == broken
    assert sorted(p.name for p in path.parent.iterdir()) == ["aws_credentials.yaml", "config.yaml", "sops"]

    path.write_text(text)
    before = path.read_bytes()
    waiting = netsec_process(secrets_project, "secrets", "set", "SECOND", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert waiting.stdin is not None
    waiting.stdin.write(b"half-written-val")
    waiting.stdin.flush()
    time.sleep(1.5)
    waiting.send_signal(signal.SIGKILL)
    waiting.wait(timeout=30)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["aws_credentials.yaml", "config.yaml", "sops"]
    listed = json.loads(secrets_project.invoke("secrets", "list", "--json").stdout)
    assert [e["name"] for e in listed["entries"]] == ["FIRST"]


def test_aws_names_share_the_init_layout(secrets_project: Project, fake_aws: FakeAws) -> None:
    store(secrets_project, "MONGODB_URI", "mongodb://127.0.0.1:1/")
    assert load_aws_credentials(load_config(secrets_project.config_path)) is None  # no aws block: boto3's chain
    store(secrets_project, "AWS_ACCESS_KEY_ID", fake_aws.access_key_id)
    store(secrets_project, "AWS_SECRET_ACCESS_KEY", fake_aws.secret_access_key)
    store(secrets_project, "AWS_DEFAULT_REGION", fake_aws.region)
    expected = AwsCredentials(fake_aws.access_key_id, fake_aws.secret_access_key, fake_aws.region)
    assert load_aws_credentials(load_config(secrets_project.config_path)) == expected
    shown = json.loads(secrets_project.invoke("secrets", "show", "--json").stdout)
    assert {v["key"] for v in shown["values"]} == {"MONGODB_URI", "aws.access_key_id", "aws.secret_access_key", "aws.region"}


def test_mlflow_credentials_are_in_the_environment_only_while_tracking(
    secrets_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "from-env")
    store(secrets_project, "MLFLOW_TRACKING_TOKEN", "mlflow-token-abc")
    config = load_config(secrets_project.config_path)
    with mlflow_environment(config):
        assert os.environ["MLFLOW_TRACKING_TOKEN"] == "mlflow-token-abc"
        assert os.environ["MLFLOW_TRACKING_USERNAME"] == "from-env"
    assert "MLFLOW_TRACKING_TOKEN" not in os.environ and os.environ["MLFLOW_TRACKING_USERNAME"] == "from-env"


def test_import_moves_a_dotenv_and_deletes_it_only_when_asked(secrets_project: Project) -> None:
    dotenv = secrets_project.root / "imported.env"
    dotenv.write_text("MONGODB_URI=mongodb://u:imp-pass-789@127.0.0.1:1/\nexport NETSEC_SERVE_TOKEN='abcdefgh12345678'\n")
    kept = secrets_project.invoke("secrets", "import", str(dotenv))  # no terminal, no flag: kept
    assert kept.exit_code == 0, kept.output
    assert dotenv.is_file() and f"{dotenv} still holds the plaintext values" in kept.stderr
    deleted = secrets_project.invoke("secrets", "import", str(dotenv), "--delete", "--json")
    assert deleted.exit_code == 0, deleted.output
    data = json.loads(deleted.stdout)
    assert data["deleted"] is True and data["stored"]["replaced"] == ["MONGODB_URI", "NETSEC_SERVE_TOKEN"]
    assert not dotenv.exists() and "imp-pass-789" not in deleted.output
    assert secrets_project.invoke("secrets", "get", "NETSEC_SERVE_TOKEN").stdout == "abcdefgh12345678\n"
    said = secrets_project.invoke("secrets", "import", "--help").stdout
    assert "not a secure one" in " ".join(said.split())

    bad = secrets_project.root / "bad.env"
    bad.write_text("GOOD=value-1234\nlower=value-5678\n")
    assert_error(
        secrets_project.invoke("secrets", "import", str(bad), "--delete"),
        2,
        "Error: invalid secret name 'lower': use A-Z, 0-9 and _, not starting with a digit (e.g. MONGODB_URI)",
    )
    assert bad.is_file()
    names = [e["name"] for e in json.loads(secrets_project.invoke("secrets", "list", "--json").stdout)["entries"]]
    assert names == ["MONGODB_URI", "NETSEC_SERVE_TOKEN"]


def test_etl_reads_the_mongo_uri_from_the_encrypted_file(
    secrets_project: Project, mongo_server: MongoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 1
    password = "Enc-" + secrets.token_hex(10)
    mongo_server.client().admin.command("createUser", "flows", pwd=password, roles=["root"])
    secrets_project.update_config(**FAST_FAILURE)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.setenv("MONGODB_URI", "placeholder")  # so monkeypatch removes what .env sets
    monkeypatch.delenv("MONGODB_URI")
    uri = f"mongodb://flows:{password}@127.0.0.1:{mongo_server.port}/"
    outputs = [store(secrets_project, "MONGODB_URI", uri).output]
    (secrets_project.root / ".env").write_text("MONGODB_URI=mongodb://127.0.0.1:1/\n")  # would fail: must lose
    source = secrets_project.root / "flows.csv"
    generate_flows(200, 11).to_csv(source, index=False)
    for args in (("-v", "etl", "load", str(source)), ("-v", "etl", "--source", "mongo", "--json")):
        result = secrets_project.invoke(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    warning = "a plaintext .env also defines MONGODB_URI; `netsec secrets import .env` moves it into the encrypted file"
    assert [warning in " ".join(text.split()) for text in outputs] == [False, True, False]  # once per process
    assert (secrets_project.artifacts / "etl" / "raw.parquet").is_file()
    mongo_server.client().admin.command("updateUser", "flows", pwd=password + "-changed")
    denied = secrets_project.invoke("etl", "--source", "mongo", "--force")
    assert denied.exit_code == 2
    outputs += [denied.output, (secrets_project.root / "logs" / "system.log").read_text()]
    for text in outputs:
        assert password not in text
    assert_nowhere_on_disk([secrets_project.root, Path(tempfile.gettempdir())], started, password)


def test_rotate_and_check_keep_every_stored_name(secrets_project: Project) -> None:
    uri = "mongodb://reader:" + secrets.token_hex(8) + "@127.0.0.1:1/netsec"
    store(secrets_project, "MONGODB_URI", uri)
    checked = secrets_project.invoke("secrets", "check", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["decrypts"] and uri not in checked.output  # no AWS block needed
    rotated = secrets_project.invoke("secrets", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    got = secrets_project.invoke("secrets", "get", "MONGODB_URI")
    assert got.exit_code == 0 and got.stdout.strip() == uri
