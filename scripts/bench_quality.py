"""Quality benchmark on the real data in ../shared/data (prints SKIP and exits 0 when absent).

1. NSL-KDD: `netsec` stages (etl → transform → train, the repository's config/config.yaml) on
   KDDTrain+_20Percent.txt, then `run_predict` on KDDTest+.txt; accuracy, precision, recall and F1
   of the predictions against KDDTest+'s labels (1 = intrusion). A plain XGBoost (default
   hyperparameters, categorical columns as ordinal codes) is trained and scored in the same run.
2. Phishing: the stages on phishing_websites.tsv (target `Result`, 1 = legitimate) with the
   config's stratified split; accuracy on the test split, and the plain XGBoost on the same split.
Every run happens in a temporary project folder; MLflow tracking is switched off.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"


def _config(root: Path, **data: Any) -> Any:
    from netsec_cli.config import load_config

    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    raw["paths"]["root"] = str(root)
    raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
    raw["tracking"]["enabled"] = False
    raw["data"].update(data)
    (root / "config").mkdir(parents=True, exist_ok=True)
    path = root / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def _scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred),
        "recall": recall_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred),
    }


def _line(name: str, scores: dict[str, float]) -> str:
    return f"{name:<34}" + "  ".join(f"{k} {v:.4f}" for k, v in scores.items())


def _plain_xgboost(train: Any, test: Any, features: list[str], target: Any, test_target: Any) -> dict[str, float]:
    import pandas as pd
    from xgboost import XGBClassifier

    x_train, x_test = train[features].copy(), test[features].copy()
    for column in features:
        if not pd.api.types.is_numeric_dtype(x_train[column]):
            categories = pd.Index(sorted(x_train[column].astype(str).unique()))
            x_train[column] = categories.get_indexer(x_train[column].astype(str))
            x_test[column] = categories.get_indexer(x_test[column].astype(str))
    model = XGBClassifier(random_state=42).fit(x_train, target)
    return _scores(test_target, model.predict(x_test))


def bench_nsl_kdd(root: Path) -> None:
    import pandas as pd

    from netsec_cli.schema import Schema, shipped_schema
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.predict import run_predict
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    config = _config(root)
    started = time.perf_counter()
    run_etl(config, source=str(DATA / "KDDTrain+_20Percent.txt"))
    run_transform(config)
    trained = run_train(config)
    output = root / "kdd_test_predictions.parquet"
    run_predict(config, DATA / "KDDTest+.txt", output=output)
    elapsed = time.perf_counter() - started
    schema = Schema.load(shipped_schema("nsl_kdd"))
    train = pd.read_csv(DATA / "KDDTrain+_20Percent.txt", header=None, names=schema.columns)
    test = pd.read_csv(DATA / "KDDTest+.txt", header=None, names=schema.columns)
    truth = (test["label"] != "normal").astype(int).to_numpy()
    predicted = (pd.read_parquet(output)["prediction"] == -1).astype(int).to_numpy()
    print(f"NSL-KDD: train KDDTrain+_20Percent ({len(train):,} rows), test KDDTest+ ({len(test):,} rows)")
    print(_line("  netsec (config defaults)", _scores(truth, predicted)) + f"  [{elapsed:.1f}s, best_iteration {trained.best_iteration}]")
    baseline = _plain_xgboost(train, test, schema.features, (train["label"] != "normal").astype(int), truth)
    print(_line("  plain XGBoost (defaults)", baseline))


def bench_phishing(root: Path) -> None:
    import pandas as pd

    from netsec_cli.schema import Schema
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    config = _config(root, target="Result", normal_value=1, drop_columns=[])
    run_etl(config, source=str(DATA / "phishing_websites.tsv"), target="Result", normal_value="1")
    run_transform(config)
    trained = run_train(config)
    etl_dir = config.artifacts_dir / "etl"
    schema = Schema.load(etl_dir / "schema.yaml")
    train, test = pd.read_parquet(etl_dir / "train.parquet"), pd.read_parquet(etl_dir / "test.parquet")
    truth = (~schema.is_normal(test["Result"])).astype(int)
    baseline = _plain_xgboost(train, test, schema.features, (~schema.is_normal(train["Result"])).astype(int), truth)
    print(f"Phishing: stratified split ({len(train):,} train / {len(test):,} test rows)")
    netsec = {k: trained.metrics[k] for k in ("accuracy", "precision", "recall", "f1")}
    print(_line("  netsec (config defaults)", netsec))
    print(_line("  plain XGBoost (defaults)", baseline))


def main() -> int:
    if not DATA.is_dir():
        print(f"SKIP: {DATA} is absent")
        return 0
    import logging

    logging.getLogger("netsec_cli").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="netsec-bench-") as tmp:
        bench_nsl_kdd(Path(tmp) / "kdd")
        bench_phishing(Path(tmp) / "phishing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
