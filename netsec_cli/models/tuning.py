"""Hyperparameter tuning: an Optuna study whose trials are scored by cross-validation on training data.

Each trial draws parameters from the model type's search space (`search_space`), merges them over
the configured ones and scores them by stratified k-fold cross-validation (`model.cv_folds`,
seeded with `model.seed`, the same folds for every trial) of `fit_detector` on the arrays it is
given, the training split: no test row is ever seen. After each fold the running mean is reported
to the trial, so a median pruner can stop a trial that is doing worse than the median of earlier
ones at the same fold. The sampler is TPE or random, seeded with `model.seed` plus the number of
trials already in the study (a resumed study does not replay the first run's draws).

The study lives in an SQLite file (the caller's `storage`). Its name is the model type, the metric
and a digest of the training data and of every setting a CV score depends on, so `resume`
continues the same study only while the scores stay comparable; without `resume` the file is
replaced by a fresh study.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.models.detector import fit_detector
from netsec_cli.models.search_space import search_space
from netsec_cli.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    import numpy as np
    import optuna

    from netsec_cli.config import ModelConfig, OptimizationConfig

log = logging.getLogger("netsec_cli.models.tuning")

DIRECTIONS = {"average_precision": "maximize", "roc_auc": "maximize", "f1": "maximize", "log_loss": "minimize"}


@dataclass(frozen=True)
class TuneRequest:
    """`netsec train --tune`: tune now; None fields fall back to `model.optimization`."""

    trials: int | None = None
    timeout: float | None = None
    resume: bool = False


@dataclass(frozen=True)
class TuningPlan:
    """What one tuning run does, resolved from the config and the request."""

    algorithm: str  # "tpe" | "random"
    n_trials: int
    timeout: float | None
    metric: str
    resume: bool = False


def tuning_plan(optimization: OptimizationConfig, request: TuneRequest | None) -> TuningPlan | None:
    """None when nothing asks for tuning; `--tune` uses TPE unless the config says random."""
    if request is None and optimization.algorithm == "none":
        return None
    request = request or TuneRequest()
    return TuningPlan(
        algorithm="random" if optimization.algorithm == "random" else "tpe",
        n_trials=request.trials or optimization.n_trials,
        timeout=request.timeout if request.timeout is not None else optimization.timeout,
        metric=optimization.metric,
        resume=request.resume,
    )


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial, as the per-trial callback sees it."""

    number: int
    state: str  # "COMPLETE" or "PRUNED"
    params: dict[str, Any]
    score: float | None  # the mean CV score (the running mean when pruned)
    fold_scores: list[float]
    best_iterations: list[int | None]
    seconds: float


@dataclass
class TuningSummary:
    """What tuning did (`tuned` False and the rest empty when train did not tune)."""

    tuned: bool = False
    algorithm: str | None = None
    metric: str | None = None
    folds: int | None = None
    trials: int = 0  # trials run now (complete + pruned)
    pruned: int = 0
    study_trials: int = 0  # trials in the study, earlier resumed runs included
    resumed: bool = False
    best_score: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    study: str | None = None


def cv_score(metric: str, y: np.ndarray, probability: np.ndarray) -> float:
    """One held-out fold's score: average precision, ROC-AUC, F1 at 0.5 or log loss."""
    from sklearn.metrics import average_precision_score, f1_score, log_loss, roc_auc_score

    if metric == "average_precision":
        return float(average_precision_score(y, probability))
    if metric == "roc_auc":
        return float(roc_auc_score(y, probability))
    if metric == "f1":
        return float(f1_score(y, probability >= 0.5, zero_division=0.0))
    return float(log_loss(y, probability, labels=[0, 1]))


def study_name(options: ModelConfig, metric: str, x: np.ndarray, y: np.ndarray) -> str:
    """`<type>-<metric>-<digest>`: the digest covers the data and every setting a CV score depends on."""
    digest = hashlib.sha256()
    for array in (x, y):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array.tobytes()))
    settings = {
        "parameters": options.parameters,
        "cv_folds": options.cv_folds,
        "seed": options.seed,
        "validation_fraction": options.validation_fraction,
        "early_stopping_rounds": options.early_stopping_rounds,
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return f"{options.type}-{metric}-{digest.hexdigest()[:16]}"


def tune(
    options: ModelConfig,
    x: np.ndarray,
    y: np.ndarray,
    types: list[str],
    *,
    plan: TuningPlan,
    storage: Path,
    progress: Progress = NO_PROGRESS,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> TuningSummary:
    """Run `plan.n_trials` trials (or until `plan.timeout` seconds, checked between trials) and
    return the best parameters (only the tuned ones) and how they scored."""
    import optuna

    _quiet_optuna()
    space = search_space(options.type)
    name = study_name(options, plan.metric, x, y)
    started = time.monotonic()
    study, resumed = _open_study(storage, name, plan, options.seed)
    earlier = len(study.trials)
    splits = _folds(y, options.cv_folds, options.seed)

    def objective(trial: optuna.Trial) -> float:
        params = {**options.parameters, **space(trial)}
        scores: list[float] = []
        iterations: list[int | None] = []
        for step, (fit_rows, held_out) in enumerate(splits):
            fitted = fit_detector(options, x[fit_rows], y[fit_rows], types, params)
            scores.append(cv_score(plan.metric, y[held_out], fitted.detector.predict_proba(x[held_out])))
            iterations.append(fitted.detector.best_iteration)
            trial.set_user_attr("fold_scores", scores)
            trial.set_user_attr("best_iterations", iterations)
            trial.report(sum(scores) / len(scores), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return sum(scores) / len(scores)

    with progress.task(f"tuning ({plan.metric})", total=plan.n_trials) as bar:

        def finished(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            record = _record(trial)
            bar.advance()
            if _completed(study):
                bar.describe(f"tuning (best {plan.metric} {study.best_value:.4f})")
            log.debug("trial %d %s: %s %s", record.number, record.state.lower(), plan.metric, record.score)
            if on_trial is not None:
                on_trial(record)

        study.optimize(objective, n_trials=plan.n_trials, timeout=plan.timeout, callbacks=[finished])
    run = study.trials[earlier:]
    summary = TuningSummary(
        tuned=True,
        algorithm=plan.algorithm,
        metric=plan.metric,
        folds=len(splits),
        trials=len(run),
        pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in run),
        study_trials=len(study.trials),
        resumed=resumed,
        best_score=round(float(study.best_value), 6),
        best_params=_plain(study.best_params),
        seconds=round(time.monotonic() - started, 3),
        study=name,
    )
    log.info(
        "tuning: %d trials (%d pruned) in %.1fs, best %s %.6f",
        summary.trials, summary.pruned, summary.seconds, plan.metric, summary.best_score,
    )
    return summary


def _open_study(storage: Path, name: str, plan: TuningPlan, seed: int) -> tuple[optuna.Study, bool]:
    """The study to continue (`resume`) or a fresh one in a fresh storage file."""
    import optuna

    storage.parent.mkdir(parents=True, exist_ok=True)
    if not plan.resume:
        for path in (storage, storage.with_name(storage.name + "-journal"), storage.with_name(storage.name + "-wal")):
            path.unlink(missing_ok=True)
    url = optuna.storages.RDBStorage(f"sqlite:///{storage}")
    existing = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url, include_best_trial=False)}
    if plan.resume and name not in existing:
        log.warning("no tuning study of this model type, metric and training data to resume: starting a new one")
    done = existing.get(name, 0)
    sampler_seed = seed + done
    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.RandomSampler(seed=sampler_seed)
        if plan.algorithm == "random"
        else optuna.samplers.TPESampler(seed=sampler_seed)
    )
    study = optuna.create_study(
        storage=url,
        study_name=name,
        direction=DIRECTIONS[plan.metric],  # type: ignore[arg-type]
        sampler=sampler,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        load_if_exists=True,
    )
    return study, name in existing


def _folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The stratified, seeded folds every trial is scored on (fewer when a class is that rare)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    folds = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def _completed(study: optuna.Study) -> bool:
    import optuna

    return any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def _record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    scores = [float(s) for s in trial.user_attrs.get("fold_scores", [])]
    value = trial.value if trial.value is not None else (sum(scores) / len(scores) if scores else None)
    seconds = trial.duration.total_seconds() if trial.duration else 0.0
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        params=_plain(trial.params),
        score=float(value) if value is not None else None,
        fold_scores=scores,
        best_iterations=list(trial.user_attrs.get("best_iterations", [])),
        seconds=round(seconds, 3),
    )


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's values as plain ints and floats (YAML- and JSON-safe)."""
    return {k: int(v) if isinstance(v, int) else float(v) if isinstance(v, float) else v for k, v in sorted(params.items())}


class _DropFailedTrial(logging.Filter):
    """Optuna logs a failing trial with its traceback; the error itself is raised and reported once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


def _quiet_optuna() -> None:
    """Optuna's warnings go through the project's logging; its per-trial INFO lines are dropped."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    logger = logging.getLogger("optuna.study._optimize")  # where Optuna logs failed trials
    if not any(isinstance(f, _DropFailedTrial) for f in logger.filters):
        logger.addFilter(_DropFailedTrial())
