"""One place that renders results: Rich tables for people on stdout, JSON for machines.

Diagnostics (errors, warnings, progress) go to stderr so `--json` output stays parseable.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, pydantic models, paths and numpy scalars into plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def print_json(value: Any) -> None:
    """Write `value` as JSON on stdout (plain print: no Rich wrapping or markup)."""
    print(json.dumps(to_jsonable(value), indent=2, default=str))


def emit(result: Any, json_mode: bool, render: Callable[[Any], None]) -> None:
    """Print a stage result: JSON on stdout with `--json`, else through `render`."""
    if json_mode:
        print_json(result)
    else:
        render(result)


def key_value_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table for a result summary."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def rows_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with a header row."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    return table


def error_line(message: str) -> None:
    """One line on stderr, the only thing a user sees when a command fails (secrets masked)."""
    from rich.markup import escape

    from netsec_cli.redaction import redact

    text = " ".join(redact(message).split())
    err_console.print(f"[bold red]Error:[/bold red] {escape(text)}", highlight=False, soft_wrap=True)
