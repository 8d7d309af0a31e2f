"""`netsec secrets exec -- COMMAND ...`: run a program with the stored values as environment variables.

Like `sops exec-env`: the document is decrypted in memory and handed to the child through its
environment only (never its arguments, never a file); no shell is involved. The stored values
win over variables of the same name already set. The child's exit code is returned (128+N when a
signal N ended it); a program that cannot be started is an InputError (exit 2).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from netsec_cli.config import Config
from netsec_cli.errors import InputError
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import document
from netsec_cli.secrets.store import read_document

log = logging.getLogger("netsec_cli.secrets.exec")
_FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def secret_environment(config: Config) -> dict[str, str]:
    """The stored values as environment variables (see `document.environment`), registered for masking."""
    values = document.environment(read_document(config))
    for value in values.values():
        register_secret(value)
    return values


def run_with_secrets(config: Config, argv: Sequence[str]) -> int:
    """Run `argv` with the stored values added to this environment; the child's exit code."""
    if not argv:
        raise InputError("secrets exec needs a command after --", hint="e.g. netsec secrets exec -- aws s3 ls")
    values = secret_environment(config)
    log.info("secrets exec: %s with %s", argv[0], ", ".join(sorted(values)) or "no stored names")
    try:
        child = subprocess.Popen(list(argv), env={**os.environ, **values})
    except FileNotFoundError:
        raise InputError(f"cannot run {argv[0]}: command not found") from None
    except PermissionError:
        raise InputError(f"cannot run {argv[0]}: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    with _forwarding_signals(child):
        code = child.wait()
    return 128 - code if code < 0 else code


@contextmanager
def _forwarding_signals(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """While the child runs: SIGTERM/SIGHUP are passed on to it, and Ctrl-C (which the terminal
    sends to the child too) does not stop this process before the child has finished."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(number: int, _frame: object) -> None:
        child.send_signal(number)

    saved = {number: signal.signal(number, forward) for number in _FORWARDED}
    saved[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
