"""The request and response bodies of every route, as pydantic models (they make `/docs`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class RecordsBody(BaseModel):
    """`POST /predict` as JSON: raw flow records, one object of column: value per row."""

    records: list[dict[str, Any]] = Field(
        description="One object per flow, keyed by the schema's column names (null or \"?\" = missing).",
        examples=[[{"duration": 0, "protocol_type": "tcp", "service": "http", "flag": "SF", "src_bytes": 181}]],
    )


class TableBody(BaseModel):
    """`POST /predict` as JSON, column-oriented (about 6x smaller than records, and faster)."""

    columns: list[str] = Field(description="The schema's column names, in the order of each row's values.")
    data: list[list[Any]] = Field(description="One list of values per flow (null or \"?\" = missing).")


class PredictedRow(BaseModel):
    row: int = Field(description="0-based row index in the input")
    prediction: Literal[0, -1] = Field(description="0 normal, -1 intrusion (as the original API)")
    label: Literal["normal", "intrusion"]
    probability: float = Field(description="probability of intrusion; intrusion when >= threshold")
    top_features: str | None = Field(default=None, description="with ?explain=true: the inputs that raised an intrusion's score most")


class PredictResponse(BaseModel):
    model_version: str
    threshold: float
    rows: int
    intrusions: int
    predictions: list[PredictedRow]


class ErrorResponse(BaseModel):
    detail: str = Field(description="One line: what is wrong (the CLI's `Error:` message)")


class JobResponse(BaseModel):
    id: str
    status: Literal["running", "succeeded", "failed", "interrupted"]
    started_at: str
    ended_at: str | None = None
    outcome: dict[str, Any] | None = Field(default=None, description="rows, accuracy, f1, threshold, model_version, seconds and stages (each ran or skipped) on success")
    error: str | None = None
    links: dict[str, str] = Field(default_factory=dict)


class TrainStatus(BaseModel):
    latest: JobResponse | None
    jobs: list[JobResponse] = Field(description="the most recent jobs, newest first")


class VersionResponse(BaseModel):
    netsec_version: str
    model_version: str | None
    model_sha256: str | None
    model_type: str | None
    threshold: float | None
    trained_at: str | None


class Health(BaseModel):
    status: Literal["ok", "no model"]
    detail: str | None = None
