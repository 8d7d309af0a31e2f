"""Where a stage's per-chunk work runs: in this process, or on the workers of a Dask cluster.

A stage hands `Engine.map` a plain function and an iterable of chunks and gets the results back
in chunk order. `LocalEngine` calls the function here, one chunk at a time. `DaskEngine` sends
each chunk to the cluster (arguments shared by every chunk, such as a fitted preprocessor, are
scattered once) with at most `window` chunks in flight, so the driver's memory stays bounded
while the workers compute. Only data and plain functions travel; workers never read artifacts.

A failure on a worker is re-raised here as what it was (a netsec error keeps its exit code). A
worker that dies or leaves the cluster while the stage runs is a `ServiceError` (exit 4) naming
it: Dask would otherwise quietly re-run its tasks elsewhere, and a stage whose cluster shrank
under it is not one a nightly job should publish without saying so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from netsec_cli.errors import ServiceError

if TYPE_CHECKING:
    from distributed import Client, Future

Item = TypeVar("Item")
Result = TypeVar("Result")

POLL_SECONDS = 0.5


class Engine(Protocol):
    """Runs one function over many chunks, results in chunk order."""

    name: str

    def map(self, function: Callable[..., Result], items: Iterable[Any], *shared: Any) -> Iterator[Result]:
        """`function(item, *shared)` for every item, yielded in the items' order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the engine is, for logs and `--json` (no secrets)."""
        ...


class LocalEngine:
    """This process, one chunk at a time."""

    name = "local"

    def map(self, function: Callable[..., Result], items: Iterable[Any], *shared: Any) -> Iterator[Result]:
        """`function(item, *shared)` for every item, here and in order."""
        for item in items:
            yield function(item, *shared)

    def describe(self) -> dict[str, Any]:
        """`{"engine": "local"}`."""
        return {"engine": self.name}


class DaskEngine:
    """The workers of a dask.distributed cluster, reached through `client`."""

    name = "dask"

    def __init__(self, client: Client, address: str, *, window: int | None = None) -> None:
        self.client, self.address = client, address
        self._workers = set(client.nthreads())
        self.window = window or max(2, 2 * sum(client.nthreads().values()))

    @property
    def workers(self) -> int:
        """Workers in the cluster when the engine was opened."""
        return len(self._workers)

    def describe(self) -> dict[str, Any]:
        """Engine, scheduler address and worker count."""
        return {"engine": self.name, "scheduler": self.address, "workers": self.workers}

    def map(self, function: Callable[..., Result], items: Iterable[Any], *shared: Any) -> Iterator[Result]:
        """`function(item, *shared)` on the workers, at most `window` in flight, yielded in order.

        Chunks are submitted in batches of half the window (one scheduler message per batch), so
        one batch computes while the previous one's results come back."""
        scattered = tuple(self.client.scatter(value, broadcast=True, hash=False) for value in shared)
        size = max(1, self.window // 2)
        pending: deque[Future] = deque()
        try:
            for group in _batches(items, size):
                sent = self.client.scatter(group, hash=False)  # data as futures, not inside the task graph
                pending.extend(self.client.map(_apply, sent, function=function, shared=scattered, pure=False))
                while len(pending) > size:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: Future) -> Any:
        from distributed import KilledWorker

        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                if future.done():
                    raise
                self.check_workers()
            except KilledWorker as exc:
                raise ServiceError(f"a Dask worker died while running a task ({exc})") from None

    def check_workers(self) -> None:
        """Raise ServiceError (exit 4) when a worker present at the start has left the cluster."""
        try:
            now = set(self.client.nthreads())
        except OSError as exc:
            raise ServiceError(f"lost the Dask scheduler at {self.address}: {exc}") from None
        gone = sorted(self._workers - now)
        if gone:
            raise ServiceError(f"Dask worker {gone[0]} left the cluster at {self.address} while the stage ran")


def _apply(item: Any, function: Callable[..., Any], shared: tuple[Any, ...]) -> Any:
    return function(item, *shared)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
