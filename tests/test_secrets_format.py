"""The built-in SOPS v3 format: Go formatting, yaml.v3 typing, known-answer vectors, tampering."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from netsec_cli.errors import SecretsError
from netsec_cli.secrets import age, sops_text, sopsfile, tree
from netsec_cli.secrets.age import Identities
from netsec_cli.secrets.backends import BuiltinBackend
from netsec_cli.secrets.tree import FormatError, Timestamp

TRICKY: dict[str, Any] = {
    "plain": "hello",
    "looks_bool": "yes",
    "looks_float": "1e3",
    "looks_octal": "0o17",
    "looks_date": "2025-01-02",
    "looks_null": "null",
    "empty": "",
    "colon": "a: b # c",
    "multiline": "line one\nline two\n",
    "leading_space": "  indented",
    "unicode": "ünïcödé ✓ <&>",
    "n": 3,
    "neg": -42,
    "big": 2**62,
    "pi": 3.14,
    "whole_float": 3.0,
    "tiny": 1e-7,
    "huge": 1e21,
    "yes_no": True,
    "off": False,
    "nothing": None,
    "nested": {"list": ["a", 2, 2.5, False, {"deep": "x"}], "key:with:colons": "v"},
    "clear_unencrypted": {"port": 8080, "name": "yes", "ratio": 0.5},
}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (3.0, "3"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (-0.0, "-0"),
        (1234568000.0, "1234568000"),
        (0.1 + 0.2, "0.30000000000000004"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_go_float_format(value: float, text: str) -> None:
    assert tree.go_float(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("0x1F", 31),
        ("017", 15),
        ("08", 8.0),
        ("1e3", 1000.0),
        ("1_000", 1000),
        (".5", 0.5),
        ("1.", 1.0),
        ("1.2.3", "1.2.3"),
        ("0word", "0word"),
        ("true", True),
        ("FALSE", False),
        ("~", None),
        ("2025-01-02", Timestamp("2025-01-02T00:00:00Z")),
        ("2006-1-2T15:4:5.500+07:00", Timestamp("2006-01-02T15:04:05.5+07:00")),
        ("2025-13-01", "2025-13-01"),
    ],
)
def test_yaml_v3_plain_scalar_typing(text: str, value: Any) -> None:
    resolved = tree.resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)


def test_resolve_special_floats() -> None:
    assert math.isnan(tree.resolve_plain(".NaN")) and tree.resolve_plain("-.inf") == -math.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: *x\n", "anchors and aliases"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("1: x\n", "non-string mapping key"),
        ("- a\n- b\n", "must be a mapping"),
        ("a: [1\n", "not valid YAML"),
        ("a: 18446744073709551615\n", "int64"),
    ],
)
def test_yaml_inputs_refused(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        sops_text.load_yaml(text.encode())


def _recipient(key_file: Path) -> str:
    return age.read_identity(key_file).recipient


@pytest.fixture
def key_file(tmp_path: Path, age_binaries: None) -> Path:
    path = tmp_path / "keys.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return path


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip_keeps_values_and_types(key_file: Path, fmt: tree.Format) -> None:
    data = sopsfile.encrypt(TRICKY, [_recipient(key_file)], age.wrap, fmt)
    text = data.decode()
    assert "hello" not in text and "ünïcödé" not in text
    assert "port" in text and "8080" in text  # `_unencrypted` keys stay clear
    values = BuiltinBackend().decrypt(data, fmt, Identities(files=(key_file,)), Path(f"x.{fmt}"))
    expected = json.loads(json.dumps(TRICKY))
    assert values == expected
    assert all(type(values[k]) is type(expected[k]) for k in expected)


def test_yaml_output_layout(key_file: Path) -> None:
    text = sopsfile.encrypt({"a": {"b": "c"}, "count": 3}, [_recipient(key_file)], age.wrap, "yaml").decode()
    assert re.search(r'^    lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$', text, re.M)
    assert re.search(r"^    version: 3\.\d+\.\d+$", text, re.M)
    assert re.search(r"^    unencrypted_suffix: _unencrypted$", text, re.M)
    assert re.search(r"^count: ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:int\]$", text, re.M)
    armor = re.search(r"-----BEGIN AGE ENCRYPTED FILE-----\n(.*?)\n\s*-----END", text, re.S)
    assert armor is not None
    lines = [line.strip() for line in armor[1].splitlines()]
    assert all(len(line) == 64 for line in lines[:-1]) and 0 < len(lines[-1]) <= 64
    assert text.index("\nsops:") > text.index("\ncount:")  # metadata comes last


def test_independent_check_of_aad_mac_and_iv(key_file: Path) -> None:
    """Re-derive the format with the age CLI and AESGCM directly, without netsec's decrypt code."""
    data = sopsfile.encrypt({"aws": {"k": "v1"}, "flag": True, "n": 7, "l": ["x", 1.5]}, [_recipient(key_file)], age.wrap, "json")
    doc = json.loads(data)
    enc = doc["sops"]["age"][0]["enc"]
    key = subprocess.run(["age", "-d", "-i", str(key_file)], input=enc.encode(), capture_output=True, check=True).stdout
    assert len(key) == 32

    def open_value(value: str, aad: str) -> bytes:
        fields = dict(re.findall(r"(data|iv|tag|type):([^,\]]+)", value))
        iv = base64.b64decode(fields["iv"])
        assert len(iv) == 32 and len(base64.b64decode(fields["tag"])) == 16
        return AESGCM(key).decrypt(iv, base64.b64decode(fields["data"]) + base64.b64decode(fields["tag"]), aad.encode())

    assert open_value(doc["aws"]["k"], "aws:k:") == b"v1"
    assert open_value(doc["flag"], "flag:") == b"True"
    assert open_value(doc["l"][0], "l:") == b"x" and open_value(doc["l"][1], "l:") == b"1.5"
    digest = hashlib.sha512(b"v1" + b"True" + b"7" + b"x" + b"1.5").hexdigest().upper()
    assert open_value(doc["sops"]["mac"], doc["sops"]["lastmodified"]).decode() == digest


def test_encrypt_refuses_timestamps_and_existing_sops_key(key_file: Path) -> None:
    recipient = _recipient(key_file)
    with pytest.raises(FormatError, match="quote it"):
        sopsfile.encrypt_documents(sops_text.load_yaml(b"when: 2025-01-02\n"), [recipient], age.wrap)
    with pytest.raises(FormatError, match="already has a top-level 'sops'"):
        sopsfile.encrypt({"sops": {"x": 1}}, [recipient], age.wrap, "yaml")


# ---------------------------------------------------------------- known-answer vectors (real sops)


def _vector_identities(vectors: Path) -> Identities:
    return Identities(files=(vectors / "key.txt",))


@pytest.mark.parametrize("name", ["secret.enc.yaml", "secret.enc.json"])
def test_sops_vectors_decrypt_with_verified_mac(sops_vectors: Path, age_binaries: None, name: str) -> None:
    expected = json.loads((sops_vectors / "secret.json").read_text())
    fmt = tree.detect_format(name)
    path = sops_vectors / name
    values = BuiltinBackend().decrypt(path.read_bytes(), fmt, _vector_identities(sops_vectors), path)
    if fmt == "yaml":
        # the YAML vector was written without the "0word" key that the JSON one has
        assert "0word" not in path.read_text()
        expected.pop("0word")
    assert values == expected
    if fmt == "json":
        assert isinstance(values["int"], float)  # sops < 3.13.2 stored JSON integers as type:float
        assert '"int": "ENC[' in path.read_text() and "type:float" in path.read_text()


@pytest.mark.parametrize("name", ["secret.enc.yaml", "secret.enc.json"])
@pytest.mark.parametrize("target", ["secret", "mac"])
def test_tampered_vector_copy_fails(sops_vectors: Path, age_binaries: None, tmp_path: Path, name: str, target: str) -> None:
    text = (sops_vectors / name).read_text()
    pattern = rf'("?{target}"?: "?ENC\[AES256_GCM,data:)([A-Za-z0-9+/=]+)'
    match = re.search(pattern, text)
    assert match is not None
    raw = bytearray(base64.b64decode(match[2]))
    raw[-1] ^= 0x80
    copy = tmp_path / name
    copy.write_text(text.replace(match[0], match[1] + base64.b64encode(bytes(raw)).decode(), 1))
    with pytest.raises(SecretsError, match="integrity check failed") as err:
        BuiltinBackend().decrypt(copy.read_bytes(), tree.detect_format(name), _vector_identities(sops_vectors), copy)
    assert str(copy) in str(err.value)


def test_vector_with_wrong_key(sops_vectors: Path, key_file: Path) -> None:
    path = sops_vectors / "secret.enc.yaml"
    with pytest.raises(SecretsError, match="not one of its recipients") as err:
        BuiltinBackend().decrypt(path.read_bytes(), "yaml", Identities(files=(key_file,)), path)
    assert str(key_file) in str(err.value)


def test_metadata_of_vector(sops_vectors: Path) -> None:
    metadata = sopsfile.read_metadata((sops_vectors / "secret.enc.yaml").read_bytes(), "yaml")
    assert len(metadata.age) == 3 and metadata.lastmodified == "2024-03-25T22:08:10Z"
    assert metadata.rule == ("unencrypted_suffix", "_unencrypted") and metadata.version == "3.8.1"


def _unwrap_with(key_file: Path):  # noqa: ANN202
    def unwrap(entries: Any) -> bytes:
        return age.unwrap(entries[0].enc, Identities(files=(key_file,)))

    return unwrap


def test_multi_document_yaml_stream(key_file: Path) -> None:
    documents = sops_text.load_yaml(b"a: one\n---\nb: [2, three]\n")
    encrypted = sopsfile.encrypt_documents(documents, [_recipient(key_file)], age.wrap)
    data = sops_text.dump_yaml(encrypted)
    assert data.count(b"\nsops:") == 2 and b"---\n" in data
    plain, _ = sopsfile.decrypt(data, "yaml", _unwrap_with(key_file))
    assert [tree.to_plain(doc) for doc in plain] == [{"a": "one"}, {"b": [2, "three"]}]


def test_decrypts_type_time_as_sops_3_10_writes_it() -> None:
    key = bytes(range(32))
    stamp = "2026-01-02T03:04:05Z"
    digest = hashlib.sha512(b"2025-01-02T00:00:00Z" + b"x").hexdigest().upper()
    documents = [
        tree.Pairs(
            [
                ("when", sopsfile.encrypt_value(key, Timestamp("2025-01-02T00:00:00Z"), "when:")),
                ("what", sopsfile.encrypt_value(key, "x", "what:")),
            ]
        )
    ]
    metadata = sopsfile.Metadata(
        age=(), lastmodified=stamp, mac=sopsfile.encrypt_value(key, digest, stamp),
        rule=("unencrypted_suffix", "_unencrypted"), mac_only_encrypted=False, version="3.10.2", other_key_types=(),
    )
    plain = sopsfile.decrypt_documents(documents, metadata, key)
    assert tree.to_plain(plain[0]) == {"when": "2025-01-02T00:00:00Z", "what": "x"}


def test_uint64_looking_string_is_quoted(key_file: Path) -> None:
    values = {"id_unencrypted": "18446744073709551615", "yes_unencrypted": "on"}
    data = sopsfile.encrypt(values, [_recipient(key_file)], age.wrap, "yaml")
    assert b'"18446744073709551615"' in data and b'"on"' in data
    plain, _ = sopsfile.decrypt(data, "yaml", _unwrap_with(key_file))
    assert tree.to_plain(plain[0]) == values
