"""Placeholder until the command group lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Not available yet.")
