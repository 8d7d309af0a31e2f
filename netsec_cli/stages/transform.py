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

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import pipeline_lock, require_stage, staged_stage, verify_manifest, write_json_atomic
from netsec_cli.errors import InputError
from netsec_cli.logging_setup import stage_log
from netsec_cli.preprocessing import PREPROCESSOR_FILE, feature_frame, fit_preprocessor, save_preprocessor, transform_features
from netsec_cli.progress import NO_PROGRESS, Progress
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


def checked_stage(artifacts: Path, stage: str, needed_by: str) -> Path:
    """An earlier stage's folder, refusing it if files differ from its manifest."""
    folder = require_stage(artifacts, stage, needed_by)
    changed = verify_manifest(folder)
    if changed:
        raise InputError(
            f"{stage} artifacts in {folder} changed since they were written ({', '.join(changed)})",
            hint=f"re-run `netsec {stage}`",
        )
    return folder


def binary_target(schema: Schema, frame: pd.DataFrame) -> np.ndarray:
    """1 for intrusion rows, 0 for normal rows."""
    import numpy as np

    return (~schema.is_normal(frame[schema.target])).to_numpy(dtype=bool).astype(np.int8)


def _read_split(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise InputError(f"cannot read {path}: {exc}", hint="re-run `netsec etl`") from None


def _smote(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    from imblearn.over_sampling import SMOTE

    minority = int(min(np.bincount(y, minlength=2)))
    if minority < 2:
        raise InputError("SMOTE needs at least 2 rows of each class in the training split", hint="set transform.smote: false")
    x_res, y_res = SMOTE(random_state=seed, k_neighbors=min(5, minority - 1)).fit_resample(x, y)
    return np.ascontiguousarray(x_res, dtype=np.float32), np.asarray(y_res, dtype=np.int8)


def _save_arrays(folder: Path, arrays: dict[str, Any]) -> None:
    import numpy as np

    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array, allow_pickle=False)


def run_transform(config: Config, *, progress: Progress = NO_PROGRESS) -> TransformResult:
    """Fit the preprocessor on artifacts/etl/train.parquet and publish artifacts/transform."""
    import numpy as np

    started = time.perf_counter()
    artifacts = config.artifacts_dir
    etl_dir = checked_stage(artifacts, "etl", "transform")
    with stage_log("transform", source=etl_dir, scaler=config.transform.scaler, smote=config.transform.smote) as log:
        schema = Schema.load(etl_dir / "schema.yaml")
        with progress.task("transform", total=4) as bar:
            train = _read_split(etl_dir / "train.parquet")
            test = _read_split(etl_dir / "test.parquet")
            if train.empty:
                raise InputError(f"{etl_dir / 'train.parquet'} has no rows", hint="re-run `netsec etl` on a non-empty source")
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
            with pipeline_lock(artifacts), staged_stage(artifacts, "transform") as staging:
                save_preprocessor(preprocessor, staging / PREPROCESSOR_FILE)
                schema.save(staging / "schema.yaml")
                _save_arrays(staging, {"X_train": x_train, "y_train": y_train, "X_test": x_test, "y_test": y_test})
                write_json_atomic(staging / "feature_names.json", names)
                info = {
                    "train_rows": int(len(y_train)),
                    "test_rows": int(len(y_test)),
                    "smote_added": added,
                    "options": config.transform.model_dump(mode="json"),
                }
                write_json_atomic(staging / "transform.json", info)
            bar.advance()
        result = TransformResult(
            train_rows=int(len(y_train)),
            test_rows=int(len(y_test)),
            input_features=len(schema.features),
            output_features=len(names),
            smote_added=added,
            intrusion_share_train=round(float(np.mean(y_train)) if len(y_train) else 0.0, 4),
            output_dir=artifacts / "transform",
            duration=round(time.perf_counter() - started, 3),
        )
        log.update(train_rows=result.train_rows, test_rows=result.test_rows, features=result.output_features)
    return result
