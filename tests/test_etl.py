"""`netsec etl`: synthetic, CSV, TSV with a numeric target, Parquet, NSL-KDD text, and bad inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from netsec_cli.artifacts import Manifest, sha256_file
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.stages.etl_split import stratified_split
from tests.fixtures.project import REPO, Project
from tests.helpers import assert_error

OUTPUTS = {"raw.parquet", "train.parquet", "test.parquet", "schema.yaml"}


def _etl(project: Project, *args: str) -> dict:
    result = project.invoke("etl", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


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
    assert {p.name for p in folder.iterdir()} == OUTPUTS | {"manifest.json", "fingerprint.json"}
    manifest = Manifest.read(folder)
    assert manifest is not None and {e.path for e in manifest.files} == OUTPUTS | {"fingerprint.json"}
    assert manifest.verify(folder) == []
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
    first = {e.path: e.sha256 for e in Manifest.read(project.artifacts / "etl").files}
    _etl(project, "-s", "synthetic")
    second = {e.path: e.sha256 for e in Manifest.read(project.artifacts / "etl").files}
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


def _bad_files(tmp_path: Path) -> dict[str, tuple[list[str], str | re.Pattern[str]]]:
    """Per case: etl arguments and the expected `Error:` line (a pattern where pyarrow words it)."""
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + bytes(300))
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "flows.json").write_text("[]")
    generate_flows(200, seed=1).to_csv(tmp_path / "nolabel.csv", index=False, columns=["duration", "service", "flag"])
    generate_flows(200, seed=1).iloc[:, :10].to_csv(tmp_path / "narrow.txt", index=False, header=False)
    broken = re.escape(str(tmp_path / "broken.parquet"))
    return {
        "missing": (
            ["-s", str(tmp_path / "nope.csv")],
            f"Error: input file not found: {tmp_path / 'nope.csv'} (check the path)",
        ),
        "empty": (["-s", str(tmp_path / "empty.csv")], f"Error: input file {tmp_path / 'empty.csv'} is empty"),
        "corrupt parquet": (
            ["-s", str(tmp_path / "broken.parquet")],
            re.compile(rf"Error: cannot read Parquet file {broken}: .+ \(is it a complete Parquet file\?\)"),
        ),
        "binary csv": (
            ["-s", str(tmp_path / "garbage.csv")],
            f"Error: input file {tmp_path / 'garbage.csv'} is binary, not a delimited text table",
        ),
        "extension": (
            ["-s", str(tmp_path / "flows.json")],
            f"Error: unsupported file type '.json' for {tmp_path / 'flows.json'} "
            "(use one of .csv, .tsv, .txt, .parquet, .pq, .npy)",
        ),
        "no target": (
            ["-s", str(tmp_path / "nolabel.csv")],
            f"Error: target column 'label' not found in {tmp_path / 'nolabel.csv'}; available columns: duration, "
            "service, flag (set data.target or pass --target)",
        ),
        "column count": (
            ["-s", str(tmp_path / "narrow.txt"), "--schema", str(REPO / "schema" / "nsl_kdd.yaml")],
            f"Error: input file {tmp_path / 'narrow.txt'} has 10 columns but schema 'nsl_kdd' expects 42 or 43 "
            "(columns in schema order; ignored columns (difficulty) may be left out)",
        ),
    }


@pytest.mark.parametrize(
    "case", ["missing", "empty", "corrupt parquet", "binary csv", "extension", "no target", "column count"]
)
def test_bad_input_exit_2_one_line_no_artifacts(project: Project, tmp_path: Path, case: str) -> None:
    args, line = _bad_files(tmp_path)[case]
    result = project.invoke("etl", *args)
    assert_error(result, 2, line)
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
    assert_error(
        result,
        2,
        f"Error: no row of {path} has target 'Result' equal to the normal value 'legit' (values seen: -1, 1) "
        "(set data.normal_value or pass --normal-value)",
    )
    assert not (project.artifacts / "etl").exists()


def test_target_hint_names_likely_column(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "phish.csv"
    _phishing_like().to_csv(path, index=False)
    result = project.invoke("etl", "-s", str(path))
    assert_error(
        result,
        2,
        f"Error: target column 'label' not found in {path}; available columns: having_IP_Address, URL_Length, "
        "SSLfinal_State, Result (pass --target Result or set data.target)",
    )


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
