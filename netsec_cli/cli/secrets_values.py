"""`netsec secrets set|unset|list|get|import|exec`: named values in the encrypted credentials file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from netsec_cli.cli.options import JsonOption
from netsec_cli.cli.output import (
    console,
    emit,
    key_value_table,
    rows_table,
    warning_line,
)
from netsec_cli.cli.state import get_state

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="UPPER_SNAKE_CASE name, e.g. MONGODB_URI.")]
NOT_SECURE = "a plain delete, not a secure one: the bytes may remain on disk and in backups"


def set_secret(ctx: typer.Context, name: NameArgument, json_output: JsonOption = False) -> None:
    """Store NAME encrypted; the value comes from stdin or a hidden prompt, never from the command line."""
    from netsec_cli.secrets import document, store

    document.check_name(name)
    value = _read_value(name)
    emit(store.set_values(get_state(ctx).config, {name: value}), json_output, _render_stored)


def _read_value(name: str) -> str:
    """The value from a hidden prompt on a terminal, else all of stdin (trailing newlines dropped)."""
    from netsec_cli.redaction import register_secret

    if sys.stdin.isatty():
        value = typer.prompt(f"Value for {name}", hide_input=True, default="", show_default=False, err=True)
    else:
        value = sys.stdin.read().rstrip("\r\n")
    register_secret(value)
    return str(value)


def unset_secret(ctx: typer.Context, name: NameArgument, json_output: JsonOption = False) -> None:
    """Remove NAME from the encrypted file."""
    from netsec_cli.secrets.store import unset_value

    emit(unset_value(get_state(ctx).config, name), json_output, _render_stored)


def list_secrets(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The stored names, where each sits in the file and what uses it; never a value."""
    from netsec_cli.secrets.store import list_names

    emit(list_names(get_state(ctx).config), json_output, _render_list)


def get_secret(
    ctx: typer.Context,
    name: NameArgument,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value even when stdout is a terminal.")] = False,
) -> None:
    """Print NAME's value: only into a pipe or file, or with --reveal."""
    from netsec_cli.errors import InputError
    from netsec_cli.secrets import document, store

    document.check_name(name)
    if sys.stdout.isatty() and not reveal:
        raise InputError(
            f"refusing to print {name} on a terminal",
            hint=f"pass --reveal, or pipe it: netsec secrets get {name} | …",
        )
    value = store.get_value(get_state(ctx).config, name)
    sys.stdout.write(value + "\n")


def import_env(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A plaintext .env file (NAME=value lines).")],
    delete: Annotated[
        bool | None,
        typer.Option("--delete/--keep", help=f"Delete PATH afterwards, or keep it (default: ask; {NOT_SECURE})."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Move every NAME=value of a plaintext .env into the encrypted file, then offer to delete it."""
    from netsec_cli.secrets import store

    stored = store.import_env_file(get_state(ctx).config, path)
    if delete is None:
        delete = sys.stdin.isatty() and typer.confirm(f"Delete the plaintext {path}?", default=False, err=True)
    if delete:
        store.delete_plaintext(path)
    emit(store.ImportResult(str(path), stored, delete), json_output, _render_import)


def exec_with_secrets(
    ctx: typer.Context,
    command: Annotated[list[str] | None, typer.Argument(metavar="-- COMMAND [ARGS]...", help="The program to run.")] = None,
) -> None:
    """Run COMMAND with the stored values as environment variables (nothing written); its exit code is ours."""
    from netsec_cli.secrets.exec_env import run_with_secrets

    raise typer.Exit(run_with_secrets(get_state(ctx).config, command or []))


EXEC_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _render_stored(result: Any) -> None:
    rows = [("credentials", result.credentials_file), ("names", ", ".join(result.names))]
    if result.replaced:
        rows.append(("replaced", ", ".join(result.replaced)))
    if result.file_created:
        rows.append(("file", "created" + (" (with a new age key)" if result.key_created else "")))
    rows.append(("backend", result.backend))
    console.print(key_value_table("secrets: encrypted and verified", rows))


def _render_list(result: Any) -> None:
    rows = [(entry.name, entry.stored_as, entry.used_by) for entry in result.entries]
    console.print(rows_table(f"stored names ({result.credentials_file})", ["name", "stored as", "used by"], rows))


def _render_import(result: Any) -> None:
    _render_stored(result.stored)
    if result.deleted:
        console.print(f"deleted {result.source} ({NOT_SECURE})", markup=False, highlight=False, soft_wrap=True)
    else:
        warning_line(f"{result.source} still holds the plaintext values; delete it when you no longer need it")
