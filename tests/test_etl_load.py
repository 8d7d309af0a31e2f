"""`netsec etl load FILE` against a real SecantusDB server: counts, idempotence, formats, bad input."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from netsec_cli.sources.synthetic import generate_flows
from tests.fixtures.mongo import MongoServer, free_port
from tests.fixtures.project import Project
from tests.helpers import assert_error


def _write_flows(path: Path, rows: int = 400, seed: int = 3) -> pd.DataFrame:
    frame = generate_flows(rows, seed)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".txt":
        frame.to_csv(path, index=False, header=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return frame


def _load(project: Project, path: Path) -> dict:
    result = project.invoke("etl", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_load_inserts_every_row_with_ordinal_and_index(mongo_project: Project, mongo_server: MongoServer) -> None:
    frame = _write_flows(mongo_project.root / "flows.csv")
    report = _load(mongo_project, mongo_project.root / "flows.csv")
    assert (report["rows"], report["inserted"], report["already_present"], report["rejected"]) == (400, 400, 0, 0)
    assert report["collection"] == "netsec.flows"
    assert report["documents"] == 400
    collection = mongo_server.collection()
    assert collection.count_documents({}) == 400
    first = collection.find_one({"_row": 0})
    assert first["label"] == frame.loc[0, "label"] and first["src_bytes"] == frame.loc[0, "src_bytes"]
    assert "netsec_row" in collection.index_information()


def test_second_load_inserts_nothing(mongo_project: Project, mongo_server: MongoServer) -> None:
    path = mongo_project.root / "flows.csv"
    _write_flows(path)
    _load(mongo_project, path)
    again = _load(mongo_project, path)
    assert (again["inserted"], again["already_present"], again["rejected"]) == (0, 400, 0)
    assert mongo_server.collection().count_documents({}) == 400


def test_identical_rows_all_survive_and_reload_is_a_no_op(mongo_project: Project, mongo_server: MongoServer) -> None:
    path = mongo_project.root / "dups.csv"
    path.write_text("a,b,label\n1,x,normal\n1,x,normal\n1,x,normal\n2,y,neptune\n")
    first = _load(mongo_project, path)
    assert first["inserted"] == 4
    second = _load(mongo_project, path)
    assert (second["inserted"], second["already_present"]) == (0, 4)
    assert mongo_server.collection().count_documents({"a": 1, "b": "x"}) == 3


@pytest.mark.parametrize("suffix", [".tsv", ".parquet", ".txt"])
def test_every_etl_format_loads_and_same_rows_are_not_duplicated(
    mongo_project: Project, mongo_server: MongoServer, suffix: str
) -> None:
    """TSV, Parquet and header-less NSL-KDD text of the CSV's rows are recognised as the same documents."""
    _write_flows(mongo_project.root / "flows.csv")
    _load(mongo_project, mongo_project.root / "flows.csv")
    other = mongo_project.root / f"flows{suffix}"
    _write_flows(other)
    report = _load(mongo_project, other)
    assert (report["rows"], report["inserted"], report["already_present"]) == (400, 0, 400)
    assert mongo_server.collection().count_documents({}) == 400


def test_table_output_names_the_counts(mongo_project: Project) -> None:
    _write_flows(mongo_project.root / "flows.csv", rows=120)
    result = mongo_project.invoke("etl", "load", str(mongo_project.root / "flows.csv"))
    assert result.exit_code == 0, result.output
    assert "inserted" in result.stdout and "already present" in result.stdout and "120" in result.stdout


def test_text_in_a_numeric_column_is_stored_as_is(mongo_project: Project, mongo_server: MongoServer) -> None:
    path = mongo_project.root / "odd.csv"
    path.write_text("src_bytes,label\n10,normal\nlots,neptune\n")
    assert _load(mongo_project, path)["inserted"] == 2
    assert mongo_server.collection().find_one({"_row": 1})["src_bytes"] == "lots"


def test_missing_file_exits_2_and_inserts_nothing(mongo_project: Project, mongo_server: MongoServer) -> None:
    result = mongo_project.invoke("etl", "load", str(mongo_project.root / "nope.csv"))
    assert result.exit_code == 2
    assert "input file not found" in result.stderr and "nope.csv" in result.stderr
    assert "netsec" not in mongo_server.client().list_database_names()


def test_missing_uri_exits_2_naming_the_variable(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    _write_flows(project.root / "flows.csv", rows=120)
    result = project.invoke("etl", "load", str(project.root / "flows.csv"))
    assert_error(
        result,
        2,
        "Error: MONGODB_URI is not set (export MONGODB_URI=mongodb://HOST:27017/ or put it in .env; "
        "`make mongo` starts a local server)",
    )


def test_not_a_mongodb_uri_exits_2(mongo_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "http://admin:hunter2-secret@127.0.0.1/")
    _write_flows(mongo_project.root / "flows.csv", rows=120)
    result = mongo_project.invoke("etl", "load", str(mongo_project.root / "flows.csv"))
    assert result.exit_code == 2
    assert "must start with mongodb:// or mongodb+srv://" in result.stderr
    assert "hunter2-secret" not in result.output


def test_unreachable_server_exits_4_after_retries_in_bounded_time(mongo_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{port}/")
    _write_flows(mongo_project.root / "flows.csv", rows=120)
    started = time.monotonic()
    result = mongo_project.invoke("etl", "load", str(mongo_project.root / "flows.csv"))
    elapsed = time.monotonic() - started
    assert_error(
        result,
        4,
        re.compile(
            rf"Error: MongoDB at 127\.0\.0\.1:{port}: inserting into netsec\.flows failed after 3 attempt\(s\): .+"
            r" \(check that the server is running and reachable, the host in MONGODB_URI, and any firewall or Atlas IP"
            r" access list\)"
        ),
    )
    assert elapsed < 8, elapsed
