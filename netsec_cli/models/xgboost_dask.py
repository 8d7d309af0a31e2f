"""XGBoost fitted on a Dask cluster (`compute.engine: dask`), saved exactly as a local model.

The driver reads the training matrix (an array or a memmap) `chunk_rows` file rows at a time,
scatters each chunk to the workers (`client.scatter`) and stitches the futures into a dask array
(`dask.array.from_delayed`, concatenated): the graph refers to data already on the workers and
never embeds the matrix. The early-stopping slice (`split.early_stopping_rows`, the same rows as
locally) becomes a second `DaskQuantileDMatrix` binned on the training matrix's cuts, and
`xgboost.dask.train` fits the booster with the local settings (`xgboost_detector.booster_settings`),
except the thread count: each worker uses its own threads (more would oversubscribe its cores and
stall the per-round collective).
The result is an ordinary `Booster`, trimmed to its best iteration: `model.ubj` is the same format
whichever engine trained it.

The caller passes the `Client` and a `check_workers` callable. Training runs in a helper thread
while this one polls `check_workers` every half second: a worker that dies or leaves mid-training
is a ServiceError (exit 4) naming the scheduler, instead of a collective that waits for it.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import NetsecError, ServiceError
from netsec_cli.models.rows import row_chunks
from netsec_cli.models.split import early_stopping_rows
from netsec_cli.models.xgboost_detector import BoosterSettings, booster_settings, fitted, rejected

if TYPE_CHECKING:
    import numpy as np
    from distributed import Client

    from netsec_cli.config import ModelConfig
    from netsec_cli.models.base import FitResult

POLL_SECONDS = 0.5


def scattered_rows(client: Client, x: np.ndarray, y: np.ndarray, rows: np.ndarray, chunk_rows: int) -> tuple[Any, Any]:
    """(X, y) as dask arrays of the sorted `rows`: each chunk read here and scattered, features and
    labels together, to the next worker in turn."""
    import dask.array as da

    workers = sorted(client.nthreads())
    x_parts, y_parts = [], []
    for number, (positions, block) in enumerate(row_chunks(x, rows, chunk_rows)):
        labels = y[rows[positions]]
        x_future, y_future = client.scatter([block, labels], workers=[workers[number % len(workers)]], hash=False)
        x_parts.append(da.from_delayed(x_future, shape=block.shape, dtype=block.dtype))
        y_parts.append(da.from_delayed(y_future, shape=labels.shape, dtype=labels.dtype))
    return da.concatenate(x_parts), da.concatenate(y_parts)


def fit_xgboost_dask(
    client: Client,
    options: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    types: list[str],
    params: dict[str, Any] | None = None,
    *,
    chunk_rows: int,
    check_workers: Callable[[], None],
    scheduler: str,
) -> FitResult:
    """XGBoost with early stopping, fitted on the cluster behind `client`; `check_workers` raises
    when a worker left, and `scheduler` names the cluster in errors."""
    settings = booster_settings(options, types, params)
    rows = early_stopping_rows(y, options.validation_fraction, options.seed)
    training: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def train_in_background() -> None:
        try:
            with client.as_current():  # xgboost.dask looks the client up even when it is passed
                training.set_result(_train(client, settings, x, y, rows, chunk_rows))
        except BaseException as exc:  # noqa: BLE001  (handed to the waiting thread)
            training.set_exception(exc)

    # a daemon thread: when a worker left, this process must not wait for a collective that hangs
    threading.Thread(target=train_in_background, name="netsec-xgboost-dask", daemon=True).start()
    booster = _wait(training, check_workers, scheduler)
    return fitted(booster, settings, types, (x, y), rows, chunk_rows)


def _train(
    client: Client, settings: BoosterSettings, x: np.ndarray, y: np.ndarray, rows: tuple[np.ndarray, np.ndarray], chunk_rows: int
) -> Any:
    """`xgboost.dask.train` on the scattered fit rows, early-stopped on the scattered validation rows."""
    import xgboost.dask as dxgb

    options = settings.matrix
    kwargs = {"feature_types": options.feature_types, "enable_categorical": options.categorical, "max_bin": options.max_bin}
    x_fit, y_fit = scattered_rows(client, x, y, rows[0], chunk_rows)
    x_val, y_val = scattered_rows(client, x, y, rows[1], chunk_rows)
    train = dxgb.DaskQuantileDMatrix(client, x_fit, y_fit, **kwargs)
    validation = dxgb.DaskQuantileDMatrix(client, x_val, y_val, ref=train, **kwargs)
    params = {k: v for k, v in settings.params.items() if k not in ("n_jobs", "nthread")}  # each worker: its own threads
    output = dxgb.train(
        client,
        params,
        train,
        settings.rounds,
        evals=[(validation, "validation")],
        early_stopping_rounds=settings.early_stopping_rounds,
        verbose_eval=False,
    )
    return output["booster"]


def _wait(training: concurrent.futures.Future[Any], check_workers: Callable[[], None], scheduler: str) -> Any:
    """The trained booster; ServiceError when a worker left or the cluster failed the training."""
    from xgboost.core import XGBoostError

    while True:
        try:
            return training.result(timeout=POLL_SECONDS)
        except concurrent.futures.TimeoutError:
            check_workers()
        except NetsecError:
            raise
        except (XGBoostError, TypeError, ValueError) as exc:
            check_workers()
            raise rejected(exc) from None
        except Exception as exc:  # noqa: BLE001  (distributed raises many types when a worker or the scheduler goes)
            check_workers()
            raise ServiceError(f"XGBoost training on the Dask cluster at {scheduler} failed: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
