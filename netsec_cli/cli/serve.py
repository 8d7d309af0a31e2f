"""`netsec serve`: the web service (upload page, /predict, /train, health and metrics)."""

from __future__ import annotations

from typing import Annotated

import typer

from netsec_cli.cli.options import ModelVersionOption
from netsec_cli.cli.output import console
from netsec_cli.cli.state import get_state


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default serve.host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", min=1, max=65535, help="Port (default serve.port, 8000).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1, max=64, help="uvicorn worker processes (default serve.workers, 1).")] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow serve.auth: none on a non-loopback host (anyone who reaches it can score and retrain).")
    ] = False,
    model_version: ModelVersionOption = None,
) -> None:
    """Serve predictions over HTTP: the upload page at /, POST /predict, POST /train, /docs.

    With serve.auth: token (the default), /predict, /train and /jobs need
    `Authorization: Bearer $NETSEC_SERVE_TOKEN` (from the encrypted credentials file, else the
    environment). The server serves the registry's champion (or --model VERSION / serve.model)
    and picks up a newly promoted champion without a restart.
    """
    from netsec_cli.serve.server import listen_settings, run_server

    config = get_state(ctx).config
    if model_version is not None:
        config.serve.model = model_version  # validated (a positive whole number) by the config
    listen = listen_settings(config, host, port, workers, insecure)
    auth = "token" if config.serve.auth == "token" else "none (open)"
    console.print(f"netsec serve: {listen.url}  (auth: {auth}, workers: {listen.workers}; docs at {listen.url}/docs)", markup=False, highlight=False, soft_wrap=True)
    run_server(config, listen)
