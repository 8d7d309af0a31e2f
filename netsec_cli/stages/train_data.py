"""What `netsec train` fits on: the training split in memory, or memory-mapped above `model.max_in_memory_rows`.

Up to `model.max_in_memory_rows` training rows, X_train is loaded whole and everything runs as it
always has. Above it (XGBoost only; CatBoost trains in memory only, an InputError), X_train stays
a read-only memmap: the final model is fitted from `predict.chunk_size`-row chunks of it
(netsec_cli.models.xgboost_matrix), while tuning and the threshold's out-of-fold fits run on a
seeded stratified sample of `model.max_in_memory_rows` training rows (`model.seed`; recorded as
`threshold_sample_rows` in model_info.json). With `compute.engine: dask` the final XGBoost model is
fitted on the cluster from `open_engine` (netsec_cli.models.xgboost_dask), the out-of-fold
threshold and tuning still here on the same rows as the local engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netsec_cli.compute import DaskEngine, open_engine
from netsec_cli.errors import InputError
from netsec_cli.models import FitResult, fit_detector
from netsec_cli.models.rows import gather
from netsec_cli.models.split import sample_rows
from netsec_cli.preprocessing import feature_types, load_preprocessor

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.artifacts import TransformFiles
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.stages.train")


@dataclass
class TrainingData:
    """The training split as train reads it: whole in memory, or memory-mapped above the limit."""

    x_train: np.ndarray
    y_train: np.ndarray
    types: list[str]
    external: bool  # more rows than model.max_in_memory_rows: read in predict.chunk_size chunks
    chunk_rows: int
    sample_rows: int | None = None  # rows of the CV sample (threshold, tuning), when external


def training_data(config: Config, transform: TransformFiles) -> TrainingData:
    """X_train (memory-mapped when larger than model.max_in_memory_rows), y_train and the column types."""
    x_train, limit = transform.load_array("X_train", mmap=True), config.model.max_in_memory_rows
    external = len(x_train) > limit
    if external and config.model.type != "xgboost":
        raise InputError(
            f"CatBoost trains in memory only: the training split has {len(x_train)} rows, "
            f"more than model.max_in_memory_rows ({limit})",
            hint="use model.type: xgboost, or raise model.max_in_memory_rows if the machine has the memory",
        )
    if not external:
        x_train = transform.load_array("X_train")
    types = feature_types(load_preprocessor(transform.preprocessor))
    if len(types) != x_train.shape[1]:
        raise InputError(
            f"{transform.folder} is inconsistent: the preprocessor gives {len(types)} columns, X_train has {x_train.shape[1]}",
            hint="re-run `netsec transform`",
        )
    sample = limit if external else None
    return TrainingData(x_train, transform.load_array("y_train"), types, external, config.predict.chunk_size, sample)


def cv_rows(config: Config, data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """What tuning and the threshold's out-of-fold fits see: the training split, or above the limit
    a seeded stratified sample of model.max_in_memory_rows of its rows (read in one pass)."""
    if not data.external:
        return data.x_train, data.y_train
    rows = sample_rows(data.y_train, config.model.max_in_memory_rows, config.model.seed)
    return gather(data.x_train, rows, data.chunk_rows), data.y_train[rows]


def fit_final(config: Config, data: TrainingData, params: dict[str, Any]) -> tuple[FitResult, str]:
    """The final model and where it was fitted: XGBoost on the Dask cluster with compute.engine dask,
    else here (from chunks above the limit)."""
    if config.compute.engine == "dask" and config.model.type == "xgboost":
        from netsec_cli.models.xgboost_dask import fit_xgboost_dask

        with open_engine(config) as engine:
            if isinstance(engine, DaskEngine):
                fitted = fit_xgboost_dask(
                    engine.client,
                    config.model,
                    data.x_train,
                    data.y_train,
                    data.types,
                    params,
                    chunk_rows=data.chunk_rows,
                    check_workers=engine.check_workers,
                    scheduler=engine.address,
                )
                return fitted, engine.name
    if config.compute.engine == "dask":
        log.info("CatBoost has no Dask path: fitting on this machine")
    chunk_rows = data.chunk_rows if data.external else None
    return fit_detector(config.model, data.x_train, data.y_train, data.types, params, chunk_rows=chunk_rows), "local"
