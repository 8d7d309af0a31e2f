"""One place that renders results: Rich tables for people on stdout, JSON for machines.

Diagnostics (errors, warnings, progress) go to stderr so `--json` output stays parseable.
Everything shown comes from data or the user (flow values, column and file names, messages), so
it is never parsed as Rich markup or emoji codes: both consoles are made with `markup=False,
emoji=False`, and the helpers here wrap every cell, title, header and message in a
`rich.text.Text` as well (a value `[/bold]` or `[link=…]` is printed as it is, never as a style or
a terminal hyperlink). Style comes only from `Text` styles and column styles set here.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


class _StdoutConsole(Console):
    """Rich's Console, but a closed stdout (`netsec … | head`) raises BrokenPipeError instead of
    exiting 1, so `NetsecGroup.invoke` ends every such run the same way: quietly, exit 0."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


console = _StdoutConsole(markup=False, emoji=False)
err_console = Console(stderr=True, markup=False, emoji=False)


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


def skipped_line(stage: str, result: Any) -> None:
    """`<stage>: skipped (unchanged)` on stdout when `result` comes from a stage that did not run."""
    if getattr(result, "skipped", False):
        console.print(plain(f"{stage}: skipped (unchanged)"))


def plain(value: Any) -> Text:
    """`value` as text shown exactly as it is: no Rich markup, no emoji codes."""
    return Text(str(value))


def key_value_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table for a result summary (every cell shown literally)."""
    table = Table(title=plain(title), show_header=False, title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in rows:
        table.add_row(plain(key), plain(value))
    return table


def rows_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with a header row (every header and cell shown literally)."""
    table = Table(title=plain(title), title_justify="left")
    for column in columns:
        table.add_column(plain(column))
    for row in rows:
        table.add_row(*(plain(cell) for cell in row))
    return table


def _diagnostic(label: str, style: str, message: str) -> None:
    from netsec_cli.redaction import redact

    text = Text.assemble((label, style), " ", " ".join(redact(message).split()))
    err_console.print(text, highlight=False, soft_wrap=True)


def error_line(message: str) -> None:
    """One line on stderr, the only thing a user sees when a command fails (secrets masked)."""
    _diagnostic("Error:", "bold red", message)


def warning_line(message: str, label: str = "Warning:") -> None:
    """One warning line on stderr (secrets masked)."""
    _diagnostic(label, "yellow", message)
