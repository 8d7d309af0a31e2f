"""`netsec config show|validate`: inspect the effective configuration."""

from __future__ import annotations

import typer

from netsec_cli.cli.options import JsonOption
from netsec_cli.cli.output import console, print_json
from netsec_cli.cli.state import get_state

app = typer.Typer(help="Show or check the effective configuration.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Print the effective configuration (file values over built-in defaults)."""
    from netsec_cli.config import redacted_dump

    data = redacted_dump(get_state(ctx).config)
    if json_output:
        print_json(data)
        return
    import yaml

    console.print(yaml.safe_dump(data, sort_keys=False), markup=False, highlight=False, soft_wrap=True)


@app.command("validate")
def validate(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Check the config file; exit 2 with every problem listed if it is invalid."""
    config = get_state(ctx).config
    source = str(config.source) if config.source else "built-in defaults"
    if json_output:
        print_json({"valid": True, "source": source})
    else:
        console.print(f"config OK: {source}", markup=False, highlight=False, soft_wrap=True)
