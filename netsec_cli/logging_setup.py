"""Logging from config/logging.yaml (dictConfig): Rich on the console, rotating files under logs/.

Every handler gets `netsec_cli.redaction.RedactingFilter`, which masks registered secrets and
credentials inside URIs. `LoggerPrefixFilter` routes records to a file by logger name (drift.log,
model.log); with `logging.format: json` every file handler writes `JsonLinesFormatter` lines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.config
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from netsec_cli.redaction import redact

JSON_FORMATTER = "netsec_json_lines"


class LoggerPrefixFilter(logging.Filter):
    """Pass only records from the named loggers and their children (`prefixes` are logger names)."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        super().__init__()
        if isinstance(prefixes, str):
            raise TypeError("prefixes must be a list of logger names, not a string")
        self.prefixes = tuple(str(prefix) for prefix in prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        return any(name == prefix or name.startswith(f"{prefix}.") for prefix in self.prefixes)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601 UTC), level, logger, message, module, function, line,
    and exception when there is one; message and exception text are redacted."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        exception = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exception:
            entry["exception"] = redact(exception)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str)


def _fill_placeholders(node: Any, logs_dir: Path) -> Any:
    if isinstance(node, dict):
        return {k: _fill_placeholders(v, logs_dir) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_placeholders(v, logs_dir) for v in node]
    if isinstance(node, str) and "{logs}" in node:
        return node.replace("{logs}", str(logs_dir))
    return node


def default_logging_dict() -> dict[str, Any]:
    """The built-in logging setup, used when no logging.yaml is found."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"console": {"format": "%(message)s"}},
        "filters": {"redact": {"()": "netsec_cli.redaction.RedactingFilter"}},
        "handlers": {
            "console": {
                "class": "rich.logging.RichHandler",
                "level": "INFO",
                "formatter": "console",
                "filters": ["redact"],
                "show_path": False,
            }
        },
        "loggers": {"netsec_cli": {"level": "DEBUG", "handlers": ["console"], "propagate": False}},
    }


def _json_files(spec: dict[str, Any], config_file: Path | None) -> None:
    """Give every file handler (one with a filename) the JSON-lines formatter."""
    from netsec_cli.errors import ConfigError

    formatters = spec.setdefault("formatters", {})
    if not isinstance(formatters, dict):
        raise ConfigError(f"logging config {config_file} is invalid: formatters must be a mapping")
    formatters[JSON_FORMATTER] = {"()": f"{__name__}.JsonLinesFormatter"}
    for handler in spec["handlers"].values():
        if "filename" in handler:
            handler["formatter"] = JSON_FORMATTER


def configure_logging(config_file: Path | None, logs_dir: Path, console_level: str, log_format: str = "text") -> None:
    """Apply logging.yaml with `{logs}` filled in and the console set to `console_level`.

    `log_format` "json" makes every file handler write JSON lines; the console stays human."""
    from rich.console import Console

    from netsec_cli.errors import ConfigError
    from netsec_cli.yamlfile import read_yaml_mapping

    if config_file is not None and config_file.is_file():
        spec = _fill_placeholders(read_yaml_mapping(config_file, "logging config"), logs_dir)
    else:
        spec = default_logging_dict()
    handlers = spec.get("handlers", {})
    if not isinstance(handlers, dict) or not all(isinstance(h, dict) for h in handlers.values()):
        raise ConfigError(f"logging config {config_file} is invalid: handlers must be a mapping of handler mappings")
    for name, handler in handlers.items():
        if "filename" in handler:
            folder = Path(str(handler["filename"])).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the log folder {folder}: {exc.strerror}", hint="fix paths.logs in config.yaml"
                ) from None
        if handler.get("class") == "rich.logging.RichHandler":
            handler["level"] = console_level
            handler["markup"] = False  # log messages carry file names and values: never Rich markup
            handler.setdefault("console", Console(stderr=True))
            handlers[name] = handler
    if log_format == "json":
        _json_files(spec, config_file)
    try:
        logging.config.dictConfig(spec)
    except (ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ConfigError(f"logging config {config_file} is invalid: {exc}") from None


@contextlib.contextmanager
def stage_log(stage: str, **inputs: Any) -> Iterator[dict[str, Any]]:
    """Log a stage's start with its inputs, and its end with whatever the body put in the dict."""
    stage_logger = logging.getLogger(f"netsec_cli.stages.{stage}")
    details = ", ".join(f"{k}={v}" for k, v in inputs.items())
    stage_logger.info("%s: start%s", stage, f" ({details})" if details else "")
    summary: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield summary
    except Exception as exc:
        from netsec_cli.errors import NetsecError

        # A NetsecError reaches the user as the one `Error:` line; log it to the file only.
        level = logging.DEBUG if isinstance(exc, NetsecError) else logging.ERROR
        stage_logger.log(level, "%s: failed after %.2fs: %s", stage, time.perf_counter() - started, exc)
        raise
    outcome = ", ".join(f"{k}={v}" for k, v in summary.items())
    stage_logger.info("%s: done in %.2fs (%s)", stage, time.perf_counter() - started, outcome)
