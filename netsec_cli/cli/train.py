"""Placeholder until the stage lands."""

from __future__ import annotations

from netsec_cli.errors import InputError


def train() -> None:
    """Not available yet."""
    raise InputError("not implemented yet")
