"""The root Typer app: global options, command registration and the one error-translation point."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from netsec_cli import __version__
from netsec_cli.cli import (
    config_cmd,
    etl,
    evaluate,
    models,
    monitor,
    predict,
    run,
    secrets,
    serve,
    sync_s3,
    train,
    transform,
    validate,
)
from netsec_cli.cli.output import err_console, error_line
from netsec_cli.cli.state import AppState, get_state
from netsec_cli.errors import EXIT_INTERNAL, NetsecError

COMMAND_ORDER = (
    "etl", "validate", "transform", "train", "predict", "evaluate", "run", "monitor", "models", "serve", "sync-s3", "secrets", "config",
)


class NetsecGroup(TyperGroup):
    """Turns NetsecError into one line on stderr and its exit code; tracebacks only with --debug."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Commands in pipeline order in `--help` (Typer would list groups after commands)."""
        names = super().list_commands(ctx)
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NetsecError as exc:
            self._report(ctx, exc, str(exc))
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError as exc:
            if not _stdout_closed():
                self._report(ctx, exc, f"internal error: {type(exc).__name__}: {exc} (re-run with --debug for details)")
                raise typer.Exit(EXIT_INTERNAL) from None
            # The reader of stdout went away (`netsec … --json | head`): stop quietly, as other
            # CLIs do; what is left in Python's buffer goes to /dev/null, not to a broken pipe.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            self._report(ctx, exc, f"internal error: {type(exc).__name__}: {exc} (re-run with --debug for details)")
            raise typer.Exit(EXIT_INTERNAL) from None

    @staticmethod
    def _report(ctx: typer.Context, exc: BaseException, message: str) -> None:
        state = get_state(ctx)
        logging.getLogger("netsec_cli").debug("command failed: %s", message)
        if state.debug:
            from netsec_cli.redaction import redact

            err_console.print(redact("".join(traceback.format_exception(exc))), markup=False, highlight=False)
        error_line(message)


def _stdout_closed() -> bool:
    """True when stdout is a pipe or socket whose reading end is closed (poll reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout is no file
        return False


app = typer.Typer(
    cls=NetsecGroup,
    name="netsec",
    help="Network-intrusion-detection ML pipeline: etl → validate → transform → train → predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"netsec {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="NETSEC_CONFIG", help="Config file (default: ./config/config.yaml)."),
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-v: debug).")] = 0,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Less log output (-q: warnings, -qq: errors).")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """netsec: from raw flow records to batch intrusion predictions."""
    ctx.obj = AppState(config_path=config, verbosity=verbose - quiet, debug=debug)


app.add_typer(etl.app, name="etl")
app.command("validate")(validate.validate)
app.command("transform")(transform.transform)
app.command("train")(train.train)
app.command("predict")(predict.predict)
app.command("evaluate")(evaluate.evaluate)
app.command("run")(run.run)
app.command("monitor")(monitor.monitor)
app.add_typer(models.app, name="models")
app.command("serve")(serve.serve)
app.command("sync-s3")(sync_s3.sync_s3)
app.add_typer(secrets.app, name="secrets")
app.add_typer(config_cmd.app, name="config")
