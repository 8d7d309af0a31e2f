"""`netsec evaluate`: the same numbers as predict's output, the per-attack tables, the offline
HTML report, refused inputs, and train's report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.project import Project
from tests.helpers import assert_error

SYNTHETIC_ATTACKS = {"neptune", "smurf", "portsweep", "satan", "ipsweep", "guess_passwd", "back", "teardrop", "warezclient"}
CATEGORY = {"neptune": "DoS", "smurf": "DoS", "back": "DoS", "teardrop": "DoS", "portsweep": "Probe", "satan": "Probe",
            "ipsweep": "Probe", "guess_passwd": "R2L", "warezclient": "R2L"}  # fmt: skip


@pytest.fixture(scope="module")
def flows(trained_artifacts: Path) -> pd.DataFrame:
    """The synthetic test split: every schema column, attack names in `label`."""
    return pd.read_parquet(trained_artifacts / "etl" / "test.parquet")


def _evaluate(project: Project, *args: str) -> dict:
    result = project.invoke("evaluate", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_same_numbers_as_predict_output(ready: Project, flows: pd.DataFrame) -> None:
    from sklearn import metrics as sk

    path = ready.root / "flows.csv"
    flows.to_csv(path, index=False)
    assert ready.invoke("predict", str(path), "-o", str(ready.root / "out.csv")).exit_code == 0
    out = pd.read_csv(ready.root / "out.csv")
    got = _evaluate(ready, str(path))
    y = (flows["label"] != "normal").to_numpy().astype(int)
    flagged = (out["prediction"] == -1).to_numpy().astype(int)
    probability = out["probability"].to_numpy()
    m = got["metrics"]
    assert got["rows"] == m["rows"] == len(flows) and got["unlabelled"] == 0
    assert (probability >= got["threshold"]).astype(int).tolist() == flagged.tolist()
    tn, fp, fn, tp = sk.confusion_matrix(y, flagged, labels=[0, 1]).ravel().tolist()
    assert m["confusion_matrix"]["matrix"] == [[tn, fp], [fn, tp]]
    expected = {
        "accuracy": sk.accuracy_score(y, flagged),
        "precision": sk.precision_score(y, flagged),
        "recall": sk.recall_score(y, flagged),
        "f1": sk.f1_score(y, flagged),
        "false_alarm_rate": fp / (fp + tn),
        "roc_auc": sk.roc_auc_score(y, probability),
        "pr_auc": sk.average_precision_score(y, probability),
    }
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=2e-6), name
    detected = flows.assign(flagged=flagged)[y == 1].groupby("label")["flagged"].agg(["size", "sum"])
    attacks = {row["name"]: row for row in got["attacks"]}
    assert set(attacks) == set(detected.index)
    for name, row in attacks.items():
        assert (row["rows"], row["detected"]) == (detected.loc[name, "size"], detected.loc[name, "sum"]), name


def test_per_attack_and_category_tables(ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "flows.parquet"
    flows.to_parquet(path)
    got = _evaluate(ready, str(path))
    names = {row["name"] for row in got["attacks"]}
    assert names <= SYNTHETIC_ATTACKS and {"neptune", "smurf", "satan"} <= names
    assert all(row["category"] == CATEGORY[row["name"]] for row in got["attacks"])
    categories = {row["name"]: row for row in got["categories"]}
    assert {"DoS", "Probe", "R2L"} <= set(categories) <= {"DoS", "Probe", "R2L", "U2R"}
    for category, row in categories.items():
        members = [a for a in got["attacks"] if a["category"] == category]
        assert row["rows"] == sum(a["rows"] for a in members) and row["detected"] == sum(a["detected"] for a in members)
        assert row["detection_rate"] == pytest.approx(row["detected"] / row["rows"], abs=1e-6)
    assert sum(row["rows"] for row in got["attacks"]) == got["metrics"]["confusion_matrix"]["fn"] + got["metrics"]["confusion_matrix"]["tp"]
    shown = ready.invoke("evaluate", str(path))
    assert shown.exit_code == 0 and "detection per category" in shown.stdout and "neptune" in shown.stdout


def test_every_layout_and_chunking_give_the_same_metrics(ready: Project, flows: pd.DataFrame) -> None:
    paths = {"csv": ready.root / "flows.csv", "tsv_no_header": ready.root / "flows.tsv", "npy": ready.root / "flows.npy"}
    flows.to_csv(paths["csv"], index=False)
    flows.to_csv(paths["tsv_no_header"], index=False, header=False, sep="\t")
    np.save(paths["npy"], flows.astype(str).to_numpy(dtype=str))
    reference = _evaluate(ready, str(paths["csv"]))
    for kind, path in paths.items():
        assert _evaluate(ready, str(path))["metrics"] == reference["metrics"], kind
    ready.update_config(**{"predict.chunk_size": 7})
    chunked = _evaluate(ready, str(paths["csv"]))
    assert chunked["metrics"] == reference["metrics"] and chunked["attacks"] == reference["attacks"]


def test_other_target_column_and_normal_value(ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "relabelled.csv"
    relabelled = flows.drop(columns=["label"]).assign(verdict=np.where(flows["label"] == "normal", 1, 0))
    relabelled.loc[relabelled.index[:3], "verdict"] = np.nan
    relabelled.to_csv(path, index=False)
    got = _evaluate(ready, str(path), "--target", "verdict", "--normal-value", "1")
    assert got["target"] == "verdict" and got["normal_value"] == "1" and got["unlabelled"] == 3
    assert got["rows"] == len(flows) - 3 and got["attacks"] == [] and got["categories"] == []
    flows.iloc[3:].to_csv(ready.root / "rest.csv", index=False)
    assert got["metrics"] == _evaluate(ready, str(ready.root / "rest.csv"))["metrics"]


def test_report_is_one_offline_html_file(ready: Project, flows: pd.DataFrame) -> None:
    path = ready.root / "flows.csv"
    flows.to_csv(path, index=False)
    report = ready.root / "reports" / "eval.html"
    got = _evaluate(ready, str(path), "--report", str(report), "--threshold", "0.5")
    assert got["report"] == str(report) and got["threshold"] == 0.5
    text = report.read_text(encoding="utf-8")
    _assert_offline(text)
    assert text.count("<svg") >= 5  # ROC, PR, rates against threshold, confusion matrix, importance
    for label in ("ROC curve", "precision-recall curve", "against threshold", "confusion matrix", "feature importance"):
        assert f'aria-label="{label}' in text or label in text, label
    assert "threshold 0.5" in text
    for name in ("neptune", "smurf", "DoS", "Probe", "R2L"):
        assert f"<td>{name}</td>" in text, name
    assert not list(report.parent.glob(".eval.html*"))


def _assert_offline(text: str) -> None:
    """No script, nothing fetched from the network, under 1 MB."""
    assert len(text.encode("utf-8")) < 1_000_000
    assert "<script" not in text.lower()
    remote = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
    assert not remote.search(text), remote.search(text)
    assert "http://" not in text and "https://" not in text


def test_train_writes_its_report(trained_artifacts: Path) -> None:
    report = trained_artifacts / "train" / "report.html"
    text = report.read_text(encoding="utf-8")
    _assert_offline(text)
    assert text.count("<svg") >= 5 and "netsec train: test split" in text
    manifest = json.loads((trained_artifacts / "train" / "manifest.json").read_text())
    assert "report.html" in {entry["path"] for entry in manifest["files"]}


def _refused(project: Project, line: str, *args: str) -> None:
    report = project.root / "r.html"
    result = project.invoke("evaluate", *args, "--report", str(report))
    assert_error(result, 2, "Error: " + line)
    assert not report.exists() and not list(project.root.glob(".r.html*"))


def test_bad_inputs_exit_2_and_write_nothing(ready: Project, flows: pd.DataFrame) -> None:
    root = ready.root
    no_target = root / "no_target.csv"
    flows.drop(columns=["label"]).to_csv(no_target, index=False)
    shown = ", ".join(list(flows.columns.drop("label"))[:12])
    hint = "(pass --target naming the column that holds the true labels)"
    _refused(ready, f"target column 'label' not found in {no_target}; available columns: {shown}, … (42 in all) {hint}", str(no_target))
    headerless = root / "no_target.npy"
    np.save(headerless, flows.drop(columns=["label", "difficulty"]).astype(str).to_numpy(dtype=str))
    _refused(
        ready,
        f"target column 'label' not found in {headerless}; it has no header row and 41 columns, "
        f"schema 'nsl_kdd' without the target {hint}",
        str(headerless),
    )
    csv = root / "flows.csv"
    flows.to_csv(csv, index=False)
    _refused(ready, f"target column 'class' not found in {csv}; available columns: {', '.join(list(flows.columns)[:12])}, … (43 in all) {hint}",
             str(csv), "--target", "class")  # fmt: skip
    _refused(ready, "target column 'service' is a feature of the model (pass --target naming the label column)", str(csv), "--target", "service")
    counts = flows["label"].value_counts()
    seen = ", ".join(sorted(counts.index, key=lambda name: (-counts[name], name))[:8])
    _refused(
        ready,
        f"no row of {csv} has target 'label' equal to the normal value 'benign' (values seen: {seen}) "
        "(pass --normal-value; evaluate needs normal and intrusion rows)",
        str(csv), "--normal-value", "benign",
    )  # fmt: skip
    normal = root / "normal.csv"
    flows[flows["label"] == "normal"].to_csv(normal, index=False)
    _refused(
        ready,
        f"every row of {normal} is normal (target 'label' = 'normal') (evaluate needs normal and intrusion rows; "
        "`netsec predict` counts the alerts on normal-only traffic)",
        str(normal),
    )
    _refused(ready, f"input file not found: {root / 'missing.csv'} (check the path)", str(root / "missing.csv"))
    result = ready.invoke("evaluate", str(csv), "--report", str(root / "r.pdf"))
    assert_error(result, 2, f"Error: unsupported report type '.pdf' for {root / 'r.pdf'} (use .html)")
    assert not (root / "r.pdf").exists()


def test_evaluate_before_train_names_the_command(project: Project, flows: pd.DataFrame) -> None:
    flows.to_csv(project.root / "flows.csv", index=False)
    models = project.artifacts / "models"
    _refused(project, f"no trained model in {models} (run `netsec train` before `netsec evaluate`)", str(project.root / "flows.csv"))
