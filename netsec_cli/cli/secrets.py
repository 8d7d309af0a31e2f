"""`netsec secrets …`: credentials encrypted with sops + age (the value commands: `secrets_values.py`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netsec_cli.cli import secrets_recipients, secrets_values
from netsec_cli.cli.options import JsonOption
from netsec_cli.cli.output import (
    console,
    emit,
    error_line,
    key_value_table,
    print_json,
    rows_table,
    warning_line,
)
from netsec_cli.cli.state import get_state

app = typer.Typer(
    help="Credentials encrypted with sops + age: init, set, get, list, unset, import, exec, show, check, rotate.",
    no_args_is_help=True,
)


@app.command("init")
def init(
    ctx: typer.Context,
    from_env: Annotated[
        bool,
        typer.Option(
            "--from-env",
            help="Read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (or AWS_DEFAULT_REGION) "
            "and optional AWS_SESSION_TOKEN instead of prompting (for CI).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing credentials (the old file is kept as a backup).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Create the age key if needed and store AWS credentials encrypted (plaintext never on disk)."""
    from netsec_cli.secrets import provision

    config = get_state(ctx).config
    provision.refuse_existing(config, force)
    if from_env:
        credentials = provision.credentials_from_env(default_region=config.aws.region)
    else:
        key_id = typer.prompt("AWS access key id", hide_input=True)
        secret = typer.prompt("AWS secret access key", hide_input=True)
        region = typer.prompt("AWS region", default=config.aws.region)
        credentials = provision.make_credentials(key_id, secret, region)
    result = provision.init_secrets(config, credentials, force=force)
    emit(result, json_output, _render_init)


def _render_init(result: Any) -> None:
    rows = [
        ("credentials", result.credentials_file),
        ("stored keys", ", ".join(result.stored_keys)),
        ("age key", f"{result.key_file} ({'created' if result.key_created else 'existing'})"),
        ("recipient", result.recipient),
        (".sops.yaml", result.sops_config),
        ("backend", result.backend),
    ]
    if result.backup:
        rows.append(("backup", result.backup))
    console.print(key_value_table("secrets init: encrypted and verified", rows))
    console.print(f"public recipient: {result.recipient}", markup=False, highlight=False, soft_wrap=True)


@app.command("show")
def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Which keys are stored (values redacted), the backend, recipients and lastmodified."""
    from netsec_cli.secrets.provision import show_secrets

    emit(show_secrets(get_state(ctx).config), json_output, _render_show)


def _render_show(result: Any) -> None:
    console.print(
        key_value_table(
            "secrets",
            [
                ("credentials", result.credentials_file),
                ("backend", result.backend),
                ("age key", result.key_file),
                ("recipients", ", ".join(result.recipients)),
                ("lastmodified", result.lastmodified),
                ("sops version", result.sops_version),
            ],
        )
    )
    console.print(rows_table("stored keys", ["key", "value"], [(v.key, v.value) for v in result.values]))


@app.command("check")
def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Can the credentials be decrypted (exit 2 if not)? Is the key private? Would git commit secrets?"""
    from netsec_cli.errors import EXIT_USAGE
    from netsec_cli.secrets.provision import check_secrets

    result = check_secrets(get_state(ctx).config)
    if json_output:
        print_json(result)
    else:
        _render_check(result)
    if not result.ok:
        error_line(result.error or "the credentials cannot be decrypted")
        raise typer.Exit(EXIT_USAGE)


def _render_check(result: Any) -> None:
    console.print(
        key_value_table(
            "secrets check",
            [
                ("credentials", f"{result.credentials_file} ({'present' if result.credentials_exists else 'missing'})"),
                ("decrypts", "yes" if result.decrypts else "NO"),
                ("backend", f"sops {result.sops_version} ({result.sops_path})" if result.sops_version else result.backend),
                ("age key", f"{result.key_file} ({result.key_file_mode or 'missing'})"),
                ("recipients", ", ".join(result.recipients) or "-"),
                ("git", "checked" if result.git_checked else "not a git work tree"),
            ],
        )
    )
    for warning in result.warnings:
        warning_line(warning, "warning:")


@app.command("rotate")
def rotate(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """New age key; credentials re-encrypted with a new data key; old key and file kept as backups."""
    from netsec_cli.secrets.provision import rotate_secrets

    emit(rotate_secrets(get_state(ctx).config), json_output, _render_rotate)


def _render_rotate(result: Any) -> None:
    console.print(
        key_value_table(
            "secrets rotate: re-encrypted and verified",
            [
                ("credentials", result.credentials_file),
                ("old recipient", result.old_recipient or "-"),
                ("new recipient", result.new_recipient),
                ("old key backup", result.key_backup or "-"),
                ("old file backup", result.credentials_backup),
                (".sops.yaml", result.sops_config),
                ("backend", result.backend),
            ],
        )
    )


app.command("set")(secrets_values.set_secret)
app.command("unset")(secrets_values.unset_secret)
app.command("list")(secrets_values.list_secrets)
app.command("get")(secrets_values.get_secret)
app.command("import")(secrets_values.import_env)
app.command("exec", context_settings=secrets_values.EXEC_SETTINGS)(secrets_values.exec_with_secrets)
app.command("add-recipient")(secrets_recipients.add_recipient)
app.command("remove-recipient")(secrets_recipients.remove_recipient)
