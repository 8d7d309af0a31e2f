"""The FastAPI application: every route of `netsec serve`, and the one error-to-status point.

`create_app(config)` builds an app around a `ServeState` (the model holder, the job runner, the
metrics, the token). Errors are translated once, in `_problem`: a bad input is 400 with the CLI's
one-line message as `detail`, an unsupported type 415, an oversized body or too many rows 413,
a busy artifacts lock 409, no model 503; anything unexpected is 500 with one line, never a
traceback.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from netsec_cli import __version__
from netsec_cli.config import Config
from netsec_cli.errors import InputError, LockBusy, NetsecError
from netsec_cli.redaction import redact
from netsec_cli.serve import page
from netsec_cli.serve.auth import bearer_token, serve_token, token_matches
from netsec_cli.serve.holder import ModelHolder, ServedModel
from netsec_cli.serve.jobs import TrainJobs
from netsec_cli.serve.metrics import ServeMetrics
from netsec_cli.serve.negotiation import answer_kind
from netsec_cli.serve.predictions import (
    BODY,
    Predictions,
    TooManyRows,
    body_rows,
    score_body,
    score_file,
)
from netsec_cli.serve.results import ResultStore
from netsec_cli.serve.schemas import (
    ErrorResponse,
    Health,
    JobResponse,
    PredictResponse,
    RecordsBody,
    TableBody,
    TrainStatus,
    VersionResponse,
)
from netsec_cli.serve.uploads import (
    FormRefused,
    TooLarge,
    Unsupported,
    Upload,
    receive_file,
    receive_json,
    receive_upload,
)

log = logging.getLogger("netsec_cli.serve")
INLINE_ROWS = 256  # requests this small are scored on the event loop: a thread hop costs more


class HttpProblem(Exception):
    """An HTTP error answer: status and one-line detail."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


@dataclass
class ServeState:
    """What every request of one server process shares."""

    config: Config
    token: str | None
    holder: ModelHolder
    jobs: TrainJobs
    metrics: ServeMetrics
    results: ResultStore
    started: float = field(default_factory=time.time)

    def served(self) -> ServedModel:
        """The model for this request; 503 before the first train."""
        served = self.holder.current()
        if served is None:
            detail = self.holder.problem or "no model is trained yet (run `netsec train`, or POST /train)"
            raise HttpProblem(503, detail)
        self.metrics.show_model(served.version, served.sha256)
        return served

    def authorize(self, request: Request, offered: str | None = None) -> None:
        """401 unless the request carries the token (header, or the page's form field)."""
        if not token_matches(self.token, offered or bearer_token(request.headers.get("authorization"))):
            raise HttpProblem(401, "missing or wrong token: send Authorization: Bearer <NETSEC_SERVE_TOKEN> (on the page: the Token field)", {"WWW-Authenticate": "Bearer"})


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad input: the CLI's one-line message"},
    401: {"model": ErrorResponse, "description": "Missing or wrong token"},
    413: {"model": ErrorResponse, "description": "Body over serve.max_upload_mb, or rows over serve.max_rows"},
    415: {"model": ErrorResponse, "description": "Unsupported media type or file type"},
    503: {"model": ErrorResponse, "description": "No model trained yet"},
}
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".npy, .csv, .tsv, .txt (NSL-KDD) or .parquet"},
                        "token": {"type": "string", "description": "the serve token, for browsers (else the Authorization header)"},
                    },
                }
            },
            "application/json": {"schema": {"oneOf": [RecordsBody.model_json_schema(), TableBody.model_json_schema()]}},
            "text/csv": {"schema": {"type": "string", "description": "flows as CSV with a header row of the schema's column names"}},
        },
    }
}


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HttpProblem):
        return exc.status, exc.detail
    if isinstance(exc, (TooLarge, TooManyRows)):
        return 413, str(exc)
    if isinstance(exc, Unsupported):
        return 415, str(exc)
    if isinstance(exc, InputError):
        return 400, str(exc)
    if isinstance(exc, LockBusy):
        return 409, str(exc)
    if isinstance(exc, NetsecError):
        return 503, str(exc)
    log.error("serve: internal error: %s: %s", type(exc).__name__, redact(str(exc)), exc_info=exc)
    return 500, f"internal error: {type(exc).__name__}"


def _problem(request: Request, exc: Exception) -> Response:
    status, detail = _status(exc)
    detail = redact(detail)
    headers = exc.headers if isinstance(exc, HttpProblem) else {}
    if answer_kind(request.headers.get("accept")) == "html":
        return HTMLResponse(page.error_page(status, detail), status_code=status, headers=headers)
    import orjson

    return Response(orjson.dumps({"detail": detail}), status_code=status, media_type="application/json", headers=headers)


def create_app(config: Config, *, token: str | None = None, results: ResultStore | None = None) -> FastAPI:
    """The service for `config` (token: None reads it as `serve_token` does)."""
    metrics = ServeMetrics()
    state = ServeState(
        config=config,
        token=token if token is not None else serve_token(config),
        holder=ModelHolder(config),
        jobs=TrainJobs(config, on_finish=lambda status: metrics.jobs.labels(status).inc()),
        metrics=metrics,
        results=results or ResultStore(),
    )
    app = FastAPI(
        title="netsec",
        version=__version__,
        description="Network-intrusion detection: score flows with the trained model, retrain, watch.",
    )
    app.state.netsec = state
    if config.serve.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=config.serve.cors_origins, allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_Observed, metrics=metrics)  # type: ignore[arg-type]
    app.add_exception_handler(NetsecError, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(HttpProblem, _problem)  # type: ignore[arg-type]
    _routes(app, state)
    return app


def _routes(app: FastAPI, state: ServeState) -> None:
    @app.get("/", response_class=HTMLResponse, summary="The upload page")
    def index() -> HTMLResponse:
        return HTMLResponse(page.upload_page(needs_token=state.token is not None, ready=state.holder.current() is not None))

    @app.post("/predict", response_model=PredictResponse, responses={**_ERRORS, 200: {"content": {"text/html": {}, "text/csv": {}}}}, openapi_extra=_PREDICT_BODY, summary="Score flows")
    async def predict(request: Request, explain: Annotated[bool, Query(description="add top_features for intrusions")] = False) -> Response:
        """A file (multipart field `file`), or JSON `{"records": [...]}` or `{"columns": [...], "data": [[...]]}`; answers JSON, or HTML or CSV by the Accept header."""
        kind = answer_kind(request.headers.get("accept"))
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            predictions, filename = await _predict_upload(request, state, explain or kind == "html")
        elif media == "text/csv":
            state.authorize(request)
            predictions, filename = await _predict_csv(request, state, explain), "request.csv"
        elif media == "application/json" or media.endswith("+json"):
            state.authorize(request)
            served = state.served()
            body = await receive_json(request.headers, request.stream(), state.config.serve.max_upload_bytes)
            if body_rows(body) <= INLINE_ROWS:
                predictions = score_body(state.config, served, body, explain=explain)
            else:
                predictions = await run_in_threadpool(score_body, state.config, served, body, explain=explain)
            filename = "request"
        else:
            raise Unsupported(f"unsupported media type {media or '(none)'!r}", hint="send multipart/form-data with a file, application/json records, or text/csv")
        state.metrics.observe_scores(predictions.served.version, predictions.rows, predictions.intrusions)
        return _answer(state, predictions, kind, filename)

    @app.get("/results/{result_id}.csv", response_class=FileResponse, responses={404: {"model": ErrorResponse}}, summary="A CSV kept for the page")
    def result(result_id: str) -> FileResponse:
        path = state.results.path(result_id)
        if path is None:
            raise HttpProblem(404, "no such result (results are kept for an hour)")
        return FileResponse(path, media_type="text/csv", filename="predictions.csv")

    @app.post("/train", status_code=202, response_model=JobResponse, responses={401: _ERRORS[401], 409: {"model": ErrorResponse, "description": "A job or a CLI run holds the artifacts lock"}}, summary="Retrain in the background")
    def train(request: Request) -> dict[str, Any]:
        """Start etl → validate → transform → train with the server's config; follow it at /jobs/{id}."""
        state.authorize(request)
        return state.jobs.start()

    @app.get("/train", response_model=TrainStatus, responses={401: _ERRORS[401]}, summary="The latest training jobs")
    def train_status(request: Request) -> dict[str, Any]:
        state.authorize(request)
        jobs = state.jobs.recent()
        return {"latest": jobs[0] if jobs else None, "jobs": jobs}

    @app.get("/jobs/{job_id}", response_model=JobResponse, responses={401: _ERRORS[401], 404: {"model": ErrorResponse}}, summary="One training job")
    def job(request: Request, job_id: str) -> dict[str, Any]:
        state.authorize(request)
        found = state.jobs.get(job_id)
        if found is None:
            raise HttpProblem(404, f"no training job {job_id[:40]!r}")
        return found

    @app.get("/livez", response_model=Health, summary="The process is up")
    def livez() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}}, summary="A model is loaded")
    def readyz() -> Response:
        import orjson

        served = state.holder.current()
        if served is None:
            body = {"status": "no model", "detail": state.holder.problem or "no model is trained yet"}
            return Response(orjson.dumps(body), status_code=503, media_type="application/json")
        return Response(orjson.dumps({"status": "ok", "detail": f"model {served.version}"}), media_type="application/json")

    @app.get("/version", response_model=VersionResponse, summary="netsec and model versions")
    def version() -> dict[str, Any]:
        served = state.holder.current()
        if served is None:
            return {"netsec_version": __version__, "model_version": None, "model_sha256": None, "model_type": None, "threshold": None, "trained_at": None}
        return served.describe()

    @app.get("/metrics", response_class=Response, summary="Prometheus metrics")
    def metrics() -> Response:
        served = state.holder.current()
        if served is not None:
            state.metrics.show_model(served.version, served.sha256)
        body, content_type = state.metrics.exposition()
        return Response(body, media_type=content_type)


async def _predict_upload(request: Request, state: ServeState, explain: bool) -> tuple[Predictions, str]:
    offered = bearer_token(request.headers.get("authorization"))
    if offered is not None:
        state.authorize(request)

    def check_token(upload: Upload) -> None:
        if not token_matches(state.token, offered or upload.fields.get("token")):
            raise FormRefused

    served = state.served()
    with tempfile.TemporaryDirectory(prefix="netsec-upload-") as folder:
        try:
            upload = await receive_upload(request.headers, request.stream(), Path(folder), state.config.serve.max_upload_bytes, check_token)
        except FormRefused:
            state.authorize(request)
            raise
        assert upload.path is not None
        shown = upload.filename or "the upload"
        predictions = await run_in_threadpool(score_file, state.config, served, upload.path, shown_as=shown, explain=explain)
    return predictions, upload.filename


async def _predict_csv(request: Request, state: ServeState, explain: bool) -> Predictions:
    """A raw CSV body (with a header row), read by the CLI's reader like an uploaded .csv."""
    served = state.served()
    with tempfile.TemporaryDirectory(prefix="netsec-upload-") as folder:
        path = await receive_file(request.headers, request.stream(), Path(folder) / "request.csv", state.config.serve.max_upload_bytes)
        return await run_in_threadpool(score_file, state.config, served, path, shown_as=BODY, explain=explain)


def _answer(state: ServeState, predictions: Predictions, kind: str, filename: str) -> Response:
    import orjson

    if kind == "csv":
        return Response(predictions.csv(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="predictions.csv"'})
    if kind == "html":
        link = f"/results/{state.results.keep(predictions.csv())}.csv"
        return HTMLResponse(page.results_page(predictions, filename, link))
    return Response(orjson.dumps(predictions.document()), media_type="application/json")


class _Observed:
    """ASGI middleware: every request counted by route template, method and status, and timed;
    an unexpected exception becomes a one-line 500 (logged, never sent as a traceback)."""

    def __init__(self, app: Any, metrics: ServeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status, started = time.perf_counter(), [500], [False]

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0], started[0] = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception as exc:
            if status[0] != 500 or started[0]:
                raise
            response = _problem(Request(scope), exc)
            await response(scope, receive, record)
        finally:
            route = scope.get("route")
            self.metrics.observe_request(getattr(route, "path", "unmatched"), scope.get("method", ""), status[0], time.perf_counter() - start)
