"""MongoDB as the flow store: `netsec etl --source mongo` against a real SecantusDB server on loopback.

Order: `etl load` stores each row's file position in `_row` and indexes (`_row`, `_id`); the
reader sorts by that index, so raw.parquet is compared with the file row for row, unsorted.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import bson
import certifi
import pandas as pd
import pytest
from pymongo import monitoring

from netsec_cli.config import load_config
from netsec_cli.errors import InputError
from netsec_cli.schema import Schema, shipped_schema
from netsec_cli.sources.bson_arrow import BatchConverter, infer_dtypes, sample_documents
from netsec_cli.sources.mongo import (
    client_options,
    parse_uri,
    read_collection,
    read_projection,
)
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.sources.tabular import read_table
from tests.fixtures.mongo import MongoServer, free_port
from tests.fixtures.project import Project
from tests.helpers import assert_error, error_line

NSL_KDD = Schema.load(shipped_schema("nsl_kdd"))


def _load(project: Project, path: Path) -> dict[str, Any]:
    result = project.invoke("etl", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _synthetic_csv(project: Project, rows: int = 600) -> Path:
    path = project.root / "flows.csv"
    generate_flows(rows, 11).to_csv(path, index=False)
    return path


def _assert_raw_equals(project: Project, source: Path) -> None:
    raw = pd.read_parquet(project.artifacts / "etl" / "raw.parquet")
    expected = read_table(source)
    pd.testing.assert_frame_equal(raw.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
    assert [str(t) for t in raw.dtypes] == [str(t) for t in expected.dtypes]


# --- pure parts: URI handling, TLS options, projection, BSON conversion ---------------------


def test_parse_uri_keeps_only_hosts_and_registers_the_password() -> None:
    from netsec_cli.redaction import redact

    target = parse_uri("mongodb://ana:pa%40ss-word-9@h1:27017,h2:27018/flows?replicaSet=rs0")
    assert target.host == "h1:27017,h2:27018" and not target.tls
    assert "pa@ss-word-9" not in redact("oops pa@ss-word-9 and pa%40ss-word-9")


def test_tls_uris_get_certifis_ca_bundle() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "config.yaml", load_env=False)
    srv = client_options(parse_uri("mongodb+srv://u:secretpw@cluster0.example.net/"), config)
    assert srv["tlsCAFile"] == certifi.where()
    assert client_options(parse_uri("mongodb://h:1/?retryWrites=true&tls=true"), config)["tlsCAFile"] == certifi.where()
    assert "tlsCAFile" not in client_options(parse_uri("mongodb://127.0.0.1:27017/"), config)
    assert "tlsCAFile" not in client_options(parse_uri("mongodb://h/?tls=true&tlsCAFile=/etc/ca.pem"), config)
    assert srv["serverSelectionTimeoutMS"] == config.mongo.server_selection_timeout_ms


def test_projection_is_the_configured_one_or_the_schema_columns() -> None:
    assert read_projection(None, None) is None
    assert read_projection({"difficulty": 0}, None) == {"difficulty": 0}
    assert read_projection({"label": 1}, None) == {"label": 1, "_row": 1}
    assert read_projection(None, NSL_KDD) == {**{c: 1 for c in NSL_KDD.columns}, "_row": 1, "_id": 0}


def _raw(*documents: dict[str, Any]) -> bytes:
    return b"".join(bson.encode(doc) for doc in documents)


def test_values_that_do_not_fit_the_dtype_become_missing_and_are_counted() -> None:
    converter = BatchConverter({"n": "int64", "x": "float64", "s": "string"})
    table = converter.convert(_raw({"n": 1, "x": 0.5, "s": "a"}, {"n": 3.5, "x": 2, "s": "b"}, {"x": 1.0}))
    assert table.to_pydict() == {"n": [1, None, None], "x": [0.5, 2.0, 1.0], "s": ["a", "b", None]}
    assert converter.invalid == {"n": 1}
    slow = BatchConverter({"n": "int64", "s": "string"})
    table = slow.convert(_raw({"n": "12", "s": 7}, {"n": "lots", "s": True}, {"n": 4.0, "s": 2.5}))
    assert table.to_pydict() == {"n": [12, None, 4], "s": ["7", "True", "2.5"]}
    assert slow.invalid == {"n": 1}


def test_inferred_dtypes_follow_bson_types_in_field_order() -> None:
    documents = [{"_id": 1, "_row": 0, "a": 1, "b": 1.0, "c": "x", "d": None}, {"a": 2**40, "b": 3, "c": 4, "e": True}]
    assert infer_dtypes(documents) == {"a": "int64", "b": "float64", "c": "string", "d": "float64", "e": "string"}


def test_inferred_int_column_is_widened_when_the_first_batch_has_fractions_the_sample_missed() -> None:
    documents = [{"_row": i, "x": i} for i in range(3000)]
    documents[1]["x"] = 0.5
    sample = sample_documents(_raw(*documents))
    assert len(sample) == 1000 and infer_dtypes(sample)["x"] == "int64"  # every third document
    converter = BatchConverter.for_schema(None, track_ordinal=True)
    table = converter.convert(_raw(*documents))
    assert converter.dtypes == {"x": "float64"} and not converter.invalid
    assert table.column("x").to_pylist()[:3] == [0.0, 0.5, 2.0]
    assert converter.ordinals is not None and converter.ordinals.to_pylist()[:3] == [0, 1, 2]
    later = converter.convert(_raw({"_row": 3000, "x": 7}))
    assert later.column("x").to_pylist() == [7.0]


# --- round trips ----------------------------------------------------------------------------


def test_round_trip_synthetic_rows_equal_the_file(mongo_project: Project) -> None:
    source = _synthetic_csv(mongo_project)
    _load(mongo_project, source)
    result = mongo_project.invoke("etl", "--source", "mongo", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 600
    assert json.loads(result.stdout)["schema_origin"] == "nsl_kdd"
    _assert_raw_equals(mongo_project, source)


@pytest.mark.shared_data
def test_round_trip_nsl_kdd_rows_equal_the_file(mongo_project: Project, shared_data: Path) -> None:
    source = shared_data / "KDDTrain+_20Percent.txt"
    report = _load(mongo_project, source)
    assert report["inserted"] == report["rows"] == 25192
    result = mongo_project.invoke("etl", "--source", "mongo", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["schema_origin"] == "nsl_kdd"
    _assert_raw_equals(mongo_project, source)


def test_rows_come_back_in_file_order_even_when_stored_out_of_order(
    mongo_project: Project, mongo_server: MongoServer
) -> None:
    """Re-inserting the first rows puts them last in natural order; the `_row` index still wins."""
    mongo_project.update_config(**{"agents.data_ingestion_agent.batch_size": 64})
    source = _synthetic_csv(mongo_project, rows=300)
    _load(mongo_project, source)
    collection = mongo_server.collection()
    moved = list(collection.find({"_row": {"$lt": 50}}))
    collection.delete_many({"_row": {"$lt": 50}})
    collection.insert_many(moved)
    assert next(collection.find({}, {"_row": 1}))["_row"] >= 50
    result = mongo_project.invoke("etl", "--source", "mongo")
    assert result.exit_code == 0, result.output
    _assert_raw_equals(mongo_project, source)


def test_query_and_projection_come_from_config(mongo_project: Project) -> None:
    source = _synthetic_csv(mongo_project)
    _load(mongo_project, source)
    mongo_project.update_config(**{"mongo.query": {"protocol_type": "tcp"}, "mongo.projection": {"difficulty": 0}})
    result = mongo_project.invoke("etl", "--source", "mongo")
    assert result.exit_code == 0, result.output
    raw = pd.read_parquet(mongo_project.artifacts / "etl" / "raw.parquet")
    expected = read_table(source)
    assert len(raw) == int((expected["protocol_type"] == "tcp").sum())
    assert "difficulty" not in raw.columns and set(raw["protocol_type"]) == {"tcp"}


def test_netsec_run_from_mongo_end_to_end(mongo_project: Project) -> None:
    _load(mongo_project, _synthetic_csv(mongo_project, rows=1500))
    mongo_project.update_config(**{"tracking.enabled": False})  # MLflow is not what this test is about
    result = mongo_project.invoke("run", "--source", "mongo", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["etl"]["source"] == "mongo"
    assert (mongo_project.artifacts / "train" / "manifest.json").is_file()


def test_uri_from_dotenv(mongo_project: Project, mongo_server: MongoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(mongo_project, _synthetic_csv(mongo_project, rows=200))
    monkeypatch.delenv("MONGODB_URI")
    (mongo_project.root / ".env").write_text(f"MONGODB_URI={mongo_server.uri}\n")
    monkeypatch.setenv("MONGODB_URI", "placeholder")  # makes monkeypatch remove what .env sets
    monkeypatch.delenv("MONGODB_URI")
    result = mongo_project.invoke("etl", "--source", "mongo")
    assert result.exit_code == 0, result.output


def test_wrong_types_and_missing_fields_are_read_as_missing_not_a_crash(
    mongo_project: Project, mongo_server: MongoServer, caplog: pytest.LogCaptureFixture
) -> None:
    frame = generate_flows(200, 5)
    documents = [{"_row": i, **{k: (None if pd.isna(v) else v) for k, v in row.items()}} for i, row in enumerate(frame.to_dict("records"))]
    documents[3]["src_bytes"] = "lots"
    documents[4]["duration"] = 2.5
    del documents[5]["dst_bytes"]
    mongo_server.collection().insert_many(documents)
    config = load_config(mongo_project.config_path)
    dest = mongo_project.root / "out" / "raw.parquet"
    with caplog.at_level("WARNING", logger="netsec_cli"):
        assert read_collection(config, dest, NSL_KDD) == 200
    table = pd.read_parquet(dest)
    assert pd.isna(table.loc[3, "src_bytes"]) and pd.isna(table.loc[4, "duration"]) and pd.isna(table.loc[5, "dst_bytes"])
    assert table.loc[6, "src_bytes"] == frame.loc[6, "src_bytes"]
    assert "2 value(s) did not match the column dtypes" in caplog.text
    assert "src_bytes (1)" in caplog.text and "duration (1)" in caplog.text


# --- bad input and faults -------------------------------------------------------------------


def _unreachable(port: int, what: str) -> re.Pattern[str]:
    """The `Error:` line after every attempt failed (the last error's wording is pymongo's)."""
    return re.compile(
        rf"Error: MongoDB at 127\.0\.0\.1:{port}: {what} netsec\.flows failed after 3 attempt\(s\): .+"
        r" \(check that the server is running and reachable, the host in MONGODB_URI, and any firewall or Atlas IP"
        r" access list\)"
    )


def test_empty_collection_exits_2(mongo_project: Project, mongo_server: MongoServer) -> None:
    result = mongo_project.invoke("etl", "--source", "mongo")
    assert_error(
        result,
        2,
        f"Error: MongoDB collection netsec.flows at 127.0.0.1:{mongo_server.port} has no documents matching "
        "mongo.query (load a file with `netsec etl load FILE` or check mongo.query)",
    )
    assert not (mongo_project.artifacts / "etl").exists()


def test_query_the_server_refuses_exits_2_naming_the_config_keys(
    mongo_project: Project, mongo_server: MongoServer
) -> None:
    _load(mongo_project, _synthetic_csv(mongo_project, rows=100))
    mongo_project.update_config(**{"mongo.query": {"$nope": 1}})
    result = mongo_project.invoke("etl", "--source", "mongo")
    refused = (
        rf"Error: MongoDB at 127\.0\.0\.1:{mongo_server.port} refused reading netsec\.flows: "
        r"unknown top level operator: \$nope\b.* \(check mongo\.query and mongo\.projection in the config\)"
    )
    assert_error(result, 2, re.compile(refused))
    assert not (mongo_project.artifacts / "etl").exists()


def test_missing_uri_exits_2_and_writes_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    result = project.invoke("etl", "--source", "mongo")
    assert_error(
        result,
        2,
        "Error: MONGODB_URI is not set (export MONGODB_URI=mongodb://HOST:27017/ or put it in .env; "
        "`make mongo` starts a local server)",
    )
    assert not (project.artifacts / "etl").exists()


def test_unreachable_uri_exits_4_after_retries_in_bounded_time(mongo_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{port}/")
    started = time.monotonic()
    result = mongo_project.invoke("etl", "--source", "mongo")
    elapsed = time.monotonic() - started
    assert_error(result, 4, _unreachable(port, "reading"))
    # 3 attempts x 0.3 s server selection + 0.05 + 0.1 s backoff, with generous slack
    assert elapsed < 8, elapsed
    log_text = (mongo_project.root / "logs" / "system.log").read_text()
    assert "retry 1/2" in log_text and "retry 2/2" in log_text
    assert not (mongo_project.artifacts / "etl").exists()


class _StopServerAfterFirstBatch(monitoring.CommandListener):
    """Stops the server (from another thread) as soon as the first `find` batch has arrived."""

    def __init__(self, server: MongoServer) -> None:
        self.server = server
        self.armed = True

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        return None

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self.armed and event.command_name == "find":
            self.armed = False
            stopper = threading.Thread(target=self.server.stop)
            stopper.start()
            stopper.join()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def test_server_stopped_mid_read_leaves_no_artifact(mongo_project: Project, mongo_server: MongoServer) -> None:
    _load(mongo_project, _synthetic_csv(mongo_project, rows=300))
    mongo_project.update_config(**{"agents.data_ingestion_agent.batch_size": 40})
    listener = _StopServerAfterFirstBatch(mongo_server)
    monitoring.register(listener)  # global in pymongo: only clients created from now on see it
    try:
        result = mongo_project.invoke("etl", "--source", "mongo")
    finally:
        listener.armed = False
    assert not listener.armed and mongo_server._stopped
    assert result.exit_code == 4, result.output
    # Not assert_error: the in-process server may log its own shutdown traceback to the console.
    assert _unreachable(mongo_server.port, "reading").fullmatch(error_line(result))
    assert not (mongo_project.artifacts / "etl").exists()
    assert list(mongo_project.artifacts.rglob("*.parquet")) == []
    assert list(mongo_project.artifacts.glob(".staging-*")) == []


def test_read_collection_removes_its_temporary_file_when_the_server_dies(
    mongo_project: Project, mongo_server: MongoServer
) -> None:
    """Library level: the progress hook sees the first batch written, then the server goes away."""
    _load(mongo_project, _synthetic_csv(mongo_project, rows=200))
    mongo_project.update_config(**{"agents.data_ingestion_agent.batch_size": 30})
    config = load_config(mongo_project.config_path)

    class StopOnFirstAdvance:
        def __init__(self) -> None:
            self.advanced = 0

        def task(self, description: str, total: float | None = None) -> Any:
            import contextlib

            outer = self

            class Handle:
                def advance(self, amount: float = 1) -> None:
                    outer.advanced += amount
                    if outer.advanced == 30:
                        threading.Thread(target=mongo_server.stop).start()
                        time.sleep(0.5)

            return contextlib.nullcontext(Handle())

    dest = mongo_project.root / "out" / "raw.parquet"
    from netsec_cli.errors import ServiceError

    with pytest.raises(ServiceError, match="reading netsec.flows failed after 3 attempt"):
        read_collection(config, dest, None, progress=StopOnFirstAdvance())
    assert list(dest.parent.iterdir()) == []


def test_credentials_never_appear_in_output_or_logs(
    mongo_project: Project, mongo_server: MongoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Sup3r-Secret-Pw-xyz"
    mongo_server.client().admin.command("createUser", "flows", pwd=password, roles=["root"])
    source = _synthetic_csv(mongo_project, rows=200)
    outputs = []
    monkeypatch.setenv("MONGODB_URI", f"mongodb://flows:{password}@127.0.0.1:{mongo_server.port}/")
    for args in (("-v", "etl", "load", str(source)), ("-v", "etl", "--source", "mongo")):
        result = mongo_project.invoke(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    monkeypatch.setenv("MONGODB_URI", f"mongodb://flows:{password}-wrong@127.0.0.1:{mongo_server.port}/")
    denied = mongo_project.invoke("--debug", "etl", "--source", "mongo")
    assert denied.exit_code == 2
    assert re.fullmatch(
        rf"Error: MongoDB at 127\.0\.0\.1:{mongo_server.port} refused the credentials: .+ "
        r"\(check the user name, password and authSource in MONGODB_URI\)",
        error_line(denied),  # --debug: a traceback precedes it
    )
    outputs.append(denied.output)
    mongo_server.stop()
    gone = mongo_project.invoke("--debug", "etl", "load", str(source))
    assert gone.exit_code == 4
    outputs.append(gone.output)
    outputs.append((mongo_project.root / "logs" / "system.log").read_text())
    for text in outputs:
        assert password not in text
    assert f"MongoDB at 127.0.0.1:{mongo_server.port}" in gone.stderr


def test_read_collection_without_uri_is_an_input_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    with pytest.raises(InputError, match="MONGODB_URI is not set"):
        read_collection(load_config(project.config_path), project.root / "raw.parquet", None)
    assert not (project.root / "raw.parquet").exists()
