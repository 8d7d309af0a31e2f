"""The serve token: where it comes from, who must present it, and the start-up safety rule.

With `serve.auth: token`, `/predict`, `/train` and `/jobs` need `Authorization: Bearer <token>`
(the upload page sends it as the form field `token`). The token is `NETSEC_SERVE_TOKEN` from the
sops-encrypted credentials file when that file holds the name, else from the environment. It is
compared in constant time and registered for masking, so it never reaches a log line or an error.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.redaction import register_secret

if TYPE_CHECKING:
    from netsec_cli.config import Config

TOKEN_NAME = "NETSEC_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16


def serve_token(config: Config) -> str | None:
    """The token `/predict`, `/train` and `/jobs` require, or None with `serve.auth: none`.

    InputError (exit 2) when auth is on and no token is set, or the token is too short to be safe."""
    if config.serve.auth == "none":
        return None
    token = _encrypted_token(config) or os.environ.get(TOKEN_NAME) or None
    if token is None:
        raise InputError(
            f"serve.auth is token but {TOKEN_NAME} is not set",
            hint=f"export {TOKEN_NAME} (or keep it in {config.secrets.credentials_file}), or set serve.auth: none on a loopback host",
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"{TOKEN_NAME} is shorter than {MIN_TOKEN_CHARS} characters", hint="generate one: openssl rand -hex 32")
    register_secret(token)
    return token


def _encrypted_token(config: Config) -> str | None:
    from netsec_cli.secrets.runtime import stored_values

    return stored_values(config, (TOKEN_NAME,)).get(TOKEN_NAME)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header (None when absent or another scheme)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def token_matches(expected: str | None, offered: str | None) -> bool:
    """Whether `offered` is the token (always true with auth off), in constant time."""
    if expected is None:
        return True
    return offered is not None and hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: Config, host: str, insecure: bool) -> None:
    """Refuse to listen beyond loopback without a token unless `--insecure` says so (exit 2)."""
    if config.serve.auth == "none" and not is_loopback(host) and not insecure:
        raise InputError(
            f"refusing to serve on {host} with serve.auth: none: anyone who can reach it could score and retrain",
            hint="set serve.auth: token, listen on 127.0.0.1, or pass --insecure",
        )
