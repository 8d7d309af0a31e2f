"""The MLflow model `netsec train` logs and registers: models-from-code, so nothing is unpickled.

`tracking` saves this file as the model's code (`mlflow.pyfunc.save_model(python_model=<this
file>)`) with the model unit as its one artifact (`tracking.MODEL_UNIT_ARTIFACT`: the model
file, `model_info.json`, and the preprocessor and schema it was trained with). MLflow executes
the file when it loads the model; `load_context` opens the unit with `scoring.load_model_folder`
(its preprocessor checked against `model_info.json`, the booster and the skops preprocessor read
by their safe loaders). `predict` takes a DataFrame of raw flow columns, checked and parsed by the
CLI's rules (`sources.tabular.frame_chunk`), and returns what `netsec predict` writes:
  prediction   0 normal, -1 intrusion
  label        "normal" or "intrusion"
  probability  probability of intrusion; intrusion when >= the threshold train chose
Wrong or missing columns (any `InputError`) become an MlflowException with INVALID_PARAMETER_VALUE,
which `mlflow models serve` answers with HTTP 400 and netsec's one-line message.
`model_config` may set `max_field_bytes` (train records `input.max_field_bytes`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.models
import mlflow.pyfunc
import pandas as pd

from netsec_cli.errors import InputError

ORIGIN = "model input"


def _invalid(exc: InputError) -> Exception:
    """`exc` as the MlflowException the scoring server answers with HTTP 400."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    return MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE)


class NetsecDetector(mlflow.pyfunc.PythonModel):
    """The trained detector with its preprocessor: raw flow columns in, netsec predictions out."""

    def load_context(self, context: Any) -> None:
        """Open the model unit artifact; an incomplete or mismatched unit is an MlflowException."""
        from netsec_cli.scoring import load_model_folder
        from netsec_cli.sources.tabular import MAX_FIELD_BYTES
        from netsec_cli.tracking import MODEL_UNIT_ARTIFACT

        try:
            self.model = load_model_folder(Path(context.artifacts[MODEL_UNIT_ARTIFACT]))
        except InputError as exc:
            raise _invalid(exc) from None
        self.max_field_bytes = int((context.model_config or {}).get("max_field_bytes", MAX_FIELD_BYTES))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """prediction, label and probability for each row of `model_input` (raw flow columns)."""
        from netsec_cli.scoring import predictions_table, score
        from netsec_cli.sources.tabular import frame_chunk

        try:
            frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        except ValueError as exc:
            raise _invalid(InputError(f"{ORIGIN} is not a table of columns: {exc}")) from None
        try:
            probability = score(self.model, frame_chunk(ORIGIN, self.model.schema, frame, max_field_bytes=self.max_field_bytes))
        except InputError as exc:
            raise _invalid(exc) from None
        return predictions_table(0, probability, self.model.threshold).drop(["row"]).to_pandas()

mlflow.models.set_model(NetsecDetector())
