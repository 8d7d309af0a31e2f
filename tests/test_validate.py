"""`netsec validate`: random splits pass; shifted or broken splits fail with exit 3 and a report."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from netsec_cli.artifacts import pipeline_lock, staged_stage
from netsec_cli.compute import LocalEngine
from netsec_cli.drift import benjamini_hochberg, chi2_test, column_drift, psi
from tests.fixtures.project import Project
from tests.helpers import assert_error


def _etl(project: Project, *args: str) -> None:
    result = project.invoke("etl", *args)
    assert result.exit_code == 0, result.output


def _report(project: Project) -> dict:
    return json.loads((project.artifacts / "validate" / "report.json").read_text())


def _rewrite_test_split(project: Project, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Republish artifacts/etl with `change` applied to test.parquet (manifest kept consistent)."""
    etl = project.artifacts / "etl"
    with pipeline_lock(project.artifacts), staged_stage(project.artifacts, "etl") as staging:
        for name in ("raw.parquet", "train.parquet", "schema.yaml"):
            shutil.copy(etl / name, staging / name)
        change(pd.read_parquet(etl / "test.parquet")).to_parquet(staging / "test.parquet", index=False)


SHIFTED = {"src_bytes", "count", "dst_host_count"}


def _shift(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        src_bytes=frame["src_bytes"] * 10 + 5000, count=frame["count"] + 300, dst_host_count=frame["dst_host_count"] // 4
    )


def test_random_split_of_synthetic_passes(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    result = project.invoke("validate")
    assert result.exit_code == 0, result.output
    assert "passed" in result.stdout
    report = _report(project)
    assert report["passed"] is True and report["failures"] == []
    assert report["drift_share"] < 0.05 and report["retrain_recommended"] is False
    assert report["columns_tested"] == 41
    assert {row["test"] for row in report["drift"]} == {"ks", "chi2"}


def test_random_split_of_real_nsl_kdd_passes(project: Project, shared_data: Path) -> None:
    _etl(project, "-s", str(shared_data / "KDDTrain+_20Percent.txt"))
    result = project.invoke("validate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["drifted"] is False and data["drifted_columns"] == []


def test_shifted_test_split_fails_with_table_and_exit_3(project: Project) -> None:
    project.update_config(**{"validation.drift_share": 0.03})
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _shift)
    result = project.invoke("validate")
    assert result.exit_code == 3, result.output
    assert "failing columns" in result.stdout
    table_rows = [line for line in result.stdout.splitlines() if "drift" in line and "src_bytes" in line]
    assert table_rows, result.stdout
    assert_error(
        result,
        3,
        "Error: validation failed (data set drifted): 3 failing check(s) on count, dst_host_count, src_bytes "
        f"(see {project.artifacts / 'validate' / 'report.json'})",
    )
    report = _report(project)
    assert report["passed"] is False and report["schema_ok"] is True and report["drifted"] is True
    assert set(report["drifted_columns"]) == SHIFTED
    assert report["retrain_recommended"] is True


def test_drift_under_the_share_only_warns(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _shift)
    result = project.invoke("validate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["drifted"] is False
    assert {w["column"] for w in data["warnings"] if w["check"] == "drift"} == SHIFTED
    assert data["retrain_recommended"] is True  # 3 of 41 columns ≥ the 0.07 retraining trigger


def test_fail_on_drift_false_passes_a_drifted_data_set(project: Project) -> None:
    project.update_config(**{"validation.drift_share": 0.03, "validation.fail_on_drift": False})
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _shift)
    result = project.invoke("validate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["drifted"] is True and data["passed"] is True and data["failures"] == []


def test_missing_column_is_a_schema_failure(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, lambda f: f.drop(columns="service"))
    result = project.invoke("validate", "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["schema_ok"] is False
    assert {"column": "service", "check": "missing_column", "detail": "absent from the test split"} in data["failures"]
    assert _report(project)["passed"] is False
    assert "service" in result.stderr


def test_dtype_nulls_and_unseen_values(project: Project) -> None:
    _etl(project, "-s", "synthetic")

    def damage(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.assign(duration=frame["duration"].astype("float64") + 0.5)
        frame.loc[frame.index[: len(frame) // 2], "dst_bytes"] = None
        frame.loc[frame.index[:3], "service"] = "gopher_new"
        return frame

    _rewrite_test_split(project, damage)
    result = project.invoke("validate", "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    failed = {(f["column"], f["check"]) for f in data["failures"]}
    assert ("duration", "dtype") in failed and ("dst_bytes", "dtype") in failed
    assert ("dst_bytes", "null_ratio") in failed
    unseen = [w for w in data["warnings"] if w["check"] == "unseen_values"]
    assert unseen[0]["column"] == "service" and "gopher_new" in unseen[0]["detail"]
    assert ("service", "unseen_values") not in failed


def test_report_replaced_on_each_run(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    assert project.invoke("validate").exit_code == 0
    assert _report(project)["passed"] is True
    _rewrite_test_split(project, lambda f: f.drop(columns="flag"))
    assert project.invoke("validate").exit_code == 3
    assert _report(project)["passed"] is False


def test_tampered_split_is_refused(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    path = project.artifacts / "etl" / "test.parquet"
    _shift(pd.read_parquet(path)).to_parquet(path, index=False)
    result = project.invoke("validate")
    assert result.exit_code == 2
    folder = project.artifacts / "etl"
    assert f"Error: etl artifacts in {folder} changed since they were written (test.parquet) (re-run `netsec etl`)" in result.stderr.splitlines()


def test_validate_before_etl_says_what_to_run(project: Project) -> None:
    result = project.invoke("validate")
    assert result.exit_code == 2
    assert "run `netsec etl` before `netsec validate`" in result.stderr
    assert not (project.artifacts / "validate").exists()


def test_psi_mode_flags_a_shifted_category(project: Project) -> None:
    project.update_config(**{"validation.categorical_test": "psi", "validation.drift_share": 0.01})
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, lambda f: f.assign(protocol_type=np.where(np.arange(len(f)) % 2, "udp", "icmp")))
    result = project.invoke("validate", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 3
    assert "protocol_type" in data["drifted_columns"]
    row = next(r for r in data["drift"] if r["column"] == "protocol_type")
    assert row["test"] == "psi" and row["statistic"] > 0.2


def test_benjamini_hochberg_matches_reference() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2]
    assert benjamini_hochberg(p) == pytest.approx([0.03, 0.06, 0.06, 0.03, 0.5, 0.24])
    rng = np.random.default_rng(0)
    sample = rng.random(50) ** 3
    assert benjamini_hochberg(sample) == pytest.approx(false_discovery_control(sample).tolist())
    assert benjamini_hochberg([]) == []


def test_correction_keeps_chance_findings_out() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=4000) for i in range(40)})
    results = column_drift(frame.iloc[:3000], frame.iloc[3000:], list(frame.columns), [], alpha=0.05)
    assert not any(r.drifted for r in results)
    assert sum(r.p_value < 0.05 for r in results) <= 6  # raw p-values would flag some by chance


def test_categorical_tests() -> None:
    same = pd.Series(["a", "b", "c"] * 500)
    shifted = pd.Series(["a"] * 1200 + ["b"] * 200 + ["c"] * 100)
    assert chi2_test(same, same)[1] == pytest.approx(1.0)
    assert chi2_test(same, shifted)[1] < 1e-10
    assert psi(same, same) == pytest.approx(0.0)
    assert psi(same, shifted) > 0.2
    assert chi2_test(pd.Series(["a"] * 10), pd.Series(["a"] * 5)) == (0.0, 1.0)


def _damage(frame: pd.DataFrame) -> pd.DataFrame:
    """Shifted columns, gaps in a float column, unseen services: every kind of figure in the report."""
    frame = _shift(frame)
    frame.loc[frame.index[::9], "serror_rate"] = np.nan
    frame.loc[frame.index[:3], "service"] = " gopher_new"
    return frame


def _report_without_time(project: Project) -> dict:
    return {k: v for k, v in _report(project).items() if k != "created"}


def test_report_is_the_same_whatever_the_chunk_size(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _damage)
    reports = []
    for chunk_size in (7, 1_000_000):
        project.update_config(**{"predict.chunk_size": chunk_size})
        project.invoke("validate", "--json", "--force")  # the chunk size alone would be skipped
        reports.append(_report_without_time(project))
    assert reports[0] == reports[1]
    assert reports[0]["sampling"] == {
        "sample_rows": 200_000,
        "seed": 42,
        "train_sampled": False,
        "test_sampled": False,
        "train_sample_size": reports[0]["train_rows"],
        "test_sample_size": reports[0]["test_rows"],
    }
    assert reports[0]["settings"]["sample_rows"] == 200_000
    assert {w["column"] for w in reports[0]["warnings"]} >= SHIFTED | {"service"}


def test_a_sampled_run_says_so_and_repeats_exactly(project: Project) -> None:
    project.update_config(**{"validation.sample_rows": 1000, "validation.drift_share": 0.03})
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _shift)
    reports = []
    for chunk_size in (100_000, 100_000, 13):
        project.update_config(**{"predict.chunk_size": chunk_size})
        assert project.invoke("validate", "--json", "--force").exit_code == 3  # a repeat, not a skip
        reports.append(_report_without_time(project))
    assert reports[0] == reports[1] == reports[2]
    sampling = reports[0]["sampling"]
    assert sampling["train_sampled"] is True and sampling["test_sampled"] is False
    assert sampling["train_sample_size"] == 1000 and sampling["test_sample_size"] == reports[0]["test_rows"] == 600
    assert reports[0]["train_rows"] == 2400  # counts cover every row, only KS sees the sample
    assert set(reports[0]["drifted_columns"]) == SHIFTED


def test_an_unsampled_run_equals_the_whole_frame_tests(project: Project) -> None:
    _etl(project, "-s", "synthetic")
    _rewrite_test_split(project, _damage)
    project.update_config(**{"predict.chunk_size": 50})
    project.invoke("validate", "--json")
    report = _report(project)
    train = pd.read_parquet(project.artifacts / "etl" / "train.parquet")
    test = pd.read_parquet(project.artifacts / "etl" / "test.parquet")
    tested = [row["column"] for row in report["drift"]]
    numerical = [r["column"] for r in report["drift"] if r["kind"] == "numerical"]
    categorical = [r["column"] for r in report["drift"] if r["kind"] == "categorical"]
    assert "serror_rate" in numerical and "service" in categorical and len(tested) == 41
    expected = column_drift(train, test, numerical, categorical, alpha=0.05)
    got = {row["column"]: row for row in report["drift"]}
    for r in expected:
        row = got[r.column]
        assert (row["statistic"], row["p_value"], row["p_adjusted"], row["drifted"]) == (
            round(r.statistic, 6),
            r.p_value,
            r.p_adjusted,
            r.drifted,
        )
    outside = test["service"].str.strip()
    outside = outside[~outside.isin(train["service"].unique())]
    unseen = next(w for w in report["warnings"] if w["check"] == "unseen_values")
    assert unseen["detail"].startswith(f"{len(outside)} test rows ({len(outside) / len(test):.2%})")


def test_streamed_counts_equal_the_frame_ones(tmp_path: Path) -> None:
    from netsec_cli.drift import value_counts
    from netsec_cli.split_stats import scan_parquet

    frame = pd.DataFrame(
        {
            "code": pd.array([3, None, 1, 3, 2, None, 1, 3], dtype="Int64"),
            "word": ["b", "a", None, "b", " a", "c", "a", "b"],
            "x": [0.5, np.nan, 1.5, 2.5, np.nan, 3.5, 4.5, 5.5],
        }
    )
    import pyarrow as pa
    import pyarrow.parquet as pq

    pandas_file, arrow_file = tmp_path / "pandas.parquet", tmp_path / "arrow.parquet"
    frame.to_parquet(pandas_file, index=False)  # Int64 with gaps reads back as Int64
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None), arrow_file)  # as float64
    for path in (pandas_file, arrow_file):
        whole = pd.read_parquet(path)
        for batch_size in (1, 3, 100):
            stats = scan_parquet(path, counted=["code", "word"], numeric=["x", "code"], sample_rows=1000, seed=0, batch_size=batch_size, mapper=LocalEngine())
            assert stats.rows == 8 and not stats.sampled
            assert stats.nulls == whole.isna().sum().to_dict()
            for column in ("code", "word"):
                pd.testing.assert_series_equal(stats.string_counts(column), value_counts(whole[column]), check_dtype=False)
            np.testing.assert_array_equal(stats.sample["x"], whole["x"].to_numpy(dtype=float))
            np.testing.assert_array_equal(stats.sample["code"], whole["code"].to_numpy(dtype=float, na_value=np.nan))
