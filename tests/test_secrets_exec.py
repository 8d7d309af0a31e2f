"""`netsec secrets exec -- COMMAND …`: the stored values reach the child's environment, never argv or disk."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fixtures.age import FakeAws
from tests.fixtures.project import Project
from tests.helpers import assert_error, assert_nowhere_on_disk
from tests.test_secrets_store import netsec_process, store

CHILD = (
    "import hashlib, os, sys, time\n"
    "seen = hashlib.sha256(os.environ.get(sys.argv[1], '').encode()).hexdigest()\n"
    "print('match' if seen == sys.argv[2] else 'differs', flush=True)\n"
    "time.sleep(float(sys.argv[3]))\n"
    "sys.exit(7)\n"
)


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_exec_passes_values_by_environment_only_and_returns_the_exit_code(secrets_project: Project) -> None:
    started = time.time() - 1
    value = "exec-" + secrets.token_hex(16)
    store(secrets_project, "SERVICE_PASSWORD", value)
    digest = hashlib.sha256(value.encode()).hexdigest()
    process = netsec_process(
        secrets_project,
        "secrets", "exec", "--", sys.executable, "-c", CHILD, "SERVICE_PASSWORD", digest, "3",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"match"
    children = _children(process.pid)
    assert len(children) == 1
    for pid in (process.pid, children[0]):
        assert b"SERVICE_PASSWORD" in _cmdline(pid) and value.encode() not in _cmdline(pid)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 7, stderr
    assert value.encode() not in stderr
    assert_nowhere_on_disk([secrets_project.root, Path(tempfile.gettempdir())], started, value)


def test_exec_exports_the_aws_block_and_stored_values_win(secrets_project: Project, fake_aws: FakeAws) -> None:
    assert secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env()).exit_code == 0
    store(secrets_project, "MONGODB_URI", "mongodb://127.0.0.1:9/")
    script = (
        "import os, sys; names = sys.argv[1:]; "
        "print(' '.join(f'{n}={os.environ.get(n)}' for n in names))"
    )
    names = ["AWS_REGION", "AWS_DEFAULT_REGION", "MONGODB_URI"]
    process = netsec_process(
        secrets_project, "secrets", "exec", "--", sys.executable, "-c", script, *names,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.decode().split() == [f"AWS_REGION={fake_aws.region}", f"AWS_DEFAULT_REGION={fake_aws.region}", "MONGODB_URI=mongodb://127.0.0.1:9/"]
    keys = "import os, hashlib; print(hashlib.sha256((os.environ['AWS_ACCESS_KEY_ID'] + os.environ['AWS_SECRET_ACCESS_KEY']).encode()).hexdigest())"
    process = netsec_process(
        secrets_project, "secrets", "exec", "--", sys.executable, "-c", keys,
        extra_env={"AWS_ACCESS_KEY_ID": "from-env"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, _ = process.communicate(timeout=60)
    expected = hashlib.sha256((fake_aws.access_key_id + fake_aws.secret_access_key).encode()).hexdigest()
    assert out.decode().strip() == expected


def test_exec_failures_and_signals(secrets_project: Project) -> None:
    store(secrets_project, "SOME_NAME", "some-value-123")
    assert_error(
        secrets_project.invoke("secrets", "exec", "--", "no-such-program-netsec"),
        2,
        "Error: cannot run no-such-program-netsec: command not found",
    )
    assert_error(
        secrets_project.invoke("secrets", "exec"),
        2,
        "Error: secrets exec needs a command after -- (e.g. netsec secrets exec -- aws s3 ls)",
    )
    killed = secrets_project.invoke(
        "secrets", "exec", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    )
    assert killed.exit_code == 128 + 15
    ok = secrets_project.invoke("secrets", "exec", "--", sys.executable, "-c", "pass")
    assert ok.exit_code == 0
