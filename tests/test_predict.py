"""`netsec predict`: every accepted input layout, every refused input, outputs and their format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.project import Project
from tests.fixtures.trained import install
from tests.helpers import assert_error


@pytest.fixture(scope="module")
def flows(trained_artifacts: Path) -> pd.DataFrame:
    """The synthetic test split: every schema column, label included."""
    return pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(200)


def _reference(ready: Project, flows: pd.DataFrame) -> pd.DataFrame:
    path = ready.root / "ref.parquet"
    flows.to_parquet(path)
    result = ready.invoke("predict", str(path), "-o", str(ready.root / "ref_out.parquet"))
    assert result.exit_code == 0, result.output
    return pd.read_parquet(ready.root / "ref_out.parquet")


def _predict_json(ready: Project, path: Path, out: Path) -> dict:
    result = ready.invoke("predict", str(path), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _write_inputs(root: Path, flows: pd.DataFrame) -> dict[str, Path]:
    no_target = flows.drop(columns=["label"])
    paths = {
        "npy_unicode": root / "flows_u.npy",
        "npy_unicode_with_target": root / "flows_ut.npy",
        "npy_unicode_no_ignored": root / "flows_uni.npy",
        "npy_structured": root / "flows_s.npy",
        "csv": root / "flows.csv",
        "csv_with_target": root / "flows_t.csv",
        "tsv_no_header": root / "flows.tsv",
        "parquet": root / "flows.parquet",
    }
    np.save(paths["npy_unicode"], no_target.astype(str).to_numpy(dtype=str))
    np.save(paths["npy_unicode_with_target"], flows.astype(str).to_numpy(dtype=str))
    np.save(paths["npy_unicode_no_ignored"], no_target.drop(columns=["difficulty"]).astype(str).to_numpy(dtype=str))
    structured = no_target.drop(columns=["difficulty"]).to_records(index=False)
    np.save(paths["npy_structured"], structured.astype([(n, "U16" if structured.dtype[n].kind == "O" else structured.dtype[n]) for n in structured.dtype.names]))
    no_target.to_csv(paths["csv"], index=False)
    flows.to_csv(paths["csv_with_target"], index=False)
    flows.to_csv(paths["tsv_no_header"], index=False, header=False, sep="\t")
    no_target.to_parquet(paths["parquet"])
    return paths


def test_every_input_layout_gives_the_same_predictions(ready: Project, flows: pd.DataFrame) -> None:
    reference = _reference(ready, flows)
    assert set(reference["prediction"]) <= {0, -1} and len(reference) == 200
    assert (reference["label"] == np.where(reference["prediction"] == -1, "intrusion", "normal")).all()
    truth = np.where(flows["label"] == "normal", 0, -1)
    assert (reference["prediction"].to_numpy() == truth).mean() > 0.9
    for kind, path in _write_inputs(ready.root, flows).items():
        out = ready.root / f"out_{kind}.csv"
        data = _predict_json(ready, path, out)
        assert data["rows"] == 200, kind
        got = pd.read_csv(out)
        assert list(got.columns) == ["row", "prediction", "label", "probability"]
        assert (got["row"] == np.arange(200)).all()
        np.testing.assert_allclose(got["probability"], reference["probability"], rtol=1e-5, err_msg=kind)


def test_output_formats_and_default_location(ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "flows.csv"
    flows.to_csv(path, index=False)
    json_out = ready.root / "p.json"
    data = _predict_json(ready, path, json_out)
    records = json.loads(json_out.read_text())
    assert len(records) == 200 and set(records[0]) == {"row", "prediction", "label", "probability"}
    assert sum(r["prediction"] == -1 for r in records) == data["intrusions"]
    assert data["intrusions"] + data["normal"] == 200
    top = data["top"]
    assert len(top) == 10 and top == sorted(top, key=lambda t: (-t["probability"], t["row"]))
    result = ready.invoke("predict", str(path))
    assert result.exit_code == 0, result.output
    default = ready.artifacts / "predict" / "predictions.csv"
    assert len(pd.read_csv(default)) == 200 and (ready.artifacts / "predict" / "manifest.json").is_file()
    assert "most suspicious rows" in result.stdout and "intrusions" in result.stdout


def test_small_chunks_stream_the_same_result(ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "flows.npy"
    np.save(path, flows.drop(columns=["label"]).astype(str).to_numpy(dtype=str))
    whole = _predict_json(ready, path, ready.root / "a.csv")
    ready.update_config(**{"predict.chunk_size": 7, "predict.top": 3})
    chunked = _predict_json(ready, path, ready.root / "b.csv")
    assert pd.read_csv(ready.root / "a.csv").equals(pd.read_csv(ready.root / "b.csv"))
    assert chunked["top"] == whole["top"][:3]


def _assert_refused(ready: Project, path: Path, message: str | re.Pattern[str]) -> None:
    """Exit 2 with `Error: <message>` (`{path}` filled in; a pattern must match the whole line)."""
    out = ready.root / "out.csv"
    result = ready.invoke("predict", str(path), "-o", str(out))
    assert_error(result, 2, message if isinstance(message, re.Pattern) else "Error: " + message.format(path=path))
    assert not out.exists() and not list(ready.root.glob(".out.csv*"))


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_bad_inputs_exit_2_with_one_line_and_no_output(ready: Project, flows: pd.DataFrame) -> None:
    root = ready.root
    _assert_refused(ready, root / "missing.npy", "input file not found: {path} (check the path)")
    marker = root / "PWNED"
    np.save(root / "evil.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    _assert_refused(
        ready,
        root / "evil.npy",
        "refusing to load {path}: its dtype holds Python objects and would need pickle "
        "(save a numeric, unicode or structured array (np.save(..., allow_pickle=False)))",
    )
    assert not marker.exists()
    (root / "corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage that is not a header")
    corrupt = re.escape(str(root / "corrupt.npy"))
    _assert_refused(ready, root / "corrupt.npy", re.compile(rf"Error: {corrupt} is not a valid \.npy file \(.+\)"))
    np.save(root / "short.npy", flows.drop(columns=["label"]).astype(str).to_numpy(dtype=str))
    data = (root / "short.npy").read_bytes()
    (root / "short.npy").write_bytes(data[: len(data) // 2])
    short = re.escape(str(root / "short.npy"))
    _assert_refused(ready, root / "short.npy", re.compile(rf"Error: {short} is corrupt or truncated \(its header claims [\d,]+ bytes of data for shape \(200, 42\), the file holds [\d,]+\)"))
    np.save(root / "narrow.npy", flows.iloc[:, :5].astype(str).to_numpy(dtype=str))
    _assert_refused(
        ready,
        root / "narrow.npy",
        "input file {path} has 5 columns but schema 'nsl_kdd' expects 41 or 42 or 43 "
        "(columns in schema order; the target 'label' and ignored columns (difficulty) may be left out)",
    )
    np.save(root / "numbers.npy", np.zeros((10, 42)))
    _assert_refused(
        ready,
        root / "numbers.npy",
        "{path} is a numeric float64 array but columns protocol_type, service, flag are categorical "
        "(save a unicode (str) or structured array)",
    )
    structured = np.zeros(3, dtype=[("duration", "f8"), ("bogus", "f8")])
    np.save(root / "unknown.npy", structured)
    _assert_refused(ready, root / "unknown.npy", "{path} has unknown columns: bogus (use the schema's column names)")
    flows.rename(columns={"service": "servise"}).to_csv(root / "unknown.csv", index=False)
    _assert_refused(ready, root / "unknown.csv", "{path} has unknown columns: servise (use the schema's column names)")
    (root / "empty.csv").write_bytes(b"")
    _assert_refused(ready, root / "empty.csv", "input file {path} is empty")
    flows.head(0).to_csv(root / "header_only.csv", index=False)
    _assert_refused(ready, root / "header_only.csv", "input file {path} holds no data rows")
    bad = flows.copy().astype({"src_bytes": object})
    bad.loc[bad.index[5], "src_bytes"] = "lots"
    bad.to_csv(root / "bad_value.csv", index=False)
    _assert_refused(
        ready,
        root / "bad_value.csv",
        "{path}: column 'src_bytes' row 5: 'lots' is not a number (numerical columns must hold numbers)",
    )
    (root / "broken.parquet").write_bytes(b"PAR1 not really")
    broken = re.escape(str(root / "broken.parquet"))
    _assert_refused(
        ready,
        root / "broken.parquet",
        re.compile(rf"Error: cannot read Parquet file {broken}: .+ \(is it a complete Parquet file\?\)"),
    )
    _assert_refused(ready, root / "flows.xlsx", "input file not found: {path} (check the path)")
    (root / "flows.xlsx").write_bytes(b"x")
    _assert_refused(
        ready,
        root / "flows.xlsx",
        "unsupported file type '.xlsx' for {path} (use one of .csv, .tsv, .txt, .parquet, .pq, .npy)",
    )


def test_unsupported_output_suffix(ready: Project, flows: pd.DataFrame) -> None:
    flows.to_csv(ready.root / "flows.csv", index=False)
    result = ready.invoke("predict", str(ready.root / "flows.csv"), "-o", str(ready.root / "out.xlsx"))
    assert result.exit_code == 2 and "unsupported output type '.xlsx'" in result.stderr


def test_predict_before_train_names_the_command(project: Project, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    result = project.invoke("predict", str(tmp_path / "x.npy"))
    assert result.exit_code == 2
    assert "run `netsec train` before `netsec predict`" in result.stderr


@pytest.fixture(scope="module")
def numeric_artifacts(tmp_path_factory: pytest.TempPathFactory, tracking_db: Path) -> Path:
    """An all-numeric, phishing-like project (features in {-1, 0, 1}, target Result, 1 = normal)."""
    from netsec_cli.config import load_config
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform
    from tests.fixtures.project import small_config

    root = tmp_path_factory.mktemp("numeric")
    rng = np.random.default_rng(1)
    features = rng.choice([-1, 0, 1], size=(800, 6))
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(6)])
    frame["Result"] = np.where(features[:, 0] + features[:, 1] > 0, 1, -1)
    frame.to_csv(root / "sites.tsv", sep="\t", index=False)
    import yaml

    raw = small_config(root, tracking_db, **{"tracking.enabled": False, "data.target": "Result", "data.normal_value": 1, "data.drop_columns": []})
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(raw))
    config = load_config(root / "config" / "config.yaml")
    run_etl(config, source=str(root / "sites.tsv"))
    run_transform(config)
    run_train(config)
    return config.artifacts_dir


def test_numeric_only_npy_with_and_without_target(project: Project, numeric_artifacts: Path) -> None:
    project.update_config(**{"data.target": "Result", "data.normal_value": 1, "data.drop_columns": []})
    install(project, numeric_artifacts)
    test = pd.read_parquet(numeric_artifacts / "etl" / "test.parquet")
    np.save(project.root / "x.npy", test.drop(columns=["Result"]).to_numpy(dtype=np.float64))
    np.save(project.root / "xt.npy", test.to_numpy(dtype=np.int64))
    a = _predict_json(project, project.root / "x.npy", project.root / "a.parquet")
    b = _predict_json(project, project.root / "xt.npy", project.root / "b.parquet")
    assert a["rows"] == b["rows"] == len(test)
    got = pd.read_parquet(project.root / "a.parquet")
    assert got.equals(pd.read_parquet(project.root / "b.parquet"))
    truth = np.where(test["Result"] == 1, 0, -1)
    assert (got["prediction"].to_numpy() == truth).mean() > 0.95


def _messy_unicode(flows: pd.DataFrame) -> np.ndarray:
    """The flows (no target) as a unicode array with gaps: missing-value tokens in numeric and
    categorical columns, whole rows of missing numerics, repeated rows with gaps, unseen categories."""
    table = flows.drop(columns=["label"]).astype(str).to_numpy(dtype="U32")
    columns = list(flows.drop(columns=["label"]).columns)
    rng = np.random.default_rng(7)
    numeric = [columns.index(c) for c in ("src_bytes", "dst_bytes", "count", "srv_count", "dst_host_count")]
    for token in ("", "?", "nan", "NA", "null", "NaN"):
        table[rng.integers(0, len(table), 12)[:, None], np.array(numeric)[rng.integers(0, len(numeric), 1)]] = token
    table[3, [columns.index(c) for c in columns if c not in ("protocol_type", "service", "flag", "difficulty")]] = ""
    table[40:60] = table[150:160] = table[20]  # duplicated rows with a gap, in several chunks
    table[[20, *range(40, 60), *range(150, 160)], columns.index("src_bytes")] = "?"
    table[5, columns.index("service")] = "never_seen_service"
    table[6, columns.index("protocol_type")] = "?"
    table[7, columns.index("flag")] = ""
    table[8, columns.index("flag")] = "S9"
    return table


def test_fast_transform_equals_sklearn_transform(trained_artifacts: Path, flows: pd.DataFrame) -> None:
    from netsec_cli.preprocessing import (
        fast_transform,
        load_preprocessor,
        transform_features,
    )
    from netsec_cli.schema import Schema
    from netsec_cli.sources.tabular import open_input
    from netsec_cli.scoring import Model, features

    schema = Schema.load(trained_artifacts / "transform" / "schema.yaml")
    preprocessor = load_preprocessor(trained_artifacts / "transform" / "preprocessor.skops")
    fast = fast_transform(preprocessor)
    assert fast is not None, "the netsec preprocessor should take the fast path"
    path = trained_artifacts.parent / "messy.npy"
    np.save(path, _messy_unicode(flows))
    model = Model(schema=schema, preprocessor=preprocessor, detector=None, threshold=0.5, fast=fast)
    chunks = list(open_input(path, schema, 64).chunks())
    assert [len(c) for c in chunks] == [64, 64, 64, 8]
    gaps = sum(int(np.isnan(c.numeric).any(axis=1).sum()) for c in chunks)
    assert gaps > 40
    for chunk in chunks:
        frame = chunk.frame()
        expected = transform_features(preprocessor, frame)
        got = features(model, chunk)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert np.array_equal(got, expected), np.argwhere(got != expected)[:5]
        assert not np.isnan(got).any()
    first = chunks[0].frame()
    assert np.isnan(first.loc[3, "duration"]) and first["service"].isna().sum() == 0
    assert first.loc[6, "protocol_type"] != first.loc[6, "protocol_type"]  # "?" is missing
    assert first.loc[5, "service"] == "never_seen_service"


def test_block_parse_equals_per_column_parse(trained_artifacts: Path, flows: pd.DataFrame) -> None:
    from netsec_cli.schema import Schema
    from netsec_cli.sources.tabular.chunks import (
        _parse_numeric_block,
        conform,
        numeric_features,
    )

    schema = Schema.load(trained_artifacts / "transform" / "schema.yaml")
    table = _messy_unicode(flows)
    table[9, 0] = "1e3"
    table[10, 0] = " 2.5"  # spaces: Arrow refuses, so the per-column numpy path parses it
    table[11, 0] = "0.1000000000000000055511151231257827"
    layout = [c for c in schema.columns if c != schema.target]
    columns = {name: table[:, layout.index(name)] for name in schema.features}
    per_column = conform(Path("x.npy"), schema, columns, 0)
    assert per_column.numeric[9, 0] == 1000.0 and per_column.numeric[10, 0] == 2.5 and per_column.numeric[11, 0] == 0.1
    positions = [layout.index(n) for n in numeric_features(schema)]
    block = _parse_numeric_block(table, positions)
    assert block is None  # " 2.5" sends the whole block to the per-column path
    table[10, 0] = "2.5"
    block = _parse_numeric_block(table, positions)
    assert block is not None
    columns = {name: table[:, layout.index(name)] for name in schema.features}
    assert np.array_equal(block, conform(Path("x.npy"), schema, columns, 0).numeric, equal_nan=True)
    reference = np.array(
        [[np.nan if v in ("", "?", "NA", "null") else float(v) for v in table[:, p]] for p in positions]
    ).T
    assert np.array_equal(block, reference, equal_nan=True)


def test_other_preprocessor_structures_use_sklearn(ready: Project, flows: pd.DataFrame) -> None:
    from netsec_cli.config import TransformConfig
    from netsec_cli.preprocessing import fast_transform, feature_frame, fit_preprocessor
    from netsec_cli.schema import Schema

    schema = Schema.load(ready.artifacts / "transform" / "schema.yaml")
    grouped = fit_preprocessor(schema, TransformConfig(max_categories=3), feature_frame(schema, flows))
    assert fast_transform(grouped) is None
    assert fast_transform(fit_preprocessor(schema, TransformConfig(scaler="none"), feature_frame(schema, flows))) is not None


def test_npy_is_read_in_bounded_blocks(ready: Project, flows: pd.DataFrame) -> None:
    from netsec_cli.schema import Schema
    from netsec_cli.sources.tabular import CHUNK_BYTES, chunk_rows, open_input

    schema = Schema.load(ready.artifacts / "transform" / "schema.yaml")
    assert chunk_rows(100_000, 42 * 32) == CHUNK_BYTES // (42 * 32) < 100_000
    assert chunk_rows(7, 42 * 32) == 7
    path = ready.root / "f.npy"
    table = flows.drop(columns=["label"]).astype(str).to_numpy(dtype=str)
    np.save(path, table)
    chunks = list(open_input(path, schema, 50).chunks())
    assert [(c.start, len(c)) for c in chunks] == [(0, 50), (50, 50), (100, 50), (150, 50)]
    np.save(path, np.asfortranarray(table))
    fortran = list(open_input(path, schema, 50).chunks())
    for a, b in zip(chunks, fortran, strict=True):
        assert np.array_equal(a.numeric, b.numeric, equal_nan=True)
    np.save(path, table)
    full = path.read_bytes()
    path.write_bytes(full[: len(full) - 10])
    cut = re.escape(str(path))
    _assert_refused(ready, path, re.compile(rf"Error: {cut} is corrupt or truncated \(its header claims [\d,]+ bytes of data for shape \(200, 42\), the file holds [\d,]+\)"))
