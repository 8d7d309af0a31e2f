"""The `age` and `age-keygen` binaries, driven through pipes: no secret ever goes to a temp file.

Identities held in memory (a freshly generated key, `SOPS_AGE_KEY`) reach `age -d` through an
inherited pipe opened as `/dev/fd/N`; data keys go in on stdin and come out on stdout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netsec_cli.artifacts import atomic_write
from netsec_cli.errors import SecretsError
from netsec_cli.redaction import register_secret

INSTALL_HINT = "install it with `sudo apt-get install age` (or `make age`)"
TIMEOUT = 60


@dataclass(frozen=True)
class AgeIdentity:
    """An age X25519 identity in memory; `text` is the keys.txt content (never shown)."""

    recipient: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class Identities:
    """Where decryption looks for identities: files on disk and identities held in memory."""

    files: tuple[Path, ...] = ()
    inline: tuple[str, ...] = field(default=(), repr=False)

    def describe(self) -> str:
        parts = [str(f) for f in self.files] + (["SOPS_AGE_KEY"] if self.inline else [])
        return ", ".join(parts) or "no age key"


def binary(name: str) -> str:
    """The path of `age` / `age-keygen`, or a SecretsError saying how to install it."""
    found = shutil.which(name)
    if found is None:
        raise SecretsError(f"the `{name}` binary is not on PATH", hint=INSTALL_HINT)
    return found


def _run(args: list[str], stdin: bytes, pass_fds: Sequence[int] = ()) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT, pass_fds=tuple(pass_fds))
    except FileNotFoundError:
        raise SecretsError(f"the `{Path(args[0]).name}` binary is not on PATH", hint=INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise SecretsError(f"`{Path(args[0]).name}` did not finish within {TIMEOUT}s") from None


def _stderr_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = [ln.strip() for ln in result.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln] or lines
    return errors[0].removeprefix("age: error: ").removeprefix("age: ") if errors else f"exit code {result.returncode}"


def generate_identity() -> AgeIdentity:
    """A new X25519 identity from `age-keygen` (read from its stdout, kept in memory)."""
    result = _run([binary("age-keygen")], b"")
    text = result.stdout.decode("utf-8")
    if result.returncode != 0 or "AGE-SECRET-KEY-" not in text:
        raise SecretsError(f"age-keygen failed: {_stderr_line(result)}")
    for line in text.splitlines():
        if line.startswith("AGE-SECRET-KEY-"):
            register_secret(line.strip())
    return AgeIdentity(recipient=recipient_of(text), text=text)


def recipient_of(identity_text: str) -> str:
    """The public `age1…` recipient of an identity (`age-keygen -y`, identity on stdin)."""
    result = _run([binary("age-keygen"), "-y"], identity_text.encode("utf-8"))
    lines = result.stdout.decode("utf-8").split()
    if result.returncode != 0 or not lines:
        raise SecretsError(f"not a valid age identity: {_stderr_line(result)}")
    return lines[0]


def read_identity(path: Path) -> AgeIdentity:
    """Load a keys.txt file (its first identity's recipient)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretsError(f"age key file {path} not found", hint="run `netsec secrets init`") from None
    except OSError as exc:
        raise SecretsError(f"cannot read age key file {path}: {exc.strerror}") from None
    for line in text.splitlines():
        if line.startswith("AGE-SECRET-KEY-"):
            register_secret(line.strip())
    try:
        recipient = recipient_of(text)
    except SecretsError as exc:
        raise SecretsError(f"age key file {path} holds no valid identity ({exc.message})") from None
    return AgeIdentity(recipient=recipient, text=text)


def write_identity(path: Path, identity: AgeIdentity) -> None:
    """Write keys.txt atomically with mode 0600; folders created here get mode 0700."""
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    with atomic_write(path, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(identity.text)


def wrap(data_key: bytes, recipient: str) -> str:
    """The data key encrypted to one recipient, as an ASCII-armored age file."""
    result = _run([binary("age"), "--encrypt", "--armor", "--recipient", recipient], data_key)
    if result.returncode != 0:
        raise SecretsError(f"age could not encrypt to recipient {recipient}: {_stderr_line(result)}")
    return result.stdout.decode("ascii")


@contextlib.contextmanager
def _inline_fds(identities: Sequence[str]) -> Iterator[list[int]]:
    """Pipes holding in-memory identities, readable by a child as /dev/fd/N."""
    fds: list[int] = []
    try:
        for text in identities:
            read_end, write_end = os.pipe()
            fds.append(read_end)
            try:
                os.write(write_end, text.encode("utf-8"))
            finally:
                os.close(write_end)
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


class NoMatchingIdentity(Exception):
    """None of the identities opens the wrapped key."""


def unwrap(armored: str, identities: Identities) -> bytes:
    """Decrypt one wrapped data key with every identity; NoMatchingIdentity if none fits."""
    files = [f for f in identities.files if f.is_file()]
    if not files and not identities.inline:
        raise NoMatchingIdentity("no identity available")
    with _inline_fds(identities.inline) as fds:
        args = [binary("age"), "--decrypt"]
        for source in [*map(str, files), *(f"/dev/fd/{fd}" for fd in fds)]:
            args += ["--identity", source]
        result = _run(args, armored.encode("ascii", "replace"), pass_fds=fds)
    if result.returncode != 0:
        message = _stderr_line(result)
        if "no identity matched" in message:
            raise NoMatchingIdentity(message)
        raise SecretsError(f"age could not unwrap the data key: {message}")
    return result.stdout
