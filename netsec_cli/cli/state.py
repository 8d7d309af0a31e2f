"""Per-invocation state shared by every command: global options and the lazily loaded config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from netsec_cli.config import Config


@dataclass
class AppState:
    """Global options (`--config`, `-v`, `-q`, `--debug`) and the config they lead to."""

    config_path: Path | None = None
    verbosity: int = 0
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)

    def console_level(self, configured: str = "INFO") -> str:
        """The console log level: -v/--debug and -q override `logging.level` from the config."""
        if self.debug or self.verbosity > 0:
            return "DEBUG"
        if self.verbosity < 0:
            return "WARNING" if self.verbosity == -1 else "ERROR"
        return configured

    @property
    def config(self) -> Config:
        """Load and validate the config once, then set up logging from it."""
        if self._config is None:
            from netsec_cli.config import load_config
            from netsec_cli.logging_setup import configure_logging

            config = load_config(self.config_path)
            configure_logging(
                config.resolve(config.logging.config_file),
                config.logs_dir,
                self.console_level(config.logging.level),
                config.logging.format,
            )
            self._config = config
        return self._config


def get_state(ctx: typer.Context) -> AppState:
    """The AppState of this invocation (created by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj
