"""Placeholder until `netsec etl load` lands (issue 3)."""

from __future__ import annotations

from netsec_cli.errors import InputError


def load() -> None:
    """Not available yet."""
    raise InputError("not implemented yet")
