"""`netsec transform`: preprocessor fitted on train only, safe save/load, arrays and errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config import TransformConfig
from netsec_cli.errors import InputError
from netsec_cli.preprocessing import (
    fast_transform,
    feature_frame,
    feature_types,
    fit_preprocessor,
    load_preprocessor,
    save_preprocessor,
    transform_features,
)
from netsec_cli.schema import Schema
from tests.fixtures.project import Project


def _frame(rows: int = 300, seed: int = 0) -> tuple[Schema, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "bytes": rng.lognormal(5, 2, rows),
            "count": rng.integers(0, 500, rows).astype(float),
            "proto": rng.choice(["tcp", "udp", "icmp"], rows),
            "flag": rng.choice(["SF", "S0", "REJ", "RSTO"], rows),
            "label": rng.choice(["normal", "attack"], rows),
        }
    )
    frame.loc[rng.choice(rows, 30, replace=False), "bytes"] = np.nan
    frame.loc[rng.choice(rows, 10, replace=False), "proto"] = None
    schema = Schema(
        columns=list(frame.columns),
        dtypes={"bytes": "float64", "count": "float64", "proto": "string", "flag": "string", "label": "string"},
        numerical=["bytes", "count"],
        categorical=["proto", "flag"],
        target="label",
        normal_value="normal",
    )
    return schema, frame


@pytest.mark.parametrize(
    "options",
    [
        TransformConfig(),
        TransformConfig(scaler="standard", max_categories=2),
        TransformConfig(scaler="standard", max_categories=2, categorical_encoding="onehot"),
        TransformConfig(categorical_encoding="onehot"),
        TransformConfig(scaler="none", imputer_max_rows=50),
    ],
)
def test_round_trip_gives_identical_transforms(tmp_path: Path, options: TransformConfig) -> None:
    schema, frame = _frame()
    features = feature_frame(schema, frame)
    fitted = fit_preprocessor(schema, options, features)
    path = tmp_path / "pre.skops"
    save_preprocessor(fitted, path)
    loaded = load_preprocessor(path)
    unseen = features.copy()
    unseen.loc[:5, "flag"] = "NEVER_SEEN"
    for data in (features, unseen):
        assert np.array_equal(transform_features(fitted, data), transform_features(loaded, data))
    assert not np.isnan(transform_features(loaded, unseen)).any()


def test_native_encoding_gives_one_code_column_per_category_column() -> None:
    schema, frame = _frame()
    features = feature_frame(schema, frame)
    native = fit_preprocessor(schema, TransformConfig(), features)
    onehot = fit_preprocessor(schema, TransformConfig(categorical_encoding="onehot"), features)
    unseen = features.copy()
    unseen.loc[:5, "flag"] = "NEVER_SEEN"
    codes = transform_features(native, unseen)
    assert codes.shape[1] == 4 and transform_features(onehot, unseen).shape[1] == 2 + 3 + 4
    assert feature_types(native) == ["q", "q", "c", "c"] and set(feature_types(onehot)) == {"q"}
    flag = codes[:, 3]
    assert (flag[:6] == -1).all() and set(flag[6:]) == {0.0, 1.0, 2.0, 3.0}  # REJ RSTO S0 SF, sorted
    assert np.array_equal(flag[6:], np.searchsorted(["REJ", "RSTO", "S0", "SF"], unseen["flag"][6:]))
    fast = fast_transform(native)
    assert fast is not None
    numeric = unseen[fast.numeric_columns].to_numpy(dtype=np.float64)
    categorical = [
        (unseen[c].fillna("").to_numpy(dtype=str), unseen[c].isna().to_numpy()) for c in fast.categorical_columns
    ]
    assert np.array_equal(fast.transform(numeric, categorical), codes)


def test_smote_with_native_encoding_is_a_config_error(project: Project) -> None:
    project.update_config(**{"transform.smote": True})
    result = project.invoke("etl", "--source", "synthetic")
    assert result.exit_code == 2
    assert "transform" in result.stderr and "needs categorical_encoding: onehot" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (project.artifacts / "etl").exists()


def test_knn_imputer_is_fitted_on_a_bounded_sample() -> None:
    schema, frame = _frame(rows=400)
    fitted = fit_preprocessor(schema, TransformConfig(imputer_max_rows=60), feature_frame(schema, frame))
    imputer = fitted.named_transformers_["num"].named_steps["impute"]
    assert type(imputer).__name__ == "KNNImputer"
    assert imputer._fit_X.shape[0] == 60


def test_untrusted_type_in_preprocessor_is_refused(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "evil.skops"
    sio.dump(FunctionTransformer(func=Path.unlink), path)
    with pytest.raises(InputError, match="untrusted types") as err:
        load_preprocessor(path)
    assert "netsec transform" in str(err.value)


def test_tampered_preprocessor_file_is_refused(tmp_path: Path) -> None:
    schema, frame = _frame()
    path = tmp_path / "pre.skops"
    save_preprocessor(fit_preprocessor(schema, TransformConfig(), feature_frame(schema, frame)), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema_json = json.loads(members["schema.json"])
    schema_json["__module__"], schema_json["__class__"] = "os", "system"
    members["schema.json"] = json.dumps(schema_json).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(InputError, match="refusing to load preprocessor"):
        load_preprocessor(path)
    (tmp_path / "junk.skops").write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="corrupt"):
        load_preprocessor(tmp_path / "junk.skops")


def test_cli_transform_writes_arrays_and_preprocessor(project: Project) -> None:
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    result = project.invoke("transform", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    folder = project.artifacts / "transform"
    names = json.loads((folder / "feature_names.json").read_text())
    x_train = np.load(folder / "X_train.npy", allow_pickle=False)
    y_test = np.load(folder / "y_test.npy", allow_pickle=False)
    assert x_train.shape == (data["train_rows"], len(names)) == (2400, data["output_features"])
    assert x_train.dtype == np.float32 and set(np.unique(y_test)) == {0, 1}
    assert {"preprocessor.skops", "schema.yaml", "manifest.json"} <= {p.name for p in folder.iterdir()}
    assert not list(project.artifacts.glob(".staging-*"))


def test_cli_transform_with_smote_balances_training_split_only(project: Project) -> None:
    project.update_config(**{"transform.smote": True, "transform.categorical_encoding": "onehot"})
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    result = project.invoke("transform", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    y_train = np.load(project.artifacts / "transform" / "y_train.npy")
    assert data["smote_added"] > 0 and np.bincount(y_train)[0] == np.bincount(y_train)[1]
    assert data["test_rows"] == 600


def test_transform_before_etl_names_the_command(project: Project) -> None:
    result = project.invoke("transform")
    assert result.exit_code == 2
    assert "run `netsec etl` before `netsec transform`" in result.stderr
    assert not (project.artifacts / "transform").exists()


def test_transform_refuses_modified_etl_artifacts(project: Project) -> None:
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    with (project.artifacts / "etl" / "train.parquet").open("ab") as handle:
        handle.write(b"x")
    result = project.invoke("transform")
    assert result.exit_code == 2
    assert "changed since they were written (train.parquet)" in result.stderr
    assert not (project.artifacts / "transform").exists()


def _reference(project: Project) -> tuple[dict[str, np.ndarray], pd.DataFrame, Schema]:
    """The whole-frame transform (scikit-learn on the whole splits, the code before chunking)."""
    from netsec_cli.config import load_config
    from netsec_cli.stages.transform import binary_target

    config = load_config(project.config_path)
    etl = project.artifacts / "etl"
    schema = Schema.load(etl / "schema.yaml")
    train, test = pd.read_parquet(etl / "train.parquet"), pd.read_parquet(etl / "test.parquet")
    train_x = feature_frame(schema, train)
    fitted = fit_preprocessor(schema, config.transform, train_x, seed=config.split.seed)
    arrays = {
        "X_train": transform_features(fitted, train_x),
        "X_test": transform_features(fitted, feature_frame(schema, test)),
        "y_train": binary_target(schema, train),
        "y_test": binary_target(schema, test),
    }
    return arrays, train_x, schema


def _arrays(project: Project) -> dict[str, np.ndarray]:
    folder = project.artifacts / "transform"
    return {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ("X_train", "X_test", "y_train", "y_test")}


@pytest.mark.parametrize(
    "options",
    [{}, {"transform.categorical_encoding": "onehot", "transform.scaler": "standard", "transform.imputer_max_rows": 500}],
)
def test_chunked_transform_equals_whole_frame_transform_whatever_the_chunk_size(project: Project, options: dict[str, object]) -> None:
    project.update_config(**options)
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    expected, train_x, schema = _reference(project)
    assert train_x[[c for c in schema.features if c in schema.numerical]].isna().any().any(), "the KNN imputer should work"
    for chunk_size in (1_000, 1_000_000):
        project.update_config(**{"predict.chunk_size": chunk_size})
        result = project.invoke("transform", "--json", "--force")  # the chunk size alone would be skipped
        assert result.exit_code == 0, result.output
        got = _arrays(project)
        for name, want in expected.items():
            assert got[name].dtype == want.dtype and np.array_equal(got[name], want), (chunk_size, name)
        loaded = load_preprocessor(project.artifacts / "transform" / "preprocessor.skops")
        assert np.array_equal(transform_features(loaded, train_x), expected["X_train"])
        info = json.loads((project.artifacts / "transform" / "transform.json").read_text())
        assert info["fit_rows"] == info["train_rows"] == 2400


def test_fit_uses_a_seeded_sample_above_fit_max_rows(project: Project) -> None:
    from netsec_cli.stages.transform import sample_rows

    project.update_config(**{"transform.fit_max_rows": 1_000})
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    whole, train_x, schema = _reference(project)
    chosen = sample_rows(2400, 1_000, seed=42)
    assert chosen is not None and len(np.unique(chosen)) == 1_000 and np.array_equal(chosen, sample_rows(2400, 1_000, seed=42))
    sampled = fit_preprocessor(schema, TransformConfig(fit_max_rows=1_000), train_x.iloc[chosen].reset_index(drop=True), seed=42)
    centres = []
    for chunk_size in (1_000, 1_000_000, 1_000):
        project.update_config(**{"predict.chunk_size": chunk_size})
        assert project.invoke("transform", "--force").exit_code == 0  # the chunk size alone would be skipped
        got = _arrays(project)
        assert np.array_equal(got["X_train"], transform_features(sampled, train_x))
        assert np.array_equal(got["y_train"], whole["y_train"]) and np.array_equal(got["y_test"], whole["y_test"])
        loaded = load_preprocessor(project.artifacts / "transform" / "preprocessor.skops")
        centres.append(loaded.named_transformers_["num"].named_steps["scale"].center_)
        assert json.loads((project.artifacts / "transform" / "transform.json").read_text())["fit_rows"] == 1_000
    assert all(np.array_equal(centre, centres[0]) for centre in centres)  # the same sample every run
    assert not np.array_equal(got["X_train"], whole["X_train"])  # ... which is not the whole split


def test_smote_above_fit_max_rows_is_refused(project: Project) -> None:
    from tests.helpers import assert_error

    project.update_config(
        **{"transform.smote": True, "transform.categorical_encoding": "onehot", "transform.fit_max_rows": 2_399}
    )
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    assert_error(
        project.invoke("transform"),
        2,
        "Error: SMOTE needs the whole training matrix in memory: the training split has 2,400 rows, more than "
        "transform.fit_max_rows (2,399) (set transform.smote: false, or raise transform.fit_max_rows if the "
        "matrix fits in memory)",
    )
    assert not (project.artifacts / "transform").exists()
    project.update_config(**{"transform.fit_max_rows": 2_400})
    assert project.invoke("transform").exit_code == 0


def test_knn_transform_equals_the_imputer_with_ties_and_empty_rows() -> None:
    from sklearn.impute import KNNImputer

    from netsec_cli.preprocessing.knn import BLOCK_ROWS, knn_transform

    rng = np.random.default_rng(3)
    fit = rng.integers(0, 4, (400, 5)).astype(float)  # few distinct values: many equal distances
    fit[rng.random(fit.shape) < 0.05] = np.nan
    rows = rng.integers(0, 4, (BLOCK_ROWS + 300, 5)).astype(float)
    rows[rng.random(rows.shape) < 0.3] = np.nan
    rows[7] = np.nan  # nothing to measure a distance with: the column means
    columns = [f"c{i}" for i in range(5)]
    for neighbours in (1, 3, 7):
        imputer = KNNImputer(n_neighbors=neighbours, keep_empty_features=True).fit(pd.DataFrame(fit, columns=columns))
        expected = imputer.transform(pd.DataFrame(rows, columns=columns))
        assert np.array_equal(knn_transform(imputer, rows, columns), expected)
