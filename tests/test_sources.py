"""read_table: delimiter detection, NSL-KDD layout, schema casting, and every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema, shipped_schema
from netsec_cli.schema_infer import infer_schema
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.sources.tabular import (
    LAYOUT_ATTR,
    SUPPORTED_SUFFIXES,
    detect_delimiter,
    read_table,
)

SMALL = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, None], "kind": ["x", "y", "x"], "label": ["normal", "bad", "normal"]})


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_detected_and_types_inferred(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "flows.txt"
    SMALL.to_csv(path, sep=delimiter, index=False)
    assert detect_delimiter(path.read_text()) == delimiter
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "kind", "label"]
    assert [str(t) for t in frame.dtypes] == ["int64", "float64", "string", "string"]
    assert frame["b"].isna().sum() == 1


def test_quoted_commas_do_not_confuse_detection(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('name,n\n"a, b",1\n"c, d",2\n')
    frame = read_table(path)
    assert frame["name"].tolist() == ["a, b", "c, d"]


def test_nsl_kdd_headerless_43_and_42_fields(tmp_path: Path) -> None:
    flows = generate_flows(200, seed=3)
    full, short = tmp_path / "full.txt", tmp_path / "short.txt"
    flows.to_csv(full, header=False, index=False)
    flows.drop(columns="difficulty").to_csv(short, header=False, index=False)
    schema = Schema.load(shipped_schema("nsl_kdd"))
    first = read_table(full)
    assert first.attrs[LAYOUT_ATTR] == "nsl_kdd"
    assert list(first.columns) == schema.columns
    assert {c: str(first[c].dtype) for c in schema.columns} == schema.dtypes
    second = read_table(short)
    assert list(second.columns) == schema.columns[:-1]


def test_headerless_file_of_unknown_width_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match=r"x\.csv has no header row and 3 fields"):
        read_table(path)


def test_explicit_schema_names_casts_and_reorders(tmp_path: Path) -> None:
    schema = infer_schema(SMALL, "label", "normal", "small", [])
    path = tmp_path / "reordered.csv"
    SMALL[["label", "kind", "b", "a"]].to_csv(path, index=False)
    frame = read_table(path, schema)
    assert list(frame.columns) == schema.columns
    headerless = tmp_path / "headerless.csv"
    SMALL.to_csv(headerless, index=False, header=False)
    assert read_table(headerless, schema)["kind"].tolist() == ["x", "y", "x"]


def test_schema_mismatches_are_input_errors(tmp_path: Path) -> None:
    schema = infer_schema(SMALL, "label", "normal", "small", [])
    extra = tmp_path / "extra.csv"
    SMALL.assign(zzz=1).to_csv(extra, index=False)
    with pytest.raises(InputError, match="unknown columns.*zzz"):
        read_table(extra, schema)
    missing = tmp_path / "missing.parquet"
    SMALL.drop(columns="kind").to_parquet(missing)
    with pytest.raises(InputError, match="missing columns.*kind"):
        read_table(missing, schema)
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("1,2\n3,4\n")
    with pytest.raises(InputError, match="has 2 columns but schema 'small' expects 4"):
        read_table(narrow, schema)
    text_in_number = tmp_path / "bad.csv"
    text_in_number.write_text("a,b,kind,label\nten,1.0,x,normal\n")
    with pytest.raises(InputError, match="bad.csv: column 'a' row 0: 'ten' is not a number"):
        read_table(text_in_number, schema)


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    SMALL.to_parquet(path)
    frame = read_table(path)
    assert frame["a"].tolist() == [1, 2, 3]
    assert str(frame["kind"].dtype) == "string"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "input file not found"),
        ("empty.csv", b"", "is empty"),
        ("garbage.csv", bytes(range(256)) * 20, "is binary"),
        ("broken.parquet", b"PAR1\x00\x01not really parquet", "cannot read Parquet file"),
        ("flows.xlsx", b"a,b\n1,2\n", "unsupported file type '.xlsx'"),
        ("header_only.csv", b"a,b,label\n", "holds no data rows"),
        ("ragged.csv", b"a,b,label\n1,2,x\n3,4,y,9\n", "Expected 3 fields in line 3, saw 4"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_table(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_supported_suffixes() -> None:
    assert {".csv", ".tsv", ".txt", ".parquet"} <= set(SUPPORTED_SUFFIXES)


def test_infer_schema_kinds_and_domains() -> None:
    frame = SMALL.assign(flag=[True, False, True], difficulty=[1, 2, 3])
    frame["kind"] = frame["kind"].astype("string")
    schema = infer_schema(frame, "label", "normal", "small", ["difficulty"])
    assert schema.numerical == ["a", "b"]
    assert schema.categorical == ["kind", "flag"]
    assert schema.features == ["a", "b", "kind", "flag"]
    assert schema.categorical_domains == {"kind": ["x", "y"], "flag": ["False", "True"]}
    assert schema.dtypes["b"] == "float64" and schema.dtypes["flag"] == "string"
    with pytest.raises(InputError, match="target column 'nope' not found"):
        infer_schema(frame, "nope", "normal", "small", [])
