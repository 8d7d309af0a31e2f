"""`netsec etl` in chunks: the same artifacts for every chunk size, today's exact split, dtypes settled across chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config.pipeline import SplitConfig
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.sources.tabular import read_table
from netsec_cli.stages import etl
from netsec_cli.stages.etl_split import split_membership, stratified_split
from tests.fixtures.project import REPO, Project
from tests.helpers import assert_error

SPLITS = ("raw", "train", "test")
NSL_KDD_SCHEMA = str(REPO / "schema" / "nsl_kdd.yaml")


def _etl(project: Project, chunk_size: int, *args: str) -> tuple[dict, dict[str, pd.DataFrame], str]:
    """Run etl with `predict.chunk_size`; its JSON result, its three tables and its schema.yaml text."""
    project.update_config(**{"predict.chunk_size": chunk_size})
    result = project.invoke("etl", *args, "--json", "--force")  # the chunk size alone would be skipped
    assert result.exit_code == 0, result.output
    folder = project.artifacts / "etl"
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in SPLITS}
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    return json.loads(result.stdout), tables, (folder / "schema.yaml").read_text()


def _assert_same_artifacts(project: Project, *args: str) -> tuple[dict, dict[str, pd.DataFrame], str]:
    small = _etl(project, 1000, *args)
    large = _etl(project, 1_000_000, *args)
    for name in SPLITS:
        pd.testing.assert_frame_equal(small[1][name], large[1][name])
    assert small[2] == large[2]
    keys = ("rows", "train_rows", "test_rows", "intrusion_share", "columns", "warnings")
    assert {k: small[0][k] for k in keys} == {k: large[0][k] for k in keys}
    return large


def _flows_with_late_surprises(rows: int = 3500) -> pd.DataFrame:
    """Synthetic flows whose `src_bytes` (int64) gets a gap only after row 3000 and a few unlabelled rows."""
    flows = generate_flows(rows, seed=13)
    flows["src_bytes"] = flows["src_bytes"].astype("float64")
    flows.loc[3100, "src_bytes"] = np.nan
    flows["label"] = flows["label"].astype(object)
    flows.loc[[5, 2500], "label"] = np.nan
    return flows


def test_synthetic_same_artifacts_for_any_chunk_size(project: Project) -> None:
    data, tables, _ = _assert_same_artifacts(project, "-s", "synthetic")
    assert len(tables["raw"]) == data["rows"] == 3000
    assert (len(tables["train"]), len(tables["test"])) == (2400, 600)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_same_artifacts_for_any_chunk_size(project: Project, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"flows{suffix}"
    flows = _flows_with_late_surprises()
    flows.to_csv(path, index=False) if suffix == ".csv" else flows.to_parquet(path, index=False)
    data, tables, schema = _assert_same_artifacts(project, "-s", str(path))
    assert data["rows"] == 3498 and data["warnings"] == ["dropped 2 rows with no value in target column 'label'"]
    expected = read_table(path)
    expected = expected[expected["label"].notna()].reset_index(drop=True)
    pd.testing.assert_frame_equal(tables["raw"], expected, check_dtype=True)
    assert "src_bytes: float64" in schema


def test_int_column_with_late_gaps_is_float64_in_every_file(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    _flows_with_late_surprises().to_csv(path, index=False)
    _, tables, schema = _assert_same_artifacts(project, "-s", str(path), "--schema", NSL_KDD_SCHEMA)
    assert "src_bytes: float64" in schema and "dst_bytes: int64" in schema
    for frame in tables.values():
        assert str(frame["src_bytes"].dtype) == "float64" and str(frame["dst_bytes"].dtype) == "int64"
    assert tables["raw"]["src_bytes"].isna().sum() == 1


def test_late_fraction_in_a_declared_int_column_is_refused(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    flows = generate_flows(2500, seed=3)
    flows["hot"] = flows["hot"].astype("float64")
    flows.loc[2200, "hot"] = 1.5
    flows.to_csv(path, index=False)
    project.update_config(**{"predict.chunk_size": 1000})
    result = project.invoke("etl", "-s", str(path), "--schema", NSL_KDD_SCHEMA)
    assert_error(result, 2, f"Error: column 'hot' of {path} holds fractional values; schema says int64")
    assert not (project.artifacts / "etl").exists()


def test_inferred_schema_promotes_late_fractions_and_refuses_late_text(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl, "INFER_ROWS", 1000)
    flows = generate_flows(2500, seed=3)
    flows["hot"] = flows["hot"].astype("float64")
    flows.loc[2200, "hot"] = 1.5
    fractions = tmp_path / "fractions.csv"
    flows.to_csv(fractions, index=False)
    _, tables, schema = _assert_same_artifacts(project, "-s", str(fractions))
    assert "hot: float64" in schema and tables["raw"].loc[2200, "hot"] == 1.5
    flows["hot"] = flows["hot"].astype(object)
    flows.loc[1700, "hot"] = "many"
    text = tmp_path / "text.csv"
    flows.to_csv(text, index=False)
    result = project.invoke("etl", "-s", str(text))
    assert_error(
        result,
        2,
        f"Error: {text}: column 'hot' row 1700: 'many' is not a number "
        "(column types were inferred from the first 1,000 rows; pass --schema to declare them)",
    )


def test_test_rows_are_todays_stratified_test_rows(project: Project) -> None:
    _, tables, _ = _etl(project, 700, "-s", "synthetic")
    raw = tables["raw"]
    labels = raw["label"].ne("normal").to_numpy()
    train_rows, test_rows = stratified_split(labels, 600, seed=42)
    pd.testing.assert_frame_equal(tables["test"], raw.iloc[np.sort(test_rows)].reset_index(drop=True))
    pd.testing.assert_frame_equal(tables["train"], raw.iloc[np.sort(train_rows)].reset_index(drop=True))


@pytest.mark.parametrize("seed", [0, 7, 42])
@pytest.mark.parametrize("share", [0.5, 0.13, 0.002])
def test_split_membership_equals_stratified_split(seed: int, share: float) -> None:
    labels = np.random.default_rng(seed + 100).random(5003) < share
    n_test = int(np.ceil(0.2 * len(labels)))
    _, expected = stratified_split(labels, n_test, seed)
    mask = split_membership(labels, SplitConfig(test_size=0.2, seed=seed, stratify=True), [])
    assert np.array_equal(np.flatnonzero(mask), np.sort(expected))


def test_split_membership_plain_fallback_is_todays_permutation() -> None:
    labels = np.zeros(400, dtype=bool)
    labels[17] = True
    warnings: list[str] = []
    mask = split_membership(labels, SplitConfig(test_size=0.25, seed=5, stratify=True), warnings)
    assert np.array_equal(np.flatnonzero(mask), np.sort(np.random.default_rng(5).permutation(400)[:100]))
    assert warnings == ["stratified split impossible: only 1 row(s) of one class; used a plain random split"]
