"""Prometheus metrics of the server (prometheus-client), every name prefixed `netsec_`.

Each app has its own registry. With several uvicorn workers, `serve` sets
`PROMETHEUS_MULTIPROC_DIR` before they start, and `/metrics` adds up every worker's values
(prometheus-client's multiprocess mode), so a scrape sees the whole server.
"""

from __future__ import annotations

import os
from typing import Any

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    """The counters and histograms one server process updates."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("netsec_requests", "HTTP requests by route, method and status", ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "netsec_request_duration_seconds", "Time to answer a request, by route", ["route"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.rows = Counter("netsec_rows_scored", "Flows scored, by model version", ["model_version"], registry=self.registry)
        self.intrusions = Counter("netsec_intrusions_flagged", "Flows flagged as intrusions, by model version", ["model_version"], registry=self.registry)
        self.model = Gauge(
            "netsec_model_info", "The model in service (value 1), by version and sha256", ["model_version", "model_sha256"],
            registry=self.registry, multiprocess_mode="livemax",
        )  # fmt: skip
        self.jobs = Counter("netsec_train_jobs", "Training jobs finished, by outcome", ["status"], registry=self.registry)
        self._shown: tuple[str, str] | None = None

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_scores(self, version: str, rows: int, intrusions: int) -> None:
        self.rows.labels(version).inc(rows)
        self.intrusions.labels(version).inc(intrusions)

    def show_model(self, version: str, sha256: str) -> None:
        """Mark the model in service (and clear the previous one's series)."""
        if self._shown == (version, sha256):
            return
        if self._shown is not None:
            self.model.remove(*self._shown)
        self.model.labels(version, sha256).set(1)
        self._shown = (version, sha256)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            CollectorRegistry,
            generate_latest,
        )

        registry: Any = self.registry
        if os.environ.get(MULTIPROCESS_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
