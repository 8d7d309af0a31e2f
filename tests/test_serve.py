"""`netsec serve` over HTTP: every route and status, the three answer types, auth, limits, bad input."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.project import Project
from tests.fixtures.serve import Server, start_server
from tests.helpers import assert_error


@pytest.fixture(scope="module")
def flows(trained_artifacts: Path) -> pd.DataFrame:
    """200 rows of the synthetic test split, label included."""
    return pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(200)


def _cli_probabilities(project: Project, path: Path) -> np.ndarray:
    out = project.root / f"cli-{path.stem}.csv"
    result = project.invoke("predict", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    return pd.read_csv(out)["probability"].to_numpy()


def _post_file(server: Server, path: Path, *, accept: str = "application/json", headers: dict[str, str] | None = None, name: str | None = None):
    with path.open("rb") as handle:
        files = {"file": (name or path.name, handle, "application/octet-stream")}
        return server.client.post("/predict", files=files, headers={"Accept": accept, **(server.auth if headers is None else headers)})


def test_predict_answers_json_csv_and_html_like_the_cli(serve: Server, ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "flows.npy"
    np.save(path, flows.drop(columns=["label"]).astype(str).to_numpy(dtype=str))
    expected = _cli_probabilities(ready, path)
    answer = _post_file(serve, path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["rows"] == len(flows) and body["model_version"] and 0 < body["threshold"] < 1
    got = np.array([p["probability"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    flagged = got >= body["threshold"]
    assert body["intrusions"] == int(flagged.sum()) > 0
    assert [p["label"] for p in body["predictions"]] == ["intrusion" if f else "normal" for f in flagged]
    assert [p["prediction"] for p in body["predictions"]] == [-1 if f else 0 for f in flagged]
    csv = _post_file(serve, path, accept="text/csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(pd.io.common.StringIO(csv.text))
    assert list(table.columns) == ["row", "prediction", "label", "probability"]
    np.testing.assert_allclose(table["probability"].to_numpy(), expected, rtol=0, atol=1e-9)
    html = _post_file(serve, path, accept="text/html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count('<tr class=intrusion>') == body["intrusions"] and "<script" not in html.text
    link = re.search(r'href="(/results/[^"]+\.csv)"', html.text)
    assert link is not None
    download = serve.client.get(link.group(1))
    assert download.status_code == 200
    kept = pd.read_csv(pd.io.common.StringIO(download.text), keep_default_na=False)
    assert kept.drop(columns=["top_features"]).equals(table)
    assert ((kept["top_features"] != "") == (kept["label"] == "intrusion")).all()


def test_records_and_every_file_type_score_the_same(serve: Server, ready: Project, flows: pd.DataFrame) -> None:
    features = flows.drop(columns=["label"])
    expected = _cli_probabilities(ready, _write(ready.root / "ref.parquet", features))
    records = json.loads(features.to_json(orient="records"))
    answer = serve.client.post("/predict", json={"records": records}, headers=serve.auth)
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose([p["probability"] for p in answer.json()["predictions"]], expected, rtol=0, atol=1e-9)
    table = {"columns": list(records[0]), "data": [list(record.values()) for record in records]}
    by_rows = serve.client.post("/predict", json=table, headers=serve.auth)
    np.testing.assert_allclose([p["probability"] for p in by_rows.json()["predictions"]], expected, rtol=0, atol=1e-9)
    csv_body = serve.client.post("/predict", content=features.to_csv(index=False).encode(), headers={**serve.auth, "Content-Type": "text/csv"})
    np.testing.assert_allclose([p["probability"] for p in csv_body.json()["predictions"]], expected, rtol=0, atol=1e-9)
    bad_csv = serve.client.post("/predict", content=b"duration,bogus\n1,2\n", headers={**serve.auth, "Content-Type": "text/csv"})
    assert bad_csv.status_code == 400 and bad_csv.json()["detail"].startswith("request body has unknown columns: bogus")
    explained = serve.client.post("/predict?explain=true", json={"records": records[:20]}, headers=serve.auth).json()
    for row in explained["predictions"]:
        assert (row["top_features"] != "") == (row["label"] == "intrusion")
    for name in ("flows.csv", "flows.parquet", "flows.txt"):
        path = _write(ready.root / name, flows if name.endswith(".txt") else features)
        got = _post_file(serve, path).json()
        np.testing.assert_allclose([p["probability"] for p in got["predictions"]], expected, rtol=0, atol=1e-9)


def _write(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".txt":
        frame.to_csv(path, index=False, header=False)  # NSL-KDD text: no header, columns by position
    else:
        frame.to_csv(path, index=False)
    return path


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_bad_input_is_400_with_the_cli_message(serve: Server, ready: Project, flows: pd.DataFrame) -> None:
    root = ready.root
    marker = root / "PWNED"
    np.save(root / "evil.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    cases = {
        "evil.npy": "refusing to load evil.npy: its dtype holds Python objects and would need pickle "
        "(save a numeric, unicode or structured array (np.save(..., allow_pickle=False)))",
        "unknown.csv": "unknown.csv has unknown columns: servise (use the schema's column names)",
        "bad_value.csv": "bad_value.csv: column 'src_bytes' row 5: 'lots' is not a number (numerical columns must hold numbers)",
        "empty.csv": "input file empty.csv is empty",
    }
    flows.rename(columns={"service": "servise"}).to_csv(root / "unknown.csv", index=False)
    bad = flows.copy().astype({"src_bytes": object})
    bad.loc[bad.index[5], "src_bytes"] = "lots"
    bad.to_csv(root / "bad_value.csv", index=False)
    (root / "empty.csv").write_bytes(b"")
    for name, detail in cases.items():
        answer = _post_file(serve, root / name)
        assert (answer.status_code, answer.json()) == (400, {"detail": detail}), name
        cli = ready.invoke("predict", str(root / name), "-o", str(root / "out.csv"))
        assert_error(cli, 2, "Error: " + detail.replace(name, str(root / name), 1))
    assert not marker.exists()
    (root / "corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage that is not a header")
    corrupt = _post_file(serve, root / "corrupt.npy")
    assert corrupt.status_code == 400 and re.fullmatch(r"corrupt\.npy is not a valid \.npy file \(.+\)", corrupt.json()["detail"])
    records = json.loads(flows.drop(columns=["label"]).head(3).to_json(orient="records"))
    wrong = [{**records[0], "bogus": 1}]
    bodies = {
        b"{not json": re.compile(r"the request body is not valid JSON: .+"),
        json.dumps({"rows": []}).encode(): re.compile(
            re.escape('the JSON body must be {"records": [{column: value, …}, …]} or {"columns": [column, …], "data": [[value, …], …]}')
        ),
        json.dumps({"columns": ["duration"], "data": [[1]]}).encode(): re.compile(re.escape("request body is missing columns of schema 'nsl_kdd': ") + ".+"),
        json.dumps({"columns": list(records[0]), "data": [list(records[0].values()), [1, 2]]}).encode(): re.compile(
            re.escape("request body row 1 is not a list of 42 values (one per column)")
        ),
        json.dumps({"records": wrong}).encode(): re.compile(re.escape("request body has unknown columns: bogus (use the schema's column names)")),
        json.dumps({"records": [records[0], {k: v for k, v in records[1].items() if k != "flag"}]}).encode(): re.compile(
            re.escape("request body record 1 is missing columns of schema 'nsl_kdd': flag")
        ),
        json.dumps({"records": [{**records[0], "protocol_type": [1]}]}).encode(): re.compile(
            re.escape("request body: column 'protocol_type' row 0: a list is not a value (values are numbers, strings or null)")
        ),
    }
    for body, detail in bodies.items():
        answer = serve.client.post("/predict", content=body, headers={**serve.auth, "Content-Type": "application/json"})
        assert answer.status_code == 400 and detail.fullmatch(answer.json()["detail"]), (body[:40], answer.text)


def test_unsupported_types_are_415(serve: Server, ready: Project) -> None:
    exe = ready.root / "flows.exe"
    exe.write_bytes(b"MZ" + b"\0" * 100)
    answer = _post_file(serve, exe)
    assert answer.status_code == 415
    assert answer.json()["detail"] == "unsupported file type '.exe' for 'flows.exe' (use one of .csv, .tsv, .txt, .parquet, .pq, .npy)"
    plain = serve.client.post("/predict", content=b"0,tcp,http", headers={**serve.auth, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["detail"] == "unsupported media type 'text/plain' (send multipart/form-data with a file, application/json records, or text/csv)"


def _raw_post(server: Server, head: str, body_chunks: list[bytes]) -> bytes:
    """Send a request by hand and return what the server answered (it may answer early)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
        return answer


def _length(answer: bytes) -> int:
    found = re.search(rb"content-length: (\d+)", answer, re.IGNORECASE)
    return int(found.group(1)) if found else 0


def test_oversized_bodies_and_rows_are_413(ready: Project, flows: pd.DataFrame) -> None:
    ready.update_config(**{"serve.max_upload_mb": 1, "serve.max_rows": 150})
    server = start_server(ready)
    try:
        declared = (
            f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 104857600\r\n\r\n"
        )
        answer = _raw_post(server, declared, [])  # refused from the header alone: nothing of the body was sent
        assert answer.startswith(b"HTTP/1.1 413") and b"larger than serve.max_upload_mb (1 MB)" in answer
        chunked = (
            f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n' + b"1," * 200_000
        pieces = [f"{len(part):x}\r\n".encode() + part + b"\r\n"]  # 400 kB, then 2 MB more the server never needs
        pieces += [f"{len(b'0,' * 100_000):x}\r\n".encode() + b"0," * 100_000 + b"\r\n"] * 10
        answer = _raw_post(server, chunked, pieces)
        assert answer.startswith(b"HTTP/1.1 413") and b"larger than serve.max_upload_mb" in answer
        many = ready.root / "many.csv"
        flows.drop(columns=["label"]).to_csv(many, index=False)
        rows = _post_file(server, many)
        assert (rows.status_code, rows.json()["detail"]) == (413, "the request holds more than serve.max_rows (150) rows (split the input, or raise serve.max_rows)")
        parquet = _write(ready.root / "many.parquet", flows.drop(columns=["label"]))
        assert _post_file(server, parquet).json() == {"detail": "the request holds 200 rows, more than serve.max_rows (150) (split the input, or raise serve.max_rows)"}
        records = json.loads(flows.drop(columns=["label"]).to_json(orient="records"))
        assert server.client.post("/predict", json={"records": records}, headers=server.auth).status_code == 413
        assert server.client.post("/predict", json={"records": records[:150]}, headers=server.auth).status_code == 200
    finally:
        server.stop()


def test_token_guards_predict_train_and_jobs_only(serve: Server, ready: Project, flows: pd.DataFrame) -> None:
    records = {"records": json.loads(flows.drop(columns=["label"]).head(2).to_json(orient="records"))}
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {serve.token}"}):
        answers = [
            serve.client.post("/predict", json=records, headers=headers),
            serve.client.post("/train", headers=headers),
            serve.client.get("/train", headers=headers),
            serve.client.get("/jobs/" + "0" * 32, headers=headers),
        ]
        for answer in answers:
            assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
            assert answer.json() == {"detail": "missing or wrong token: send Authorization: Bearer <NETSEC_SERVE_TOKEN> (on the page: the Token field)"}
    path = ready.root / "flows.csv"
    flows.drop(columns=["label"]).to_csv(path, index=False)
    assert _post_file(serve, path, headers={}).status_code == 401
    with path.open("rb") as handle:  # the page's form field works like the header
        form = serve.client.post("/predict", data={"token": serve.token}, files={"file": ("flows.csv", handle)})
    assert form.status_code == 200 and form.json()["rows"] == len(flows)
    for route in ("/livez", "/readyz", "/metrics", "/version", "/", "/docs", "/openapi.json"):
        assert serve.client.get(route).status_code == 200, route
    assert serve.client.get("/jobs/" + "0" * 32, headers=serve.auth).status_code == 404
    assert serve.token not in serve.output()


def test_auth_none_is_open_on_loopback_and_refused_elsewhere(ready: Project, flows: pd.DataFrame) -> None:
    ready.update_config(**{"serve.auth": "none", "serve.cors_origins": ["https://siem.example"]})
    assert_error(
        ready.invoke("serve", "--host", "0.0.0.0"),
        2,
        "Error: refusing to serve on 0.0.0.0 with serve.auth: none: anyone who can reach it could score and retrain "
        "(set serve.auth: token, listen on 127.0.0.1, or pass --insecure)",
    )
    server = start_server(ready, "--host", "0.0.0.0", "--insecure", token=None)
    try:
        records = {"records": json.loads(flows.drop(columns=["label"]).head(3).to_json(orient="records"))}
        answer = server.client.post("/predict", json=records)
        assert answer.status_code == 200 and answer.json()["rows"] == 3
        preflight = {"Origin": "https://siem.example", "Access-Control-Request-Method": "POST"}
        allowed = server.client.options("/predict", headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://siem.example"
        other = server.client.options("/predict", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()


def test_token_auth_without_a_token_refuses_to_start(ready: Project) -> None:
    result = ready.invoke("serve", env={"NETSEC_SERVE_TOKEN": ""})
    assert_error(
        result,
        2,
        "Error: serve.auth is token but NETSEC_SERVE_TOKEN is not set (export NETSEC_SERVE_TOKEN (or keep it in "
        "config/aws_credentials.yaml), or set serve.auth: none on a loopback host)",
    )
    short = ready.invoke("serve", env={"NETSEC_SERVE_TOKEN": "short"})
    assert_error(short, 2, "Error: NETSEC_SERVE_TOKEN is shorter than 16 characters (generate one: openssl rand -hex 32)")


def test_health_version_and_metrics(serve: Server, ready: Project, flows: pd.DataFrame) -> None:
    assert serve.client.get("/livez").json()["status"] == "ok"
    assert serve.client.get("/readyz").json()["status"] == "ok"
    version = serve.client.get("/version").json()
    manifest = json.loads((ready.artifacts / "models" / "manifest.json").read_text())
    sha = next(entry["sha256"] for entry in manifest["files"] if entry["path"] == "1/model.ubj")
    registered = json.loads((ready.artifacts / "models" / "1" / "version.json").read_text())
    assert version["model_sha256"] == sha and version["trained_at"] == registered["created"]
    assert version["model_version"] == "1"
    assert version["model_type"] == "xgboost" and 0 < version["threshold"] < 1 and version["netsec_version"]
    records = {"records": json.loads(flows.drop(columns=["label"]).head(50).to_json(orient="records"))}
    scored = serve.client.post("/predict", json=records, headers=serve.auth).json()
    serve.client.post("/predict", json={"records": []}, headers=serve.auth)
    text = serve.client.get("/metrics").text
    label = f'model_version="{version["model_version"]}"'
    assert f"netsec_rows_scored_total{{{label}}} 50.0" in text
    assert f"netsec_intrusions_flagged_total{{{label}}} {float(scored['intrusions'])}" in text
    info = [line for line in text.splitlines() if line.startswith("netsec_model_info{")]
    assert len(info) == 1 and label in info[0] and f'model_sha256="{sha}"' in info[0] and info[0].endswith("} 1.0")
    assert 'netsec_requests_total{method="POST",route="/predict",status="200"} 1.0' in text
    assert 'netsec_requests_total{method="POST",route="/predict",status="400"} 1.0' in text
    assert 'netsec_request_duration_seconds_bucket{le="0.005",route="/livez"}' in text


def test_not_ready_before_the_first_train(project: Project) -> None:
    server = start_server(project)
    try:
        assert server.client.get("/livez").status_code == 200
        ready = server.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "no model"
        answer = server.client.post("/predict", json={"records": [{"duration": 0}]}, headers=server.auth)
        assert answer.status_code == 503 and "run `netsec train`" in answer.json()["detail"]
        assert server.client.get("/version").json()["model_version"] is None
        assert "No model is trained yet" in server.client.get("/").text
    finally:
        server.stop()


def test_openapi_describes_every_route(serve: Server) -> None:
    spec = serve.client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {"/", "/predict", "/train", "/jobs/{job_id}", "/livez", "/readyz", "/version", "/metrics", "/results/{result_id}.csv"}
    assert expected <= set(paths)
    body = paths["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json", "text/csv"}
    responses = paths["/predict"]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "503"} <= set(responses)
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PredictResponse")
    assert paths["/train"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobResponse")
    assert "409" in paths["/train"]["post"]["responses"]
    assert [shape["required"] for shape in body["application/json"]["schema"]["oneOf"]] == [["records"], ["columns", "data"]]
    assert {"PredictResponse", "JobResponse", "TrainStatus", "VersionResponse", "ErrorResponse"} <= set(spec["components"]["schemas"])
    assert "swagger-ui" in serve.client.get("/docs").text
