"""`netsec transform`: fit the preprocessor on the training split and transform both splits.

Reads artifacts/etl/{train,test}.parquet and schema.yaml; writes artifacts/transform/:
  preprocessor.skops   the fitted ColumnTransformer (loads without executing code)
  schema.yaml          the schema it was fitted for (predict reads this one)
  X_train.npy y_train.npy X_test.npy y_test.npy   float32 features, int8 target (1 = intrusion)
  feature_names.json   output column names, in order
  transform.json       row counts and options
SMOTE (when `transform.smote`) oversamples the transformed training split only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.artifacts import (
    TransformFiles,
    open_stage,
    stage_dir,
    write_json_atomic,
    write_text_atomic,
)
from netsec_cli.errors import InputError
from netsec_cli.preprocessing import (
    feature_frame,
    fit_preprocessor,
    save_preprocessor,
    transform_features,
)
from netsec_cli.runner import RunOptions, run_stage
from netsec_cli.schema import Schema

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from netsec_cli.config import Config


@dataclass
class TransformResult:
    """What `netsec transform` produced."""

    train_rows: int
    test_rows: int
    input_features: int
    output_features: int
    smote_added: int
    intrusion_share_train: float
    output_dir: Path
    duration: float


def binary_target(schema: Schema, frame: pd.DataFrame) -> np.ndarray:
    """1 for intrusion rows, 0 for normal rows."""
    import numpy as np

    return (~schema.is_normal(frame[schema.target])).to_numpy(dtype=bool).astype(np.int8)


def _smote(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    from imblearn.over_sampling import SMOTE

    minority = int(min(np.bincount(y, minlength=2)))
    if minority < 2:
        raise InputError("SMOTE needs at least 2 rows of each class in the training split", hint="set transform.smote: false")
    x_res, y_res = SMOTE(random_state=seed, k_neighbors=min(5, minority - 1)).fit_resample(x, y)
    return np.ascontiguousarray(x_res, dtype=np.float32), np.asarray(y_res, dtype=np.int8)


def run_transform(config: Config, *, options: RunOptions = RunOptions()) -> TransformResult:
    """Fit the preprocessor on artifacts/etl/train.parquet and publish artifacts/transform."""
    import numpy as np

    inputs = {"scaler": config.transform.scaler, "smote": config.transform.smote}
    with run_stage(config, "transform", options, **inputs) as run, options.progress.task("transform", total=4) as bar:
        etl = open_stage(config.artifacts_dir, "etl", "transform")
        schema = etl.load_schema()
        train, test = etl.read("train"), etl.read("test")
        if train.empty:
            raise InputError(f"{etl.train} has no rows", hint="re-run `netsec etl` on a non-empty source")
        bar.advance()
        train_x, test_x = feature_frame(schema, train), feature_frame(schema, test)
        preprocessor = fit_preprocessor(schema, config.transform, train_x, seed=config.split.seed)
        bar.advance()
        x_train, x_test = transform_features(preprocessor, train_x), transform_features(preprocessor, test_x)
        y_train, y_test = binary_target(schema, train), binary_target(schema, test)
        bar.advance()
        added = 0
        if config.transform.smote:
            before = len(y_train)
            x_train, y_train = _smote(x_train, y_train, config.transform.smote_seed)
            added = len(y_train) - before
        names = [str(n) for n in preprocessor.get_feature_names_out()]
        files = TransformFiles(run.folder)
        save_preprocessor(preprocessor, files.preprocessor)
        write_text_atomic(files.schema, schema.to_yaml())
        for name, array in {"X_train": x_train, "y_train": y_train, "X_test": x_test, "y_test": y_test}.items():
            np.save(files.array(name), array, allow_pickle=False)
        write_json_atomic(files.feature_names_file, names)
        info = {
            "train_rows": int(len(y_train)),
            "test_rows": int(len(y_test)),
            "smote_added": added,
            "options": config.transform.model_dump(mode="json"),
        }
        write_json_atomic(files.info, info)
        bar.advance()
        run.summary.update(train_rows=len(y_train), test_rows=len(y_test), features=len(names))
    return TransformResult(
        train_rows=int(len(y_train)),
        test_rows=int(len(y_test)),
        input_features=len(schema.features),
        output_features=len(names),
        smote_added=added,
        intrusion_share_train=round(float(np.mean(y_train)) if len(y_train) else 0.0, 4),
        output_dir=stage_dir(config.artifacts_dir, "transform"),
        duration=run.elapsed(),
    )
