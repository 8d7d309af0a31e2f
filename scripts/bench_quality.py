"""Quality benchmark on the real data in ../shared/data (prints SKIP and exits 0 when absent).

1. NSL-KDD: `netsec` stages (etl → transform → train, the repository's config/config.yaml) on
   KDDTrain+_20Percent.txt, then `run_predict` on KDDTest+.txt; accuracy, precision, detection rate
   (recall), false-alarm rate (share of normal rows flagged) and F1 of the predictions against
   KDDTest+'s labels (1 = intrusion), at the threshold train chose from the alert budget. A plain XGBoost (default
   hyperparameters, categorical columns as ordinal codes, the whole training file) is trained and
   scored in the same run.
2. Phishing: the stages on phishing_websites.tsv (target `Result`, 1 = legitimate) with the
   config's stratified split; scores on the test split, and the plain XGBoost on the same split.

`--seeds 42,1,2` repeats both with split.seed = model.seed = each seed (the phishing split, the
NSL-KDD train/test split of the training file, the early-stopping slice and XGBoost's
subsampling all change) and prints every run, then the mean and minimum accuracy.
`--tune 30` also trains each with `netsec train --tune --trials 30` (Optuna, cross-validated on
the training split only) and prints the scores and the tuning time.
Every run happens in a temporary project folder; MLflow tracking is switched off.

    .venv/bin/python scripts/bench_quality.py [--seeds 42,1,2,3,4] [--tune 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
Scores = dict[str, float]


def _config(root: Path, seed: int, **data: Any) -> Any:
    from netsec_cli.config import load_config

    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    raw["paths"]["root"] = str(root)
    raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
    raw["tracking"]["enabled"] = False
    raw["data"].update(data)
    raw["split"]["seed"] = seed
    raw["model"]["seed"] = seed
    (root / "config").mkdir(parents=True, exist_ok=True)
    path = root / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def _scores(y_true: Any, y_pred: Any) -> Scores:
    """Accuracy, precision, detection rate (recall), false-alarm rate (normal rows flagged) and F1."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    normal = y_true == 0
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred)),
        "detection": float(recall_score(y_true, y_pred)),
        "false_alarms": float((y_pred[normal] == 1).mean()),
        "f1": float(f1_score(y_true, y_pred)),
    }


def _line(name: str, scores: Scores) -> str:
    return f"{name:<30}" + "  ".join(f"{k} {v:.4f}" for k, v in scores.items())


def _plain_xgboost(train: Any, test: Any, features: list[str], target: Any, test_target: Any, seed: int) -> Scores:
    import pandas as pd
    from xgboost import XGBClassifier

    x_train, x_test = train[features].copy(), test[features].copy()
    for column in features:
        if not pd.api.types.is_numeric_dtype(x_train[column]):
            categories = pd.Index(sorted(x_train[column].astype(str).unique()))
            x_train[column] = categories.get_indexer(x_train[column].astype(str))
            x_test[column] = categories.get_indexer(x_test[column].astype(str))
    model = XGBClassifier(random_state=seed).fit(x_train, target)
    return _scores(test_target, model.predict(x_test))


def _tune(trials: int) -> Any:
    from netsec_cli.models.tuning import TuneRequest

    return TuneRequest(trials=trials) if trials else None


def _tuning_info(trained: Any) -> str:
    tuning = trained.tuning
    return f", tuned {tuning.trials} trials in {tuning.seconds:.0f}s" if tuning.tuned else ""


def bench_nsl_kdd(root: Path, seed: int, trials: int = 0) -> dict[str, Any]:
    """netsec and plain XGBoost trained on KDDTrain+_20Percent, scored on KDDTest+."""
    import pandas as pd

    from netsec_cli.schema import Schema, shipped_schema
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.predict import run_predict
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    config = _config(root, seed)
    started = time.perf_counter()
    run_etl(config, source=str(DATA / "KDDTrain+_20Percent.txt"))
    run_transform(config)
    trained = run_train(config, tune=_tune(trials))
    output = root / "kdd_test_predictions.parquet"
    run_predict(config, DATA / "KDDTest+.txt", output=output)
    elapsed = time.perf_counter() - started
    schema = Schema.load(shipped_schema("nsl_kdd"))
    train = pd.read_csv(DATA / "KDDTrain+_20Percent.txt", header=None, names=schema.columns)
    test = pd.read_csv(DATA / "KDDTest+.txt", header=None, names=schema.columns)
    truth = (test["label"] != "normal").astype(int).to_numpy()
    predicted = (pd.read_parquet(output)["prediction"] == -1).astype(int).to_numpy()
    baseline = _plain_xgboost(train, test, schema.features, (train["label"] != "normal").astype(int), truth, seed)
    return {
        "netsec": _scores(truth, predicted),
        "plain": baseline,
        "info": f"[threshold {trained.threshold.threshold:.4g}, pipeline {elapsed:.1f}s, train {trained.duration:.1f}s{_tuning_info(trained)}]",
        "rows": (len(train), len(test)),
    }


def bench_phishing(root: Path, seed: int, trials: int = 0) -> dict[str, Any]:
    """netsec and plain XGBoost on the config's stratified split of phishing_websites.tsv."""
    from netsec_cli.artifacts import open_stage
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    config = _config(root, seed, target="Result", normal_value=1, drop_columns=[])
    run_etl(config, source=str(DATA / "phishing_websites.tsv"), target="Result", normal_value="1")
    run_transform(config)
    trained = run_train(config, tune=_tune(trials))
    etl = open_stage(config.artifacts_dir, "etl", "bench_quality")
    schema = etl.load_schema()
    train, test = etl.read("train"), etl.read("test")
    truth = (~schema.is_normal(test["Result"])).astype(int).to_numpy()
    baseline = _plain_xgboost(train, test, schema.features, (~schema.is_normal(train["Result"])).astype(int), truth, seed)
    metrics = trained.metrics
    return {
        "netsec": {
            "accuracy": metrics["accuracy"],
            "precision": metrics["precision"],
            "detection": metrics["recall"],
            "false_alarms": metrics["false_alarm_rate"],
            "f1": metrics["f1"],
        },
        "plain": baseline,
        "info": f"[threshold {trained.threshold.threshold:.4g}, train {trained.duration:.1f}s{_tuning_info(trained)}]",
        "rows": (len(train), len(test)),
    }


def _summary(runs: list[dict[str, Any]]) -> None:
    for who in ("netsec", "plain"):
        accuracy = [run[who]["accuracy"] for run in runs]
        print(f"  {who:<10} accuracy mean {sum(accuracy) / len(accuracy):.4f}  min {min(accuracy):.4f}  max {max(accuracy):.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42", help="comma-separated split/model seeds (default 42)")
    parser.add_argument("--tune", type=int, default=0, metavar="TRIALS", help="also train with `--tune --trials TRIALS`")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not DATA.is_dir():
        print(f"SKIP: {DATA} is absent")
        return 0
    import logging

    logging.getLogger("netsec_cli").setLevel(logging.WARNING)
    for name, bench in (("NSL-KDD", bench_nsl_kdd), ("Phishing", bench_phishing)):
        runs = []
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix="netsec-bench-") as tmp:
                run = bench(Path(tmp), seed)
            if not runs:
                train_rows, test_rows = run["rows"]
                where = "KDDTrain+_20Percent -> KDDTest+" if name == "NSL-KDD" else "stratified split"
                print(f"{name}: {where} ({train_rows:,} train / {test_rows:,} test rows)")
            runs.append(run)
            print(_line(f"  seed {seed:<4} netsec", run["netsec"]) + f"  {run['info']}")
            print(_line(f"  seed {seed:<4} plain XGBoost", run["plain"]))
            if args.tune:
                with tempfile.TemporaryDirectory(prefix="netsec-bench-") as tmp:
                    tuned = bench(Path(tmp), seed, args.tune)
                print(_line(f"  seed {seed:<4} netsec --tune", tuned["netsec"]) + f"  {tuned['info']}")
        if len(runs) > 1:
            _summary(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
