"""`netsec etl`: synthetic, CSV, TSV with a numeric target, Parquet, NSL-KDD text, and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from netsec_cli.artifacts import read_manifest, sha256_file, verify_manifest
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.stages.etl import stratified_split
from tests.fixtures.project import REPO, Project

OUTPUTS = {"raw.parquet", "train.parquet", "test.parquet", "schema.yaml"}


def _etl(project: Project, *args: str) -> dict:
    result = project.invoke("etl", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _phishing_like(rows: int = 400) -> pd.DataFrame:
    flows = generate_flows(rows, seed=11)
    return pd.DataFrame(
        {
            "having_IP_Address": (flows["src_bytes"] % 3 - 1).astype(int),
            "URL_Length": (flows["count"] % 3 - 1).astype(int),
            "SSLfinal_State": (flows["dst_host_count"] % 3 - 1).astype(int),
            "Result": flows["label"].eq("normal").map({True: 1, False: -1}),
        }
    )


def test_synthetic_files_manifest_split_and_stratification(project: Project) -> None:
    data = _etl(project, "--source", "synthetic")
    folder = project.artifacts / "etl"
    assert {p.name for p in folder.iterdir()} == OUTPUTS | {"manifest.json"}
    assert {e["path"] for e in read_manifest(folder)["files"]} == OUTPUTS
    assert verify_manifest(folder) == []
    raw, train, test = (pd.read_parquet(folder / f"{n}.parquet") for n in ("raw", "train", "test"))
    schema = yaml.safe_load((folder / "schema.yaml").read_text())
    assert len(raw) == data["rows"] == 3000
    assert (len(train), len(test)) == (data["train_rows"], data["test_rows"]) == (2400, 600)
    for frame in (raw, train, test):
        assert list(frame.columns) == schema["columns"]
        assert {c: str(frame[c].dtype) for c in frame.columns} == schema["dtypes"]
    share = {name: frame["label"].ne("normal").mean() for name, frame in (("train", train), ("test", test))}
    assert abs(share["train"] - share["test"]) < 0.005
    assert data["intrusion_share"] == pytest.approx(raw["label"].ne("normal").mean(), abs=1e-6)
    assert schema["categorical_domains"]["protocol_type"] == ["icmp", "tcp", "udp"]
    assert schema["categorical_domains"]["service"] == sorted(train["service"].unique())
    assert data["outputs"]["train.parquet"] == str(folder / "train.parquet")


def test_synthetic_is_deterministic_across_runs(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    first = {e["path"]: e["sha256"] for e in read_manifest(project.artifacts / "etl")["files"]}
    _etl(project, "-s", "synthetic")
    second = {e["path"]: e["sha256"] for e in read_manifest(project.artifacts / "etl")["files"]}
    assert first == second


def test_csv_with_header_infers_schema(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    generate_flows(500, seed=5).to_csv(path, index=False)
    data = _etl(project, "--source", str(path))
    assert data["schema_origin"] == "inferred" and data["rows"] == 500
    schema = yaml.safe_load((project.artifacts / "etl" / "schema.yaml").read_text())
    assert schema["name"] == "flows"
    assert schema["categorical"] == ["protocol_type", "service", "flag"]
    assert schema["ignored"] == ["difficulty"] and "difficulty" not in schema["numerical"]


def test_tsv_with_numeric_target_via_config(project: Project) -> None:
    path = project.root / "phish.tsv"
    _phishing_like().to_csv(path, sep="\t", index=False)
    project.update_config(**{"data.target": "Result", "data.normal_value": 1})
    data = _etl(project, "--source", "phish.tsv")
    assert data["target"] == "Result"
    frame = pd.read_parquet(project.artifacts / "etl" / "raw.parquet")
    assert data["intrusion_share"] == pytest.approx(frame["Result"].eq(-1).mean(), abs=1e-6)
    schema = yaml.safe_load((project.artifacts / "etl" / "schema.yaml").read_text())
    assert schema["normal_value"] == 1 and schema["dtypes"]["Result"] == "int64"
    assert "Result" not in schema["numerical"]


def test_tsv_numeric_target_via_flags(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "phish.tsv"
    _phishing_like().to_csv(path, sep="\t", index=False)
    data = _etl(project, "-s", str(path), "--target", "Result", "--normal-value", "1")
    assert 0.3 < data["intrusion_share"] < 0.6


def test_parquet_source(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "flows.parquet"
    generate_flows(400, seed=2).to_parquet(path)
    data = _etl(project, "--source", str(path))
    assert data["rows"] == 400 and data["columns"] == 43


def test_nsl_kdd_headerless_text(project: Project, shared_data: Path) -> None:
    data = _etl(project, "--source", str(shared_data / "KDDTrain+_20Percent.txt"))
    assert data["schema_origin"] == "nsl_kdd"
    assert data["rows"] == 25192 and data["columns"] == 43
    assert 0.4 < data["intrusion_share"] < 0.5
    raw = pd.read_parquet(project.artifacts / "etl" / "raw.parquet")
    assert raw.loc[0, "service"] == "ftp_data" and raw.loc[0, "src_bytes"] == 491


def test_table_output(project: Project) -> None:
    result = project.invoke("etl", "-s", "synthetic")
    assert result.exit_code == 0, result.output
    assert "intrusion share" in result.stdout and "2,400 train / 600 test" in result.stdout


def _bad_files(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + bytes(300))
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "flows.json").write_text("[]")
    generate_flows(200, seed=1).to_csv(tmp_path / "nolabel.csv", index=False, columns=["duration", "service", "flag"])
    generate_flows(200, seed=1).iloc[:, :10].to_csv(tmp_path / "narrow.txt", index=False, header=False)
    return {
        "missing": (["-s", str(tmp_path / "nope.csv")], "input file not found"),
        "empty": (["-s", str(tmp_path / "empty.csv")], "is empty"),
        "corrupt parquet": (["-s", str(tmp_path / "broken.parquet")], "cannot read Parquet file"),
        "binary csv": (["-s", str(tmp_path / "garbage.csv")], "is binary"),
        "extension": (["-s", str(tmp_path / "flows.json")], "unsupported file type '.json'"),
        "no target": (["-s", str(tmp_path / "nolabel.csv")], "target column 'label' not found"),
        "column count": (
            ["-s", str(tmp_path / "narrow.txt"), "--schema", str(REPO / "schema" / "nsl_kdd.yaml")],
            "has 10 columns but schema 'nsl_kdd' expects 43",
        ),
    }


@pytest.mark.parametrize(
    "case", ["missing", "empty", "corrupt parquet", "binary csv", "extension", "no target", "column count"]
)
def test_bad_input_exit_2_one_line_no_artifacts(project: Project, tmp_path: Path, case: str) -> None:
    args, message = _bad_files(tmp_path)[case]
    result = project.invoke("etl", *args)
    assert result.exit_code == 2, result.output
    line = _error_line(result.stderr)
    assert message in line
    assert args[1] in line
    assert "Traceback" not in result.output
    assert not (project.artifacts / "etl").exists()
    assert not list(project.artifacts.glob(".staging-*"))


def test_failed_etl_leaves_previous_artifacts_intact(project: Project, tmp_path: Path) -> None:
    _etl(project, "-s", "synthetic")
    folder = project.artifacts / "etl"
    before = {p.name: sha256_file(p) for p in folder.iterdir()}
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1garbage")
    result = project.invoke("etl", "-s", str(bad))
    assert result.exit_code == 2
    assert {p.name: sha256_file(p) for p in folder.iterdir()} == before
    assert not list(project.artifacts.glob(".staging-*")) and not list(project.artifacts.glob(".previous-*"))


def test_wrong_normal_value_is_named(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "phish.csv"
    _phishing_like().to_csv(path, index=False)
    result = project.invoke("etl", "-s", str(path), "--target", "Result", "--normal-value", "legit")
    assert result.exit_code == 2
    assert "normal value 'legit'" in _error_line(result.stderr)
    assert not (project.artifacts / "etl").exists()


def test_target_hint_names_likely_column(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "phish.csv"
    _phishing_like().to_csv(path, index=False)
    result = project.invoke("etl", "-s", str(path))
    assert result.exit_code == 2
    assert "pass --target Result" in _error_line(result.stderr)


def test_etl_load_subcommand_is_registered(project: Project) -> None:
    result = project.invoke("etl", "load", "--help")
    assert result.exit_code == 0
    assert not (project.artifacts / "etl").exists()


def test_stratified_split_exact_sizes_and_shares() -> None:
    labels = np.array([True] * 137 + [False] * 863)
    train, test = stratified_split(labels, 250, seed=4)
    assert len(test) == 250 and len(train) == 750
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(1000))
    assert labels[test].sum() == 34  # 137 * 0.25 = 34.25
    again = stratified_split(labels, 250, seed=4)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])


def test_tiny_class_falls_back_to_plain_split_with_warning(project: Project, tmp_path: Path) -> None:
    frame = _phishing_like(60).assign(Result=1)
    frame.loc[0, "Result"] = -1
    path = tmp_path / "one_attack.csv"
    frame.to_csv(path, index=False)
    result = project.invoke("etl", "-s", str(path), "--target", "Result", "--normal-value", "1")
    assert result.exit_code == 0, result.output
    assert "stratified split impossible" in result.stderr
    assert (project.artifacts / "etl" / "train.parquet").is_file()


def test_explicit_schema_without_trailing_ignored_column(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "kdd42.txt"
    generate_flows(300, seed=9).drop(columns="difficulty").to_csv(path, index=False, header=False)
    project.update_config(**{"data.schema": str(REPO / "schema" / "nsl_kdd.yaml")})
    data = _etl(project, "-s", str(path))
    assert data["schema_origin"] == "explicit" and data["columns"] == 42
    schema = yaml.safe_load((project.artifacts / "etl" / "schema.yaml").read_text())
    assert "difficulty" not in schema["columns"] and schema["ignored"] == []


def test_config_source_resolves_against_project_root(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "data").mkdir()
    generate_flows(300, seed=9).to_parquet(project.root / "data" / "flows.parquet")
    project.update_config(**{"data.source": "data/flows.parquet"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = _etl(project)
    assert data["source"] == str(project.root / "data" / "flows.parquet")


def test_real_phishing_tsv(project: Project, shared_data: Path) -> None:
    data = _etl(project, "-s", str(shared_data / "phishing_websites.tsv"), "--target", "Result", "--normal-value", "1")
    assert data["rows"] == 11055 and data["columns"] == 31
    assert data["intrusion_share"] == pytest.approx(0.443, abs=0.001)
    assert project.invoke("validate").exit_code == 0
