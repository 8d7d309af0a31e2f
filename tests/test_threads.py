"""Issue 11, item 11: `compute.threads` is the thread count of fitting and scoring.

`auto` is the CPUs this process may run on (its affinity mask), not every core of the host; a
number is passed as it is: XGBoost's `n_jobs` when fitting and the loaded booster's `nthread`
(inplace_predict), CatBoost's `thread_count`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from netsec_cli.config import load_config
from netsec_cli.models import fit_detector, load_detector
from tests.fixtures.project import Project


def _nthread(booster: object) -> int:
    return int(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])  # type: ignore[attr-defined]


def _arrays() -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(np.int64)
    return x, y, ["q"] * 4


def _config(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  hyperparameters:\n    n_estimators: 20\n  catboost:\n    iterations: 20\n" + text)
    return load_config(path, load_env=False)


def test_auto_is_the_cpus_this_process_may_use(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    assert config.compute.threads == "auto"  # type: ignore[attr-defined]
    assert config.compute.thread_count == len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    assert config.model.threads == len(os.sched_getaffinity(0))  # type: ignore[attr-defined]


def test_auto_follows_the_affinity_mask_not_the_core_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pinned to one CPU (taskset, a cgroup cpuset) fits with one thread on any host."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    config = _config(tmp_path, "")
    x, y, types = _arrays()
    assert _nthread(fit_detector(config.model, x, y, types).detector.booster) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("threads", [1, 3])
def test_a_configured_count_reaches_the_fitted_and_the_loaded_booster(tmp_path: Path, threads: int) -> None:
    config = _config(tmp_path, f"compute:\n  threads: {threads}\n")
    x, y, types = _arrays()
    detector = fit_detector(config.model, x, y, types).detector  # type: ignore[attr-defined]
    assert _nthread(detector.booster) == threads
    path = tmp_path / "model.ubj"
    detector.save(path)
    loaded = load_detector("xgboost", path, types, threads=threads)
    assert _nthread(loaded.booster) == threads  # type: ignore[attr-defined]
    assert np.allclose(loaded.predict_proba(x), detector.predict_proba(x))


def test_catboost_gets_the_thread_count(tmp_path: Path) -> None:
    config = _config(tmp_path, "compute:\n  threads: 1\n")
    config.model.type = "catboost"  # type: ignore[attr-defined]
    x, y, types = _arrays()
    detector = fit_detector(config.model, x, y, types).detector  # type: ignore[attr-defined]
    assert detector.model.get_params()["thread_count"] == 1
    path = tmp_path / "model.cbm"
    detector.save(path)
    assert load_detector("catboost", path, types, threads=1).threads == 1  # type: ignore[attr-defined]


def test_predict_scores_with_the_configured_threads(ready: Project) -> None:
    from netsec_cli.scoring import load_model

    ready.update_config(**{"compute.threads": 1})
    model = load_model(load_config(ready.config_path))
    assert _nthread(model.detector.booster) == 1  # type: ignore[union-attr]


def test_the_repository_config_sets_threads_auto() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "config.yaml", load_env=False)
    assert config.compute.threads == "auto"
