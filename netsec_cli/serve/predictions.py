"""Scoring one request: an uploaded file or JSON records, through the CLI's reader and model.

A file goes through `sources.tabular.open_input` (the reader `netsec predict` uses, with the same
checks and messages) chunk by chunk; records go through `records_chunk`. Both are scored by
`scoring.score` with the `ServedModel` the request started with. More rows than
`serve.max_rows` is `TooManyRows` (HTTP 413), known before scoring for `.npy` and Parquet and
after at most one chunk past the limit for text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import InputError
from netsec_cli.preprocessing import FeatureExplainer
from netsec_cli.scoring import explain_rows, features, flagged_notes, predictions_table
from netsec_cli.serve.holder import ServedModel
from netsec_cli.sources.tabular import (
    FeatureChunk,
    open_input,
    records_chunk,
    table_chunk,
)

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config


BODY = "request body"


class TooManyRows(InputError):
    """A request holds more rows than `serve.max_rows` (HTTP 413)."""


@dataclass
class Predictions:
    """The scores of one request's rows."""

    served: ServedModel
    probability: np.ndarray
    top_features: list[str] | None = None

    @property
    def rows(self) -> int:
        return len(self.probability)

    @property
    def intrusions(self) -> int:
        return int((self.probability >= self.served.threshold).sum())

    def flagged(self) -> np.ndarray:
        return self.probability >= self.served.threshold

    def table(self) -> Any:
        """The rows as `netsec predict` writes them (`scoring.predictions_table`)."""
        return predictions_table(0, self.probability, self.served.threshold, self.top_features)

    def document(self) -> dict[str, Any]:
        """The JSON answer: model version, threshold, counts and one entry per row."""
        table = self.table()
        values = [table.column(name).to_pylist() for name in table.column_names]
        return {
            "model_version": self.served.version,
            "threshold": self.served.threshold,
            "rows": self.rows,
            "intrusions": self.intrusions,
            "predictions": [dict(zip(table.column_names, row, strict=True)) for row in zip(*values, strict=True)],
        }

    def csv(self) -> bytes:
        """The same CSV as `netsec predict` writes."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        sink = pa.BufferOutputStream()
        pacsv.write_csv(self.table(), sink)
        return bytes(sink.getvalue())


def score_file(config: Config, served: ServedModel, path: Path, *, shown_as: str, explain: bool = False) -> Predictions:
    """Score every row of a received file; an InputError carries the CLI's message with the file
    called `shown_as` (the name the client sent), never the server's temporary path."""
    limit = config.serve.max_rows
    try:
        source = open_input(path, served.model.schema, config.predict.chunk_size, max_field_bytes=config.input.max_field_bytes)
        if source.rows is not None and source.rows > limit:
            raise too_many_rows(source.rows, limit)
        return _score(served, _bounded(source.chunks(), limit), explain)
    except InputError as exc:
        exc.message = exc.message.replace(str(path), shown_as)
        raise


def score_records(config: Config, served: ServedModel, records: Sequence[Mapping[str, Any]], *, explain: bool = False) -> Predictions:
    """Score JSON records (InputError naming the record and column when one is bad)."""
    if len(records) > config.serve.max_rows:
        raise too_many_rows(len(records), config.serve.max_rows)
    chunk = records_chunk(BODY, served.model.schema, records, max_field_bytes=config.input.max_field_bytes)
    return _score(served, [chunk], explain)


def score_table(config: Config, served: ServedModel, columns: Sequence[Any], data: Sequence[Any], *, explain: bool = False) -> Predictions:
    """Score column names + rows of values (InputError naming the row and column when one is bad)."""
    if len(data) > config.serve.max_rows:
        raise too_many_rows(len(data), config.serve.max_rows)
    chunk = table_chunk(BODY, served.model.schema, columns, data, max_field_bytes=config.input.max_field_bytes)
    return _score(served, [chunk], explain)


def score_body(config: Config, served: ServedModel, body: Any, *, explain: bool = False) -> Predictions:
    """Score a JSON body: `{"records": [{column: value}, …]}` or `{"columns": [...], "data": [[...], …]}`."""
    if isinstance(body, dict) and isinstance(body.get("records"), list) and body.keys() == {"records"}:
        return score_records(config, served, body["records"], explain=explain)
    if isinstance(body, dict) and isinstance(body.get("columns"), list) and isinstance(body.get("data"), list) and body.keys() == {"columns", "data"}:
        return score_table(config, served, body["columns"], body["data"], explain=explain)
    raise InputError('the JSON body must be {"records": [{column: value, …}, …]} or {"columns": [column, …], "data": [[value, …], …]}')


def body_rows(body: Any) -> int:
    """How many rows a JSON body holds (0 when it has neither shape)."""
    if isinstance(body, dict):
        rows = body.get("records", body.get("data"))
        if isinstance(rows, list):
            return len(rows)
    return 0


def too_many_rows(rows: int | None, limit: int) -> TooManyRows:
    """The 413 error for a request over `serve.max_rows`."""
    held = f"{rows:,} rows, more than serve.max_rows ({limit:,})" if rows is not None else f"more than serve.max_rows ({limit:,}) rows"
    return TooManyRows(f"the request holds {held}", hint="split the input, or raise serve.max_rows")


def _bounded(chunks: Iterable[FeatureChunk], limit: int) -> Iterable[FeatureChunk]:
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise too_many_rows(None, limit)
        yield chunk


def _score(served: ServedModel, chunks: Iterable[FeatureChunk], explain: bool) -> Predictions:
    import numpy as np

    model = served.model
    assert model.detector is not None
    explainer = FeatureExplainer(model.preprocessor) if explain else None
    parts: list[np.ndarray] = []
    notes: list[str] = []
    for chunk in chunks:
        x = features(model, chunk)
        probability = model.detector.predict_proba(x)
        parts.append(probability)
        if explainer is not None:
            why = functools.partial(explain_rows, model, explainer, x, chunk)
            notes.extend(flagged_notes(probability, served.threshold, why).tolist())
    probability = np.concatenate(parts) if parts else np.zeros(0)
    if len(probability) == 0:
        raise InputError("the request holds no rows")
    return Predictions(served, probability, notes if explainer is not None else None)
