"""CatBoost as `model.type`: .cbm round trip, SHAP contributions, and train → predict end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config import load_config
from netsec_cli.models import fit_detector, load_detector
from tests.fixtures.project import Project
from tests.test_xgboost_roundtrip import _features


def _catboost_options(project: Project) -> object:
    project.update_config(**{"model.type": "catboost", "model.catboost.iterations": 60})
    return load_config(project.config_path).model


@pytest.mark.parametrize("categorical", [True, False], ids=["cat-features", "numeric-only"])
def test_cbm_round_trip_gives_identical_probabilities(project: Project, tmp_path: Path, categorical: bool) -> None:
    from catboost import CatBoostClassifier

    x, y, types = _features(categorical)
    fitted = fit_detector(_catboost_options(project), x, y, types)
    detector = fitted.detector
    assert detector.kind == "catboost" and 0 < detector.best_iteration < 60
    assert fitted.fit_rows + fitted.validation_rows == len(y)
    trained = detector.predict_proba(x)
    path = tmp_path / "model.cbm"
    detector.save(path)
    assert path.read_bytes()[:4] == b"CBM1"  # CatBoost's own format, not a pickle

    loaded = load_detector("catboost", path, types)
    assert np.array_equal(loaded.predict_proba(x), trained)
    raw = CatBoostClassifier().load_model(str(path), format="cbm")
    expected = [j for j, kind in enumerate(types) if kind == "c"]
    assert list(raw.get_cat_feature_indices()) == expected
    assert 0.0 < trained.min() < 0.5 < trained.max() < 1.0
    importance = loaded.importance()
    assert importance.shape == (x.shape[1],) and importance.sum() > 0


@pytest.mark.parametrize("categorical", [True, False], ids=["cat-features", "numeric-only"])
def test_contributions_plus_expected_value_equal_the_margin(project: Project, categorical: bool) -> None:
    x, y, types = _features(categorical)
    detector = fit_detector(_catboost_options(project), x, y, types).detector
    rows = x[np.random.default_rng(3).choice(len(x), 50, replace=False)]
    probability = detector.predict_proba(rows)
    margin = np.log(probability / (1 - probability))
    for approximate in (False, True):
        contributions = detector.contributions(rows, approximate=approximate)
        assert contributions.shape == (50, x.shape[1] + 1)
        assert np.allclose(contributions.sum(axis=1), margin, atol=1e-6), approximate


def test_bad_catboost_parameter_is_a_config_error(project: Project) -> None:
    from netsec_cli.errors import ConfigError

    x, y, types = _features(False)
    options = _catboost_options(project)
    options.catboost = {**options.catboost, "grow_policy": "deep"}  # a key netsec does not check
    with pytest.raises(ConfigError, match="CatBoost rejected model.catboost"):
        fit_detector(options, x, y, types)


def test_corrupt_cbm_is_refused(tmp_path: Path) -> None:
    from netsec_cli.errors import InputError

    path = tmp_path / "model.cbm"
    path.write_bytes(b"not a model")
    with pytest.raises(InputError, match="is corrupt"):
        load_detector("catboost", path, [])


def test_train_and_predict_with_catboost(project: Project) -> None:
    project.update_config(**{"model.type": "catboost", "model.catboost.iterations": 60, "tracking.enabled": False})
    for verb in ("etl", "transform", "train"):
        result = project.invoke(verb)
        assert result.exit_code == 0, result.output
    train = project.artifacts / "train"
    assert (train / "model.cbm").is_file() and not (train / "model.ubj").exists()
    info = json.loads((train / "model_info.json").read_text())
    assert info["type"] == "catboost" and info["hyperparameters"]["iterations"] == 60
    assert 0.0 < info["threshold"] < 1.0 and info["best_iteration"] is not None
    assert json.loads((train / "metrics.json").read_text())["recall"] > 0.8

    flows = pd.read_parquet(project.artifacts / "etl" / "test.parquet").head(300)
    flows.drop(columns=["label"]).to_csv(project.root / "flows.csv", index=False)
    out = project.root / "out.csv"
    result = project.invoke("predict", str(project.root / "flows.csv"), "-o", str(out), "--explain", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    predictions = pd.read_csv(out, keep_default_na=False)
    truth = np.where(flows["label"] == "normal", 0, -1)
    assert (predictions["prediction"].to_numpy() == truth).mean() > 0.9
    flagged = predictions["prediction"] == -1
    assert data["intrusions"] == int(flagged.sum()) > 0
    assert (predictions.loc[flagged, "top_features"] != "").all()
    assert (predictions.loc[~flagged, "top_features"] == "").all()
    assert all(item["top_features"] for item in data["top"])


@pytest.mark.parametrize("end", ["low", "high"])
def test_catboost_search_space_bounds_are_accepted(project: Project, end: str) -> None:
    """Both corners of the tuning space give parameters CatBoost fits with (and honours)."""
    import optuna

    from netsec_cli.models.search_space import catboost_space

    probe = optuna.create_study().ask()
    catboost_space(probe)
    corner = {
        name: dist.choices[0] if hasattr(dist, "choices") else getattr(dist, end)
        for name, dist in probe.distributions.items()
    }
    params = {**_catboost_options(project).catboost, **catboost_space(optuna.trial.FixedTrial(corner))}
    assert params["bootstrap_type"] == "Bayesian" and params["depth"] == (4 if end == "low" else 8)
    params["iterations"] = 40  # its upper bound only costs time
    options = _catboost_options(project)
    options.early_stopping_rounds = 5
    x, y, types = _features(True)
    detector = fit_detector(options, x[:600], y[:600], types, params).detector
    assert detector.model.get_all_params()["bootstrap_type"] == "Bayesian"
    assert detector.model.get_all_params()["depth"] == params["depth"]
