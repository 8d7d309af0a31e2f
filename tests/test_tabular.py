"""The one tabular reader: etl (`read_table`) and predict (`open_input`) read a file the same way.

Same delimiter sniffing, same header rule, same missing-value tokens, same column matching (by
name, or by position from the column count), checked on real files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular import (
    MISSING_TOKENS,
    FeatureChunk,
    open_input,
    read_table,
)

SCHEMA = Schema(
    name="small",
    columns=["a", "b", "kind", "label"],
    dtypes={"a": "float64", "b": "float64", "kind": "string", "label": "string"},
    numerical=["a", "b"],
    categorical=["kind"],
    target="label",
    normal_value="normal",
)


def _chunks(path: Path, chunk_size: int = 1000) -> list[FeatureChunk]:
    return list(open_input(path, SCHEMA, chunk_size).chunks())


def _predicted(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numeric a/b, kind text, kind missing mask) of the whole file, as predict reads it."""
    chunks = _chunks(path)
    numeric = np.concatenate([c.numeric for c in chunks])
    text = np.concatenate([c.categorical["kind"][0] for c in chunks])
    missing = np.concatenate([c.categorical["kind"][1] for c in chunks])
    return numeric, text, missing


def _assert_same_reading(path: Path) -> pd.DataFrame:
    """etl and predict give the same numbers, the same text and the same missing cells."""
    frame = read_table(path, SCHEMA)
    numeric, text, missing = _predicted(path)
    np.testing.assert_array_equal(frame[["a", "b"]].to_numpy(dtype=np.float64), numeric)
    assert frame["kind"].isna().to_numpy().tolist() == missing.tolist()
    assert frame["kind"].dropna().tolist() == text[~missing].tolist()
    return frame


def test_semicolons_with_commas_in_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "flows.txt"
    path.write_text("1;0.5;p,q,r,s,t;normal\n2;1.5;x;attack\n3;2.5;y;normal\n4;3.5;x;normal\n")
    first = path.read_text().splitlines()[0]
    assert max(("\t", ",", ";", "|"), key=first.count) == ","  # what a first-line count would pick
    frame = _assert_same_reading(path)
    assert frame["kind"].tolist() == ["p,q,r,s,t", "x", "y", "x"]
    assert frame["a"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_missing_tokens_are_the_same_for_etl_and_predict(tmp_path: Path) -> None:
    tokens = [t for t in MISSING_TOKENS if t]
    rows = ["a,b,kind,label"]
    for i, token in enumerate(tokens):
        rows.append(f"{token},{i}.25,{token},normal")
        rows.append(f"{i},,k{i},attack")
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join(rows) + "\n")
    frame = _assert_same_reading(path)
    assert frame["a"].isna().sum() == len(tokens) and frame["b"].isna().sum() == len(tokens)
    assert frame["kind"].isna().sum() == len(tokens)
    inferred = read_table(path)
    assert str(inferred["a"].dtype) == "float64" and str(inferred["kind"].dtype) == "string"
    assert inferred["kind"].isna().sum() == len(tokens)


def test_header_or_position_for_both_readers(tmp_path: Path) -> None:
    body = "1, 0.5 , tcp ,normal\n2,NA,udp,attack\n3,2.5,?,normal\n"
    named, positional = tmp_path / "named.csv", tmp_path / "positional.csv"
    named.write_text("kind,label,b,a\n" + "\n".join(",".join([r[2], r[3], r[1], r[0]]) for r in (
        line.split(",") for line in body.splitlines())) + "\n")
    positional.write_text(body)
    by_name, by_position = _assert_same_reading(named), _assert_same_reading(positional)
    pd.testing.assert_frame_equal(by_name, by_position)
    assert by_position["kind"].tolist()[:2] == ["tcp", "udp"] and by_position["b"].tolist()[0] == 0.5
    no_target = tmp_path / "no_target.csv"
    no_target.write_text("1,0.5,tcp\n2,1.5,udp\n")
    assert open_input(no_target, SCHEMA, 10).columns == ["a", "b", "kind"]  # the target is optional for predict
    with pytest.raises(InputError, match=r"has 3 columns but schema 'small' expects 4 \(columns in schema order\)"):
        read_table(no_target, SCHEMA)


def test_npy_parquet_and_text_give_the_same_chunks(tmp_path: Path) -> None:
    table = np.array([["1", "0.5", "tcp", "normal"], ["2", "?", "", "attack"], ["3", "1e3", "udp", "normal"]])
    np.save(tmp_path / "t.npy", table)
    pd.DataFrame(table, columns=SCHEMA.columns).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    pd.DataFrame(table, columns=SCHEMA.columns).to_parquet(tmp_path / "t.parquet")
    readings = [_predicted(tmp_path / name) for name in ("t.npy", "t.tsv", "t.parquet")]
    for numeric, text, missing in readings[1:]:
        np.testing.assert_array_equal(numeric, readings[0][0])
        assert text[~missing].tolist() == ["tcp", "udp"] and missing.tolist() == readings[0][2].tolist()
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.npy", SCHEMA), read_table(tmp_path / "t.tsv", SCHEMA))


def test_text_streams_in_chunks_of_the_configured_size(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    pd.DataFrame({"a": range(50), "b": 0.5, "kind": "x", "label": "normal"}).to_csv(path, index=False)
    chunks = _chunks(path, chunk_size=7)
    assert [(c.start, len(c)) for c in chunks] == [(i, min(7, 50 - i)) for i in range(0, 50, 7)]
    assert np.concatenate([c.numeric[:, 0] for c in chunks]).tolist() == list(range(50))


def test_a_ragged_row_is_the_same_error_for_both(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,kind,label\n1,2,x,normal\n3,4,y\n")
    expected = f"cannot parse {path}: Expected 4 fields in line 3, saw 3 (every row needs the same number of fields)"
    with pytest.raises(InputError) as etl:
        read_table(path, SCHEMA)
    with pytest.raises(InputError) as predict:
        _chunks(path)
    assert str(etl.value) == str(predict.value) == expected


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,kind,label\n1,2,x,normal\n")
    for read in (lambda: read_table(path, SCHEMA), lambda: open_input(path, SCHEMA, 10)):
        with pytest.raises(InputError, match="has duplicate columns: a"):
            read()
