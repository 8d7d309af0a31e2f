"""`netsec train` above `model.max_in_memory_rows`: the training split read in chunks from its memmap,
the threshold chosen on a seeded sample, and the same model as the in-memory path on small data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netsec_cli.config import load_config
from netsec_cli.models import choose_threshold, fit_detector, load_detector
from netsec_cli.models.rows import gather, read_block, score_in_chunks
from netsec_cli.models.split import early_stopping_rows, sample_rows
from tests.fixtures.project import Project
from tests.helpers import assert_error


def _matrix(rows: int, categorical: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Float32 features with gaps (and a category-code column), int8 labels, as transform writes them."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, 8)).astype(np.float32)
    x[:, 2] = rng.integers(0, 6, rows)
    x[rng.random(x.shape) < 0.03] = np.nan
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) * (np.nan_to_num(x[:, 2]) - 2) + rng.normal(size=rows) > 0.8).astype(np.int8)
    types = ["q", "q", "c" if categorical else "q", "q", "q", "q", "q", "q"]
    return x, y, types


def _memmap(tmp_path: Path, x: np.ndarray) -> np.ndarray:
    np.save(tmp_path / "X.npy", x)
    return np.load(tmp_path / "X.npy", mmap_mode="r")


@pytest.mark.parametrize("categorical", [False, True], ids=["numeric", "native-categorical"])
@pytest.mark.parametrize("chunk_rows", [1000, 1_000_000])
def test_chunked_fit_from_a_memmap_equals_the_in_memory_fit(
    project: Project, tmp_path: Path, categorical: bool, chunk_rows: int
) -> None:
    x, y, types = _matrix(6000, categorical)
    options = load_config(project.config_path).model
    in_memory = fit_detector(options, x, y, types)
    chunked = fit_detector(options, _memmap(tmp_path, x), y, types, chunk_rows=chunk_rows)
    assert chunked.detector.best_iteration == in_memory.detector.best_iteration
    assert (chunked.fit_rows, chunked.validation_rows) == (in_memory.fit_rows, in_memory.validation_rows) == (5400, 600)
    assert chunked.validation_roc_auc == pytest.approx(in_memory.validation_roc_auc, abs=1e-12)
    np.testing.assert_allclose(chunked.detector.predict_proba(x), in_memory.detector.predict_proba(x), rtol=0, atol=1e-6)
    assert chunked.detector.booster.feature_types == (types if categorical else None)


def test_rows_read_from_a_memmap_equal_the_array(tmp_path: Path) -> None:
    x, y, _ = _matrix(2503, categorical=False)
    mapped = _memmap(tmp_path, x)
    np.testing.assert_array_equal(read_block(mapped, 1000, 1700), x[1000:1700])
    np.testing.assert_array_equal(read_block(mapped, 2500, 9999), x[2500:])
    rows = np.sort(np.random.default_rng(1).choice(len(x), 700, replace=False))
    for chunk in (1, 97, 5000):
        np.testing.assert_array_equal(gather(mapped, rows, chunk), x[rows])
    scores = score_in_chunks(lambda block: np.nansum(block, axis=1).astype(np.float64), mapped, 256)
    np.testing.assert_allclose(scores, np.nansum(x, axis=1), rtol=1e-6)


def test_sample_and_early_stopping_rows_are_seeded_sorted_and_stratified() -> None:
    y = (np.random.default_rng(2).random(20_000) < 0.1).astype(np.int8)
    sample = sample_rows(y, 3000, seed=42)
    assert len(sample) == 3000 and np.all(np.diff(sample) > 0)
    np.testing.assert_array_equal(sample, sample_rows(y, 3000, seed=42))
    assert not np.array_equal(sample, sample_rows(y, 3000, seed=43))
    assert abs(y[sample].mean() - y.mean()) < 0.002
    np.testing.assert_array_equal(sample_rows(y, 50_000, seed=42), np.arange(len(y)))
    fit_rows, val_rows = early_stopping_rows(y, 0.1, seed=42)
    assert len(val_rows) == 2000 and np.all(np.diff(fit_rows) > 0) and np.all(np.diff(val_rows) > 0)
    assert np.intersect1d(fit_rows, val_rows).size == 0 and len(fit_rows) + len(val_rows) == len(y)
    assert abs(y[val_rows].mean() - y.mean()) < 0.002


def _prepare(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    assert project.invoke("transform").exit_code == 0


def _train(project: Project) -> tuple[dict, dict, np.ndarray]:
    """Train; return the result, model_info.json and the saved model's probabilities on X_test."""
    result = project.invoke("train", "--json", "--force")  # the chunk size alone would be skipped
    assert result.exit_code == 0, result.output
    folder = project.artifacts / "train"
    info = json.loads((folder / "model_info.json").read_text())
    detector = load_detector("xgboost", folder / "model.ubj", info["feature_types"])
    x_test = np.load(project.artifacts / "transform" / "X_test.npy")
    return json.loads(result.stdout), info, detector.predict_proba(x_test)


def test_train_above_the_limit_fits_the_same_model_and_thresholds_on_a_sample(project: Project) -> None:
    _prepare(project)
    whole, whole_info, whole_probability = _train(project)
    assert whole_info["external_memory"] is False and whole_info["threshold_sample_rows"] is None
    assert whole_info["engine"] == "local" and whole["engine"] == "local"

    for chunk in (1000, 1_000_000):
        project.update_config(**{"model.max_in_memory_rows": 1000, "predict.chunk_size": chunk})
        chunked, info, probability = _train(project)
        assert info["external_memory"] is True and info["threshold_sample_rows"] == 1000
        assert chunked["external_memory"] is True and chunked["threshold_sample_rows"] == 1000
        assert (chunked["train_rows"], chunked["validation_rows"]) == (whole["train_rows"], whole["validation_rows"])
        assert info["best_iteration"] == whole_info["best_iteration"]
        np.testing.assert_allclose(probability, whole_probability, rtol=0, atol=1e-6)
        assert chunked["metrics"]["roc_auc"] == pytest.approx(whole["metrics"]["roc_auc"], abs=1e-6)

    config = load_config(project.config_path)
    x = np.load(project.artifacts / "transform" / "X_train.npy")
    y = np.load(project.artifacts / "transform" / "y_train.npy")
    rows = sample_rows(y, 1000, config.model.seed)
    expected = choose_threshold(
        lambda xs, ys: fit_detector(config.model, xs, ys, info["feature_types"]).detector,
        x[rows],
        y[rows],
        configured="auto",
        budget=config.model.alert_budget,
        folds=config.model.cv_folds,
        seed=config.model.seed,
    )
    assert chunked["threshold"]["threshold"] == expected.threshold
    assert chunked["metrics"]["threshold"] == expected.threshold


def test_catboost_above_the_limit_is_refused(project: Project) -> None:
    _prepare(project)
    project.update_config(**{"model.type": "catboost", "model.max_in_memory_rows": 1000})
    rows = len(np.load(project.artifacts / "transform" / "y_train.npy"))
    assert_error(
        project.invoke("train"),
        2,
        f"Error: CatBoost trains in memory only: the training split has {rows} rows, more than model.max_in_memory_rows (1000) "
        "(use model.type: xgboost, or raise model.max_in_memory_rows if the machine has the memory)",
    )
    assert not (project.artifacts / "train").exists()


def test_tuning_above_the_limit_runs_on_the_same_seeded_sample(project: Project) -> None:
    from netsec_cli.models.tuning import study_name

    _prepare(project)
    project.update_config(**{"model.max_in_memory_rows": 1000, "model.hyperparameters.n_estimators": 20})
    result = project.invoke("train", "--tune", "--trials", "2", "--json")
    assert result.exit_code == 0, result.output
    tuning = json.loads(result.stdout)["tuning"]
    config = load_config(project.config_path)
    x = np.load(project.artifacts / "transform" / "X_train.npy")
    y = np.load(project.artifacts / "transform" / "y_train.npy")
    rows = sample_rows(y, 1000, config.model.seed)
    assert tuning["trials"] == 2
    assert tuning["study"] == study_name(config.model, tuning["metric"], x[rows], y[rows])
    assert tuning["study"] != study_name(config.model, tuning["metric"], x, y)
