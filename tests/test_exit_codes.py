"""README's exit-code table through the real CLI: each row's exit code and its exact `Error:` line."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import typer

from netsec_cli.sources.synthetic import generate_flows
from tests.fixtures.mongo import FAST_FAILURE, free_port
from tests.fixtures.project import Project
from tests.helpers import assert_error, error_line, exit_code, hold_lock


def test_0_success(project: Project) -> None:
    result = project.invoke("config", "validate")
    assert exit_code(result) == 0, result.output
    assert result.stdout == f"config OK: {project.config_path}\n"
    assert "Error:" not in result.stderr


def _app_with_failing_command() -> typer.Typer:
    """The real netsec app (root options, error handling) plus one command with a plain bug in it."""
    from netsec_cli.cli.app import app
    from netsec_cli.cli.state import get_state

    patched = copy.copy(app)
    patched.registered_commands = list(app.registered_commands)

    @patched.command("explode", help="Test only: fails with an exception that is not a NetsecError.")
    def explode(ctx: typer.Context) -> None:
        settings: dict[str, object] = get_state(ctx).config.model_dump()
        typer.echo(settings["no_such_section"])

    return patched


def test_1_unexpected_internal_error(project: Project) -> None:
    patched = _app_with_failing_command()
    args = ["--config", str(project.config_path), "explode"]
    line = "Error: internal error: KeyError: 'no_such_section' (re-run with --debug for details)"
    assert_error(project.runner.invoke(patched, args), 1, line)
    debug = project.runner.invoke(patched, ["--debug", *args])
    assert exit_code(debug) == 1 and "Traceback" in debug.stderr
    assert error_line(debug) == line


def test_2_bad_input(project: Project, tmp_path: Path) -> None:
    missing = tmp_path / "flows.csv"
    result = project.invoke("etl", "--source", str(missing))
    assert_error(result, 2, f"Error: input file not found: {missing} (check the path)")


def test_2_invalid_config(project: Project) -> None:
    project.update_config(**{"split.test_sise": 0.3})
    result = project.invoke("config", "validate")
    assert_error(result, 2, f"Error: invalid config {project.config_path}: split.test_sise: unknown key")


def test_3_validation_failed(project: Project) -> None:
    flows = generate_flows(600, seed=5)
    flows.loc[flows.index[::2], "duration"] = np.nan
    flows.to_csv(project.root / "flows.csv", index=False)
    assert exit_code(project.invoke("etl", "--source", str(project.root / "flows.csv"))) == 0
    result = project.invoke("validate")
    report = project.artifacts / "validate" / "report.json"
    assert_error(
        result, 3, f"Error: validation failed (schema check failed): 2 failing check(s) on duration (see {report})"
    )


def test_4_external_service_failed(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{port}/")
    project.update_config(**FAST_FAILURE)
    result = project.invoke("etl", "--source", "mongo")
    unreachable = (
        rf"Error: MongoDB at 127\.0\.0\.1:{port}: reading netsec\.flows failed after 3 attempt\(s\): "
        rf"127\.0\.0\.1:{port}: .+ \(check that the server is running and reachable, the host in MONGODB_URI, "
        r"and any firewall or Atlas IP access list\)"
    )
    assert_error(result, 4, re.compile(unreachable))


def test_5_artifacts_lock_busy(project: Project) -> None:
    holder = hold_lock(project.artifacts, 30)
    try:
        result = project.invoke("etl", "--source", "synthetic")
    finally:
        holder.kill()
        holder.wait()
    line = f"Error: another netsec run is using {project.artifacts} (try again when it has finished, or pass --wait SECONDS)"
    assert_error(result, 5, line)
    assert not (project.artifacts / "etl").exists()
