"""`netsec secrets add-recipient|remove-recipient`: who can decrypt the credentials file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netsec_cli.cli.options import JsonOption
from netsec_cli.cli.output import console, emit, key_value_table
from netsec_cli.cli.state import get_state

RecipientArgument = Annotated[
    str, typer.Argument(metavar="AGE_PUBLIC_KEY", help="An age public key (age1…).")
]


def add_recipient(
    ctx: typer.Context, recipient: RecipientArgument, json_output: JsonOption = False
) -> None:
    """Let one more age key decrypt the credentials (data key re-wrapped; `.sops.yaml` updated)."""
    from netsec_cli.secrets.recipients import add_recipient as add

    emit(add(get_state(ctx).config, recipient), json_output, _render)


def remove_recipient(
    ctx: typer.Context, recipient: RecipientArgument, json_output: JsonOption = False
) -> None:
    """Stop an age key from decrypting the credentials (new data key; `.sops.yaml` updated)."""
    from netsec_cli.secrets.recipients import remove_recipient as remove

    emit(remove(get_state(ctx).config, recipient), json_output, _render)


def _render(result: Any) -> None:
    console.print(
        key_value_table(
            f"secrets: recipient {result.action}, verified",
            [
                ("credentials", result.credentials_file),
                (result.action, result.recipient),
                ("recipients", ", ".join(result.recipients)),
                (
                    "data key",
                    "new (rotated)" if result.data_key_rotated else "kept (re-wrapped)",
                ),
                (".sops.yaml", result.sops_config),
                ("backend", result.backend),
                ("old file backup", result.backup),
            ],
        )
    )
