"""The Typer layer: parse options, call one stage function, render its result."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point for `netsec`."""
    from netsec_cli.cli.app import app

    app()
