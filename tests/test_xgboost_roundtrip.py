"""A saved model predicts exactly what the trained one did: UBJSON round trip, native categoricals included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config import load_config
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.models import fit_detector, load_detector
from tests.fixtures.project import Project

CATEGORICAL = ("protocol_type", "service", "flag")


def _features(categorical: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Synthetic flows as a float matrix (categories as integer codes, NaN kept), labels and XGBoost types."""
    flows = generate_flows(1500, seed=21)
    y = (flows.pop("label") != "normal").to_numpy(dtype=np.int64)
    flows = flows.drop(columns=["difficulty"], errors="ignore")
    if not categorical:
        flows = flows.drop(columns=list(CATEGORICAL))
    columns = {}
    for name in flows.columns:
        if name in CATEGORICAL:
            codes = pd.Categorical(flows[name]).codes.astype(np.float64)
            columns[name] = np.where(codes < 0, np.nan, codes)
        else:
            columns[name] = pd.to_numeric(flows[name], errors="coerce").to_numpy(dtype=np.float64)
    x = np.column_stack(list(columns.values()))
    types = ["c" if name in CATEGORICAL else "q" for name in columns]
    return x, y, types


@pytest.mark.parametrize("categorical", [True, False], ids=["native-categorical", "numeric-only"])
def test_ubj_round_trip_gives_identical_probabilities(project: Project, tmp_path: Path, categorical: bool) -> None:
    import xgboost

    x, y, types = _features(categorical)
    detector = fit_detector(load_config(project.config_path).model, x, y, types).detector
    trained = detector.predict_proba(x)
    path = tmp_path / "model.ubj"
    detector.save(path)

    loaded = load_detector("xgboost", path, types)
    assert np.array_equal(loaded.predict_proba(x), trained)
    booster = xgboost.Booster()
    booster.load_model(str(path))
    assert booster.feature_types == (types if categorical else None)
    dmatrix = xgboost.DMatrix(x, feature_types=types, enable_categorical=categorical)
    assert np.array_equal(booster.predict(dmatrix), trained)
    assert 0.0 < trained.min() < 0.5 < trained.max() < 1.0
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    categorical_splits = sum(len(tree["categories_nodes"]) for tree in trees)
    assert (categorical_splits > 0) is categorical


@pytest.mark.parametrize("categorical", [True, False], ids=["native-categorical", "numeric-only"])
def test_contributions_plus_bias_equal_the_margin(project: Project, categorical: bool) -> None:
    x, y, types = _features(categorical)
    detector = fit_detector(load_config(project.config_path).model, x, y, types).detector
    rows = x[np.random.default_rng(3).choice(len(x), 50, replace=False)]
    margin = np.log(detector.predict_proba(rows) / (1 - detector.predict_proba(rows)))
    for approximate in (False, True):
        contributions = detector.contributions(rows, approximate=approximate)
        assert contributions.shape == (50, x.shape[1] + 1)
        assert np.allclose(contributions.sum(axis=1), margin, atol=1e-4), approximate
