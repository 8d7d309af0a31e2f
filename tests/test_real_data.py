"""End to end on ../shared/data (skipped when absent): NSL-KDD and the phishing data set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.project import Project

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def test_nsl_kdd_train_20_percent_predict_test_plus(project: Project, shared_data: Path) -> None:
    project.update_config(**{"tracking.enabled": False, "model.hyperparameters.n_estimators": 150})
    assert project.invoke("etl", "--source", str(shared_data / "KDDTrain+_20Percent.txt")).exit_code == 0
    assert project.invoke("transform").exit_code == 0
    assert project.invoke("train").exit_code == 0
    out = project.root / "kdd.parquet"
    result = project.invoke("predict", str(shared_data / "KDDTest+.txt"), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 22544
    labels = pd.read_csv(shared_data / "KDDTest+.txt", header=None, usecols=[41])[41]
    predicted = pd.read_parquet(out)["prediction"]
    accuracy = ((labels != "normal").to_numpy() == (predicted == -1).to_numpy()).mean()
    assert accuracy > 0.75


def test_phishing_with_target_result(project: Project, shared_data: Path) -> None:
    project.update_config(
        **{"tracking.enabled": False, "data.target": "Result", "data.normal_value": 1, "data.drop_columns": []}
    )
    source = shared_data / "phishing_websites.tsv"
    assert project.invoke("etl", "--source", str(source)).exit_code == 0
    assert project.invoke("transform").exit_code == 0
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["accuracy"] > 0.95
    predicted = project.invoke("predict", str(source), "-o", str(project.root / "p.csv"), "--json")
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout)["rows"] == 11055
