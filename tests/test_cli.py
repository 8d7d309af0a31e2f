"""The CLI root: help text everywhere, error translation, exit codes, --debug, --version."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from netsec_cli.cli.app import NetsecGroup, app
from netsec_cli.errors import InputError, ServiceError


def _walk(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    found = [(prefix, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(_walk(sub, prefix + (name,)))
    return found


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)
    missing = [" ".join(path) for path, cmd in _walk(root) if path and not (cmd.help or "").strip()]
    assert missing == []


def test_every_command_answers_help() -> None:
    runner = CliRunner()
    root = typer.main.get_command(app)
    for path, _ in _walk(root):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def _failing_app(exc: Exception) -> typer.Typer:
    demo = typer.Typer(cls=NetsecGroup)

    @demo.callback()
    def root(ctx: typer.Context, debug: bool = typer.Option(False, "--debug")) -> None:
        from netsec_cli.cli.state import AppState

        ctx.obj = AppState(debug=debug)

    @demo.command()
    def boom() -> None:
        raise exc

    return demo


def test_netsec_error_becomes_one_line_and_exit_code() -> None:
    result = CliRunner().invoke(_failing_app(ServiceError("s3 down", hint="check endpoint")), ["boom"])
    assert result.exit_code == 4
    assert result.stderr.strip() == "Error: s3 down (check endpoint)"
    assert result.stdout == ""


def test_unexpected_error_exit_1_without_traceback_unless_debug() -> None:
    demo = _failing_app(KeyError("surprise"))
    plain = CliRunner().invoke(demo, ["boom"])
    assert plain.exit_code == 1
    assert "internal error: KeyError" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = CliRunner().invoke(demo, ["--debug", "boom"])
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr


def test_error_messages_mask_uri_credentials() -> None:
    demo = _failing_app(InputError("cannot reach mongodb://alice:hunter22@db.example:27017/"))
    result = CliRunner().invoke(demo, ["boom"])
    assert result.exit_code == 2
    assert "hunter22" not in result.output
    assert "mongodb://***:***@db.example" in result.stderr


def test_unknown_option_is_usage_error() -> None:
    result = CliRunner().invoke(app, ["config", "show", "--bogus"])
    assert result.exit_code == 2


def test_version_and_module_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "netsec_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("netsec ")


def test_help_lists_commands_in_pipeline_order() -> None:
    root = typer.main.get_command(app)
    names = root.list_commands(typer.Context(root))
    assert names == ["etl", "validate", "transform", "train", "predict", "evaluate", "run", "monitor", "models", "serve", "sync-s3", "secrets", "config"]
