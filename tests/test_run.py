"""`netsec run`: every stage in order, stopping at the first failure with its exit code."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.fixtures.project import Project


def test_run_end_to_end_then_predict(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    result = project.invoke("run", "--source", "synthetic", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["validate"]["passed"] and data["train"]["metrics"]["accuracy"] > 0.9
    for stage in ("etl", "validate", "transform", "train"):
        assert (project.artifacts / stage / "manifest.json").is_file(), stage
    flows = pd.read_parquet(project.artifacts / "etl" / "test.parquet").drop(columns=["label"])
    np.save(project.root / "flows.npy", flows.astype(str).to_numpy(dtype=str))
    predicted = project.invoke("predict", str(project.root / "flows.npy"))
    assert predicted.exit_code == 0, predicted.output


def test_run_stops_at_failed_validation_with_exit_3(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False, "validation.max_null_ratio": 0.0})
    frame = pd.DataFrame({"a": [1.0, None] * 200, "b": np.arange(400.0), "label": ["normal", "attack"] * 200})
    frame.to_csv(project.root / "gappy.csv", index=False)
    result = project.invoke("run", "--source", str(project.root / "gappy.csv"))
    assert result.exit_code == 3, result.output
    assert "validation failed" in result.stderr and "later stages were not run" in result.stderr
    assert "failing columns" in result.stdout and "null_ratio" in result.stdout
    assert (project.artifacts / "validate" / "report.json").is_file()
    assert not (project.artifacts / "transform").exists() and not (project.artifacts / "train").exists()


def test_run_stops_at_bad_source_with_exit_2(project: Project) -> None:
    result = project.invoke("run", "--source", str(project.root / "nope.csv"))
    assert result.exit_code == 2
    assert "not found" in result.stderr
    assert not (project.artifacts / "train").exists()


def test_run_json_prints_the_failed_validation_report(project: Project) -> None:
    import json

    project.update_config(**{"tracking.enabled": False, "validation.max_null_ratio": 0.0})
    frame = pd.DataFrame({"a": [1.0, None] * 200, "b": np.arange(400.0), "label": ["normal", "attack"] * 200})
    frame.to_csv(project.root / "gappy.csv", index=False)
    result = project.invoke("run", "--source", str(project.root / "gappy.csv"), "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert any(f["column"] == "a" for f in report["failures"])


def test_run_takes_target_and_normal_value_for_a_coded_target(project: Project) -> None:
    import json

    project.update_config(**{"tracking.enabled": False, "data.drop_columns": []})
    rng = np.random.default_rng(0)
    features = rng.choice([-1, 0, 1], size=(600, 5))
    result_column = np.where(features[:, 0] + features[:, 1] > 0, -1, 1)
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(5)]).assign(Result=result_column)
    frame.to_csv(project.root / "sites.tsv", sep="\t", index=False)
    result = project.invoke("run", "--source", str(project.root / "sites.tsv"), "--target", "Result", "--normal-value", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["etl"]["target"] == "Result"
    assert 0.3 < summary["etl"]["intrusion_share"] < 0.7
    assert summary["train"]["metrics"]["accuracy"] > 0.9
