"""Starting uvicorn: one process, or several workers that each build the app from the config.

Workers are separate processes, so each builds its own app (`worker_app`, a uvicorn factory)
from the same config file, token source and CSV-results folder (passed in the environment by
name, never the token itself), and shares the Prometheus multiprocess folder.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.config import CONFIG_ENV
from netsec_cli.serve.auth import check_exposure, serve_token
from netsec_cli.serve.metrics import MULTIPROCESS_ENV

if TYPE_CHECKING:
    from fastapi import FastAPI

    from netsec_cli.config import Config

log = logging.getLogger("netsec_cli.serve")
RESULTS_ENV = "NETSEC_SERVE_RESULTS"
MODEL_ENV = "NETSEC_SERVE_MODEL"  # `netsec serve --model VERSION`, for worker processes


@dataclass(frozen=True)
class Listen:
    """Where and how `netsec serve` listens."""

    host: str
    port: int
    workers: int
    insecure: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def listen_settings(config: Config, host: str | None, port: int | None, workers: int | None, insecure: bool) -> Listen:
    """Options over `serve:` config; refuses an unauthenticated non-loopback host (exit 2)."""
    chosen = Listen(host or config.serve.host, port or config.serve.port, workers or config.serve.workers, insecure)
    check_exposure(config, chosen.host, insecure)
    return chosen


def run_server(config: Config, listen: Listen) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    from netsec_cli.serve.results import ResultStore

    serve_token(config)  # refuse to start without a usable token (exit 2), before binding
    from netsec_cli.runner.remote_root import pull_for

    pull_for(config, "serve")  # with an s3:// artifacts root: the model registry, before binding
    results = ResultStore()
    if listen.workers == 1:
        from netsec_cli.serve.app import create_app

        app = create_app(config, results=results)
        uvicorn.run(app, host=listen.host, port=listen.port, log_config=None, server_header=False)
        return
    source = config.source
    if source is not None:
        os.environ[CONFIG_ENV] = str(source)
    os.environ[RESULTS_ENV] = str(results.folder)
    if config.serve.model is not None:
        os.environ[MODEL_ENV] = config.serve.model
    os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="netsec-serve-metrics-")
    uvicorn.run(
        "netsec_cli.serve.server:worker_app", factory=True, host=listen.host, port=listen.port,
        workers=listen.workers, log_config=None, server_header=False,
    )  # fmt: skip


def worker_app() -> FastAPI:
    """The app of one uvicorn worker process (config from NETSEC_CONFIG)."""
    from netsec_cli.config import load_config
    from netsec_cli.logging_setup import configure_logging
    from netsec_cli.serve.app import create_app
    from netsec_cli.serve.results import ResultStore

    config = load_config(None)
    if os.environ.get(MODEL_ENV):
        config.serve.model = os.environ[MODEL_ENV]
    configure_logging(
        config.resolve(config.logging.config_file), config.logs_dir, config.logging.level, config.logging.format
    )
    folder = os.environ.get(RESULTS_ENV)
    return create_app(config, results=ResultStore(Path(folder) if folder else None))
