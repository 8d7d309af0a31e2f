"""The operating threshold: the alert-budget quantile of out-of-fold scores, and its overrides."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config import load_config
from netsec_cli.models import alert_threshold, choose_threshold, fit_detector
from netsec_cli.models.threshold import out_of_fold
from tests.fixtures.project import Project
from tests.helpers import assert_error


@pytest.mark.parametrize("budget", [0.01, 0.02, 0.1, 0.3])
def test_at_most_the_budget_of_normal_rows_score_at_or_above_the_threshold(budget: float) -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(5000) < 0.3).astype(int)
    scores = np.where(y == 1, rng.beta(5, 2, len(y)), rng.beta(1, 8, len(y))).round(3)  # ties, as real scores have
    threshold = alert_threshold(scores, y, budget)
    normal = np.sort(scores[y == 0])
    assert (normal >= threshold).mean() <= budget
    below = normal[normal < threshold]
    assert (normal >= below.max()).mean() > budget  # the next lower score would exceed the budget


def _small_training_set() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from netsec_cli.sources.synthetic import generate_flows

    flows = generate_flows(1500, seed=4)
    y = (flows["label"] != "normal").to_numpy(dtype=np.int64)
    x = flows[["duration", "src_bytes", "dst_bytes", "count", "srv_count", "serror_rate"]].to_numpy(dtype=np.float64)
    return x, y, ["q"] * x.shape[1]


def test_threshold_comes_from_out_of_fold_scores_of_normal_training_rows(project: Project) -> None:
    x, y, types = _small_training_set()
    options = load_config(project.config_path).model

    def fit(xs: np.ndarray, ys: np.ndarray):  # noqa: ANN202
        return fit_detector(options, xs, ys, types).detector

    choice = choose_threshold(fit, x, y, configured="auto", budget=0.05, folds=4, seed=7)
    oof = out_of_fold(fit, x, y, 4, 7)
    assert choice.source == "alert_budget" and choice.alert_budget == 0.05 and choice.folds == 4
    assert choice.threshold == alert_threshold(oof, y, 0.05)
    assert (oof[y == 0] >= choice.threshold).mean() <= 0.05
    assert choice.oof_false_alarm_rate == round(float((oof[y == 0] >= choice.threshold).mean()), 6)
    assert choice.oof_recall == round(float((oof[y == 1] >= choice.threshold).mean()), 6)
    fixed = choose_threshold(fit, x, y, configured=0.7, budget=0.05, folds=4, seed=7)
    assert fixed.threshold == 0.7 and fixed.source == "config" and fixed.oof_recall is None


def _train(project: Project) -> dict:
    assert project.invoke("etl", "-s", "synthetic").exit_code == 0
    assert project.invoke("transform").exit_code == 0
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_reports_and_predict_uses_the_chosen_threshold(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    trained = _train(project)
    choice = trained["threshold"]
    assert choice["source"] == "alert_budget" and choice["alert_budget"] == 0.02 and choice["folds"] == 5
    assert 0 < choice["threshold"] < 1 and trained["metrics"]["threshold"] == choice["threshold"]
    info = json.loads((project.artifacts / "train" / "model_info.json").read_text())
    assert info["threshold"] == choice["threshold"] and info["threshold_choice"] == choice
    flows = project.root / "flows.csv"
    pd.read_parquet(project.artifacts / "etl" / "test.parquet").to_csv(flows, index=False)

    default = project.invoke("predict", str(flows), "-o", str(project.root / "a.csv"), "--json")
    assert json.loads(default.stdout)["threshold"] == choice["threshold"]
    out = pd.read_csv(project.root / "a.csv")
    assert ((out["probability"] >= choice["threshold"]) == (out["prediction"] == -1)).all()

    override = project.invoke("predict", str(flows), "-o", str(project.root / "b.csv"), "--threshold", "0.9", "--json")
    assert json.loads(override.stdout)["threshold"] == 0.9
    out = pd.read_csv(project.root / "b.csv")
    assert ((out["probability"] >= 0.9) == (out["prediction"] == -1)).all()


def test_a_configured_threshold_is_used_as_is(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False, "predict.threshold": 0.7})
    trained = _train(project)
    assert trained["threshold"] == {
        "threshold": 0.7,
        "source": "config",
        "alert_budget": None,
        "folds": None,
        "oof_recall": None,
        "oof_false_alarm_rate": None,
    }
    flows = project.root / "flows.csv"
    pd.read_parquet(project.artifacts / "etl" / "test.parquet").to_csv(flows, index=False)
    result = project.invoke("predict", str(flows), "-o", str(project.root / "a.csv"), "--json")
    assert json.loads(result.stdout)["threshold"] == 0.7


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model.alert_budget", 0, "model.alert_budget: input should be greater than 0"),
        ("model.alert_budget", 1.5, "model.alert_budget: input should be less than 0.5"),
    ],
)
def test_a_bad_alert_budget_stops_train_and_changes_nothing(
    ready: Project, key: str, value: float, message: str
) -> None:
    before = (ready.artifacts / "train" / "manifest.json").read_bytes()
    ready.update_config(**{key: value})
    assert_error(ready.invoke("train"), 2, f"Error: invalid config {ready.config_path}: {message}")
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == before
