"""`netsec train --tune`: Optuna trials as nested MLflow runs, best_params.yaml, --resume, bad options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests.fixtures.project import Project
from tests.helpers import assert_error


def _prepare(project: Project, **overrides: object) -> None:
    project.update_config(**{"model.cv_folds": 3, **overrides})
    assert project.invoke("etl", "--source", "synthetic").exit_code == 0
    assert project.invoke("transform").exit_code == 0


def _space_bounds() -> dict[str, tuple[float, float]]:
    """(low, high) of every tuned parameter, read from the search space itself."""
    import optuna

    from netsec_cli.models.search_space import xgboost_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study().ask()
    xgboost_space(trial)
    return {name: (dist.low, dist.high) for name, dist in trial.distributions.items()}  # type: ignore[attr-defined]


def _depth(node: dict) -> int:
    return 1 + max((_depth(child) for child in node.get("children", [])), default=-1)


def _study_trials(project: Project) -> dict[str, int]:
    import optuna

    storage = f"sqlite:///{project.artifacts / '.tuning' / 'study.db'}"
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}


def test_tune_logs_trials_as_child_runs_and_fits_the_best_params(project: Project, tracking_db: Path) -> None:
    from mlflow.tracking import MlflowClient
    from xgboost import Booster

    _prepare(project)
    result = project.invoke("train", "--tune", "--trials", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tuning = data["tuning"]
    assert tuning["tuned"] and tuning["trials"] == 3 and tuning["algorithm"] == "tpe" and tuning["folds"] == 3
    assert tuning["metric"] == "average_precision" and 0.5 < tuning["best_score"] <= 1.0

    folder = project.artifacts / "train"
    best = yaml.safe_load((folder / "best_params.yaml").read_text())
    bounds = _space_bounds()
    assert set(best) == set(bounds)
    assert all(bounds[k][0] <= v <= bounds[k][1] for k, v in best.items()), best
    assert best == tuning["best_params"]

    info = json.loads((folder / "model_info.json").read_text())
    assert {k: info["hyperparameters"][k] for k in best} == best
    assert info["hyperparameters"]["tree_method"] == "hist"  # configured, not tuned: kept
    assert info["tuning"]["tuned"] and info["tuning"]["trials"] == 3 and info["tuning"]["seconds"] > 0
    booster = Booster()
    booster.load_model(str(folder / "model.ubj"))
    assert booster.num_boosted_rounds() == info["best_iteration"] + 1 <= best["n_estimators"]
    dump = booster.get_dump(dump_format="json")
    assert max(_depth(json.loads(tree)) for tree in dump) <= best["max_depth"]

    client = MlflowClient(tracking_uri=f"sqlite:///{tracking_db}")
    parent = client.get_run(data["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.params["tuning.trials"] == "3"
    assert parent.data.params["model.max_depth"] == str(best["max_depth"])
    assert float(parent.data.params["model.learning_rate"]) == pytest.approx(best["learning_rate"])
    children = client.search_runs([parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{data['run_id']}'")
    assert len(children) == 3
    assert {c.info.status for c in children} == {"FINISHED"}
    scores = [c.data.metrics["cv_average_precision"] for c in children]
    assert max(scores) == pytest.approx(tuning["best_score"], abs=1e-6)
    assert all("model.max_depth" in c.data.params for c in children)
    assert "Trial" not in result.stderr and "optuna" not in result.stderr.lower()
    assert (project.artifacts / ".tuning" / "study.db").is_file()
    assert ".tuning" not in (folder / "manifest.json").read_text()


def test_resume_continues_the_study_and_a_plain_tune_starts_afresh(project: Project) -> None:
    _prepare(project, **{"tracking.enabled": False})
    first = project.invoke("train", "--tune", "--trials", "3", "--json")
    assert first.exit_code == 0, first.output
    name = json.loads(first.stdout)["tuning"]["study"]
    assert _study_trials(project) == {name: 3}

    resumed = project.invoke("train", "--resume", "--trials", "2", "--json")
    assert resumed.exit_code == 0, resumed.output
    tuning = json.loads(resumed.stdout)["tuning"]
    assert tuning["resumed"] and tuning["trials"] == 2 and tuning["study_trials"] == 5 and tuning["study"] == name
    assert _study_trials(project) == {name: 5}
    import optuna

    study = optuna.load_study(study_name=name, storage=f"sqlite:///{project.artifacts / '.tuning' / 'study.db'}")
    params = [t.params for t in study.trials]
    assert params[3] != params[0] and params[4] != params[1]  # the sampler is not replayed on resume

    fresh = project.invoke("train", "--tune", "--trials", "2", "--json")
    assert fresh.exit_code == 0, fresh.output
    assert not json.loads(fresh.stdout)["tuning"]["resumed"]
    assert _study_trials(project) == {name: 2}


def test_config_algorithm_makes_every_train_tune(project: Project) -> None:
    _prepare(
        project,
        **{"tracking.enabled": False, "model.optimization": {"algorithm": "random", "n_trials": 2, "timeout": None, "metric": "roc_auc"}},
    )
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    tuning = json.loads(result.stdout)["tuning"]
    assert tuning["tuned"] and tuning["algorithm"] == "random" and tuning["trials"] == 2 and tuning["metric"] == "roc_auc"
    assert (project.artifacts / "train" / "best_params.yaml").is_file()


def test_untuned_train_writes_no_best_params(project: Project) -> None:
    _prepare(project, **{"tracking.enabled": False})
    result = project.invoke("train", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tuning"]["tuned"] is False
    assert not (project.artifacts / "train" / "best_params.yaml").exists()
    assert not (project.artifacts / ".tuning").exists()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_zero_trials_is_a_usage_error_and_changes_nothing(project: Project) -> None:
    _prepare(project, **{"tracking.enabled": False})
    before = _tree(project.artifacts)
    result = project.invoke("train", "--tune", "--trials", "0")
    assert_error(result, 2, "Error: --trials must be at least 1, got 0")
    assert _tree(project.artifacts) == before


def test_tuning_plan_resolution() -> None:
    from netsec_cli.config import OptimizationConfig
    from netsec_cli.models import TuneRequest, tuning_plan

    assert tuning_plan(OptimizationConfig(), None) is None
    plan = tuning_plan(OptimizationConfig(), TuneRequest(trials=4))
    assert plan is not None and (plan.algorithm, plan.n_trials, plan.timeout, plan.resume) == ("tpe", 4, 600.0, False)
    plan = tuning_plan(OptimizationConfig(algorithm="random", n_trials=7, timeout=None), None)
    assert plan is not None and (plan.algorithm, plan.n_trials, plan.timeout) == ("random", 7, None)
