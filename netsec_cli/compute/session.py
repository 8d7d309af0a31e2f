"""Opening the engine a command runs on: `compute.engine` (or `--engine`) of the config.

`open_engine(config)` yields a `LocalEngine`, or a `DaskEngine` connected to
`compute.scheduler_address` within `compute.connect_timeout` seconds (unreachable: exit 4 naming
the address), or, with no address, to a `LocalCluster` of worker processes started here on
127.0.0.1 (`compute.local_workers`, default one per available CPU, each with an equal share of
`compute.threads`) and stopped when the block ends. Nested `open_engine` blocks with the same
settings share the outer engine, so `netsec run` starts one cluster for all its stages. A block
that ends normally checks that every worker it started with is still there (exit 4 if one left),
so a stage whose cluster lost a worker fails before it publishes.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from netsec_cli.compute.engine import DaskEngine, Engine, LocalEngine
from netsec_cli.errors import InputError, ServiceError

if TYPE_CHECKING:
    from distributed import Client

    from netsec_cli.config import ComputeConfig, Config

log = logging.getLogger("netsec_cli.compute")

_open: dict[tuple[object, ...], Engine] = {}


def _key(compute: ComputeConfig) -> tuple[object, ...]:
    return (compute.engine, compute.scheduler_address, compute.local_workers, compute.thread_count)


@contextlib.contextmanager
def open_engine(config: Config) -> Iterator[Engine]:
    """The engine `config.compute` asks for, open for the duration of the block."""
    compute = config.compute
    key = _key(compute)
    if compute.engine == "local":
        yield LocalEngine()
        return
    if key in _open:
        yield _open[key]
        _open[key].check_workers()
        return
    with _client(compute) as (client, address):
        engine = DaskEngine(client, address)
        log.info("dask engine: %s with %d worker(s)", address, engine.workers)
        _open[key] = engine
        try:
            yield engine
            engine.check_workers()
        finally:
            del _open[key]


@contextlib.contextmanager
def _client(compute: ComputeConfig) -> Iterator[tuple[Client, str]]:
    if compute.scheduler_address:
        with _remote_client(compute.scheduler_address, compute.connect_timeout) as client:
            yield client, compute.scheduler_address
        return
    with _local_cluster(compute) as client:
        yield client, str(client.scheduler.address)


@contextlib.contextmanager
def _remote_client(address: str, timeout: float) -> Iterator[Client]:
    from distributed import Client

    if "://" not in address or not address.split("://", 1)[1]:
        raise InputError(
            f"compute.scheduler_address {address!r} is not a scheduler address",
            hint="use tcp://host:8786, or null to start a local cluster",
        )
    try:
        client = Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ServiceError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({_reason(exc)})",
            hint="start the scheduler, fix compute.scheduler_address, or set it to null for a local cluster",
        ) from None
    except ValueError as exc:
        raise InputError(f"compute.scheduler_address {address!r} is not usable: {exc}") from None
    try:
        if not client.nthreads():
            raise ServiceError(f"the Dask scheduler at {address} has no workers", hint="start `dask worker` processes")
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _local_cluster(compute: ComputeConfig) -> Iterator[Client]:
    from distributed import Client, LocalCluster

    from netsec_cli.config import available_cpus

    workers = compute.local_workers or available_cpus()
    threads = max(1, compute.thread_count // workers)
    with warnings.catch_warnings():  # e.g. "port 8787 in use": no dashboard is started anyway
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
