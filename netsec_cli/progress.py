"""Progress reporting that stages can use without knowing about the terminal.

A stage takes a `Progress` and calls `progress.task(description, total)` to get a handle with
`advance(n)` (and `describe(text)` to change its label, e.g. a best score so far). The CLI passes a Rich-backed implementation (bars on stderr); Python callers and
tests get `NO_PROGRESS`, which does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class TaskHandle(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def describe(self, description: str) -> None: ...


class Progress(Protocol):
    def task(
        self, description: str, total: float | None = None, unit: str = "items"
    ) -> contextlib.AbstractContextManager[TaskHandle]: ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        return None

    def describe(self, description: str) -> None:
        return None


class NullProgress:
    """Progress that reports nothing (library and test default)."""

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None, unit: str = "items") -> Iterator[TaskHandle]:
        yield _NullTask()


NO_PROGRESS: Progress = NullProgress()


class _RichTask:
    def __init__(self, bar: object, task_id: int) -> None:
        self._bar = bar
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._bar.advance(self._id, amount)  # type: ignore[attr-defined]

    def describe(self, description: str) -> None:
        self._bar.update(self._id, description=description)  # type: ignore[attr-defined]


class RichProgress:
    """Rich progress bars on stderr; hidden when stderr is not a terminal unless forced."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None, unit: str = "items") -> Iterator[TaskHandle]:
        """A bar for `total` items, or bytes (shown as sizes and speed) when `unit` is "bytes"."""
        if not self.enabled:
            yield _NullTask()
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichBar

        counts = (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(),)
        bar = RichBar(
            TextColumn("{task.description}", markup=False),  # descriptions may hold file names
            BarColumn(),
            *counts,
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with bar:
            yield _RichTask(bar, bar.add_task(description, total=total))
