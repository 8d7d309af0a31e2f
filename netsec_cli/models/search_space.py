"""The hyperparameter search space of each model type, in one place (one function per `model.type`).

A space function asks an Optuna trial for the values it tunes and returns them; tuning merges
them over the configured parameters of the type (so e.g. `tree_method: hist` stays as configured).
To tune another model type, write its function and add it to `SEARCH_SPACES`.

XGBoost (`xgboost_space`):

| parameter          | range              | scale |
|--------------------|--------------------|-------|
| max_depth          | 3 – 10             | int   |
| learning_rate      | 0.02 – 0.3         | log   |
| n_estimators       | 100 – 800, step 50 | upper bound: early stopping picks the rounds |
| subsample          | 0.5 – 1.0          |       |
| colsample_bytree   | 0.5 – 1.0          |       |
| min_child_weight   | 0.5 – 20           | log   |
| reg_lambda         | 0.001 – 10         | log   |
| reg_alpha          | 0.001 – 10         | log   |
| scale_pos_weight   | 0.25 – 4           | log   |

CatBoost (`catboost_space`; `bootstrap_type` is fixed to Bayesian, the bootstrap
`bagging_temperature` acts on, and suggested so that it is part of the best parameters too):

| parameter           | range               | scale |
|---------------------|---------------------|-------|
| depth               | 4 – 8               | int (10 trains ~3x slower per tree) |
| learning_rate       | 0.02 – 0.3          | log   |
| iterations          | 200 – 1000, step 100 | upper bound: early stopping picks the rounds |
| l2_leaf_reg         | 0.5 – 30            | log   |
| random_strength     | 0.1 – 10            | log   |
| bagging_temperature | 0 – 5               |       |
| scale_pos_weight    | 0.25 – 4            | log   |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netsec_cli.errors import ConfigError

if TYPE_CHECKING:
    import optuna

SearchSpace = Callable[["optuna.Trial"], dict[str, Any]]


def xgboost_space(trial: optuna.Trial) -> dict[str, Any]:
    """XGBoost's tuned parameters (see the module table)."""
    return {
        "max_depth": trial.suggest_int("max_depth", 3, 10),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
        "scale_pos_weight": trial.suggest_float("scale_pos_weight", 0.25, 4.0, log=True),
    }


def catboost_space(trial: optuna.Trial) -> dict[str, Any]:
    """CatBoost's tuned parameters (see the module table)."""
    return {
        "depth": trial.suggest_int("depth", 4, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "iterations": trial.suggest_int("iterations", 200, 1000, step=100),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 30.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.1, 10.0, log=True),
        "bootstrap_type": trial.suggest_categorical("bootstrap_type", ["Bayesian"]),
        "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 5.0),
        "scale_pos_weight": trial.suggest_float("scale_pos_weight", 0.25, 4.0, log=True),
    }


SEARCH_SPACES: dict[str, SearchSpace] = {"xgboost": xgboost_space, "catboost": catboost_space}


def search_space(model_type: str) -> SearchSpace:
    """The space of `model_type`; ConfigError when it has none yet."""
    if model_type not in SEARCH_SPACES:
        raise ConfigError(
            f"no tuning search space for model.type {model_type!r}",
            hint=f"tuning supports {', '.join(SEARCH_SPACES)}; set model.optimization.algorithm: none",
        )
    return SEARCH_SPACES[model_type]
