"""`POST /train`: the pipeline (etl → validate → transform → train) as a background job.

A job runs `stages.run.run_pipeline` with the server's config in a thread, under the artifacts
lock the CLI takes: `start` returns only once the job holds the lock, or raises LockBusy (HTTP
409) when a CLI run or another job holds it. Every job is a JSON record in `artifacts/.jobs/`
(written atomically, hidden from the S3 mirror), so every worker process can answer
`GET /jobs/{id}`; a record left `running` by a process that is gone reads as `interrupted`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import jobs_dir, pipeline_lock, write_json_atomic
from netsec_cli.errors import LockBusy, NetsecError
from netsec_cli.redaction import redact

if TYPE_CHECKING:
    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.serve")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
KEPT_JOBS = 20


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TrainJobs:
    """The training jobs of one artifacts folder, started and read by one server process."""

    def __init__(self, config: Config, on_finish: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.folder = jobs_dir(config.artifacts_dir)
        self.on_finish = on_finish
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running: str | None = None  # the id of this process's job in `_thread`

    def start(self) -> dict[str, Any]:
        """Start a job once it holds the artifacts lock; LockBusy while anything else holds it."""
        with self._mutex:
            if self._thread is not None and self._thread.is_alive():
                raise LockBusy("a training job of this server is still running", hint="follow it at GET /train")
            job = {"id": uuid.uuid4().hex, "status": "running", "started_at": _now(), "pid": os.getpid()}
            holding = threading.Event()
            refused: list[LockBusy] = []
            thread = threading.Thread(target=self._run, args=(job, holding, refused), name=f"netsec-train-{job['id'][:8]}", daemon=True)
            self._thread, self._running = thread, job["id"]
            thread.start()
            holding.wait()
            if refused:
                thread.join()
                self._thread, self._running = None, None
                raise refused[0]
            return self._public(job)

    def _run(self, job: dict[str, Any], holding: threading.Event, refused: list[LockBusy]) -> None:
        from netsec_cli.stages.run import run_pipeline

        try:
            with pipeline_lock(self.config.artifacts_dir, wait=0):
                self._write(job)
                holding.set()
                log.info("serve: training job %s started", job["id"])
                result = run_pipeline(self.config)
                trained = result.train
                job.update(
                    status="succeeded",
                    outcome={
                        "rows": result.etl.rows,
                        "accuracy": trained.metrics.get("accuracy"),
                        "f1": trained.metrics.get("f1"),
                        "threshold": trained.threshold.threshold,
                        "model_version": trained.model_version,
                        "seconds": round(result.duration, 2),
                        "stages": result.stages,  # "ran" or "skipped" (unchanged since the last run)
                    },
                )
        except LockBusy as exc:
            if not holding.is_set():
                refused.append(exc)
                return
            job.update(status="failed", error=str(exc))
        except NetsecError as exc:
            job.update(status="failed", error=redact(str(exc)))
        except Exception as exc:  # a job must always end with a record, whatever broke
            log.exception("serve: training job %s failed", job["id"])
            job.update(status="failed", error=redact(f"internal error: {type(exc).__name__}: {exc}"))
        finally:
            holding.set()
        job["ended_at"] = _now()
        self._write(job)
        log.info("serve: training job %s %s", job["id"], job["status"])
        if self.on_finish is not None:
            self.on_finish(job["status"])

    def _write(self, job: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.folder / f"{job['id']}.json", job)
        self._prune()

    def _prune(self) -> None:
        records = sorted(self.folder.glob("*.json"), key=_mtime, reverse=True)
        for old in records[KEPT_JOBS:]:
            old.unlink(missing_ok=True)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's record (None for an unknown or malformed id)."""
        if not _JOB_ID.match(job_id):
            return None
        return self._read(self.folder / f"{job_id}.json")

    def recent(self) -> list[dict[str, Any]]:
        """The kept jobs, newest first."""
        if not self.folder.is_dir():
            return []
        records = sorted(self.folder.glob("*.json"), key=_mtime, reverse=True)
        return [job for job in (self._read(path) for path in records) if job is not None]

    def _read(self, path: Path) -> dict[str, Any] | None:
        import json

        try:
            job = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(job, dict) or "id" not in job:
            return None
        if job.get("status") == "running" and not self._alive(job):
            job = {**job, "status": "interrupted", "error": "the server process running it stopped"}
        return self._public(job)

    def _alive(self, job: dict[str, Any]) -> bool:
        pid = job.get("pid")
        if pid == os.getpid():
            return self._running == job["id"] and self._thread is not None and self._thread.is_alive()
        try:
            os.kill(int(pid), 0)
        except (OSError, TypeError, ValueError):
            return False
        return True

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        shown = {key: value for key, value in job.items() if key != "pid"}
        shown["links"] = {"self": f"/jobs/{job['id']}"}
        return shown


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
