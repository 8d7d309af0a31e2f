"""The NetsecError hierarchy: every failure a user can cause carries a message and an exit code.

Exit codes (documented in README.md):
  0 success
  1 unexpected internal error
  2 bad input or usage: missing/corrupt file, wrong columns, invalid config, bad credentials file
  3 validation or drift check failed
  4 an external service (MongoDB, S3, sops/age) failed after retries
  5 another netsec run holds the artifacts lock (busy: try again, or pass --wait)
"""

from __future__ import annotations

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_VALIDATION = 3
EXIT_SERVICE = 4
EXIT_BUSY = 5


class NetsecError(Exception):
    """Base class: `message` is one line for the user; `exit_code` is what the process returns."""

    exit_code: int = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(NetsecError):
    """A file, column or argument supplied by the user is missing, unreadable or wrong."""

    exit_code = EXIT_USAGE


class ConfigError(InputError):
    """config.yaml (or logging.yaml) is missing keys, has unknown keys or wrong types."""


class SecretsError(InputError):
    """Encrypted credentials cannot be decrypted: missing key, tampered file, bad MAC."""


class ValidationFailed(NetsecError):
    """Data failed the schema or drift checks (the CI gate); `result` is the check's report."""

    exit_code = EXIT_VALIDATION

    def __init__(self, message: str, *, hint: str | None = None, result: object | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class ServiceError(NetsecError):
    """An external service (MongoDB, S3, sops/age binary) failed after retries."""

    exit_code = EXIT_SERVICE


class LockBusy(NetsecError):
    """Another netsec run holds the artifacts lock; trying again later will work."""

    exit_code = EXIT_BUSY
