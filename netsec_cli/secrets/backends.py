"""Two interchangeable ways to read and write sops files: the sops binary, or the built-in format.

`secrets.backend: auto` uses sops when it is on PATH, else the built-in implementation. Both
take plaintext in memory and return plaintext in memory: the sops binary gets its input on
stdin and gives its output on stdout, so no plaintext file is ever written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from netsec_cli.config import Config
from netsec_cli.errors import SecretsError, ServiceError
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import age, sopsfile, tree
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.tree import Format

INTEGRITY_HINT = "the file was modified or corrupted: restore it from a backup or re-run `netsec secrets init --force`"
SOPS_TIMEOUT = 120


class Backend(Protocol):
    """Encrypt a plain mapping for age recipients; decrypt file bytes with age identities."""

    name: str

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes: ...

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]: ...


def integrity_error(source: Path, detail: str) -> SecretsError:
    """The one message for a tampered value, MAC or timestamp."""
    return SecretsError(f"integrity check failed for {source}: {detail}", hint=INTEGRITY_HINT)


def key_error(source: Path, identities: Identities) -> SecretsError:
    """No identity: name the key file(s) looked for and what to do."""
    if not identities.inline and not any(f.is_file() for f in identities.files):
        return SecretsError(
            f"age key file {identities.describe()} not found (needed to decrypt {source})",
            hint="set SOPS_AGE_KEY_FILE or secrets.age_key_file to your key, or run `netsec secrets init`",
        )
    return SecretsError(
        f"cannot decrypt {source}: the age key in {identities.describe()} is not one of its recipients",
        hint="point SOPS_AGE_KEY_FILE at the key the file was encrypted for",
    )


def _register_all(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _register_all(item)
    elif isinstance(value, list):
        for item in value:
            _register_all(item)
    elif isinstance(value, str):
        register_secret(value)


class BuiltinBackend:
    """The SOPS v3 format implemented here (netsec_cli.secrets.sopsfile), age via the age binary."""

    name = "builtin"

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes:
        try:
            return sopsfile.encrypt(plain, recipients, age.wrap, fmt)
        except tree.FormatError as exc:
            raise SecretsError(f"cannot encrypt: {exc}") from None

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]:
        def unwrap(entries: Sequence[sopsfile.AgeEntry]) -> bytes:
            for entry in entries:
                try:
                    return age.unwrap(entry.enc, identities)
                except age.NoMatchingIdentity:
                    continue
            raise key_error(source, identities)

        try:
            documents, _ = sopsfile.decrypt(data, fmt, unwrap)
        except sopsfile.IntegrityError as exc:
            raise integrity_error(source, str(exc)) from None
        except (tree.FormatError, UnicodeDecodeError) as exc:
            raise SecretsError(f"{source} is not a readable sops file: {exc}") from None
        values = tree.to_plain(documents[0])
        _register_all(values)
        return values


class SopsBackend:
    """The real sops binary, fed through stdin/stdout (`sops --decrypt --output-type json`)."""

    name = "sops"

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def _run(self, args: list[str], stdin: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                [self.executable, *args], input=stdin, capture_output=True, timeout=SOPS_TIMEOUT, env=env
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"cannot run sops ({self.executable}): {type(exc).__name__}") from None

    @staticmethod
    def _reason(result: subprocess.CompletedProcess[bytes]) -> str:
        lines = [ln.strip() for ln in result.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[0] if lines else f"exit code {result.returncode}"

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes:
        # Recipients are explicit, so an empty --config keeps a .sops.yaml found above the working
        # directory from failing with "no matching creation rules" for the /dev/stdin file name.
        args = ["--encrypt", "--config", "/dev/null", "--input-type", "json", "--output-type", fmt]
        args += ["--age", ",".join(recipients), "/dev/stdin"]
        result = self._run(args, json.dumps(plain).encode("utf-8"))
        if result.returncode != 0:
            raise ServiceError(f"sops --encrypt failed: {self._reason(result)}")
        return result.stdout

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]:
        env = dict(os.environ)
        env.pop("SOPS_AGE_KEY_FILE", None)
        existing = [f for f in identities.files if f.is_file()]
        if existing:
            env["SOPS_AGE_KEY_FILE"] = str(existing[0])
        if identities.inline:
            env["SOPS_AGE_KEY"] = "".join(identities.inline)
        args = ["--decrypt", "--input-type", fmt, "--output-type", "json", "/dev/stdin"]
        result = self._run(args, data, env)
        if result.returncode in (24, 25, 51, 52):
            raise integrity_error(source, self._reason(result))
        if result.returncode == 128:
            raise key_error(source, identities)
        if result.returncode != 0:
            raise SecretsError(f"sops could not decrypt {source}: {self._reason(result)}")
        try:
            values = json.loads(result.stdout)
        except ValueError:
            raise ServiceError(f"sops returned output that is not JSON while decrypting {source}") from None
        _register_all(values)
        if not isinstance(values, dict):
            raise SecretsError(f"{source} does not hold a mapping")
        return values


def select_backend(config: Config) -> Backend:
    """The backend named by `secrets.backend` (`auto`: sops on PATH, else built-in)."""
    choice = config.secrets.backend
    sops = shutil.which("sops")
    if choice == "builtin" or (choice == "auto" and sops is None):
        return BuiltinBackend()
    if sops is None:
        raise SecretsError(
            "secrets.backend is 'sops' but the sops binary is not on PATH",
            hint="install sops, or set secrets.backend: builtin (or auto)",
        )
    return SopsBackend(sops)
