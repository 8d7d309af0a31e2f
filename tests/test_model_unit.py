"""The published model as one unit (issue 11): artifacts/train holds the model with the preprocessor
and schema it was trained with, so a newer transform, a failed or killed train, or a chance-level
model never leaves predict without a usable model; corrupt artifacts are exit 2 naming the file;
predict and evaluate never write over their input or into artifacts/; stale staging folders go."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.project import Project
from tests.helpers import assert_error

RETRAIN = "(run `netsec train` again)"


@pytest.fixture
def flows_csv(ready: Project, trained_artifacts: Path) -> Path:
    path = ready.root / "flows.csv"
    pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(200).to_csv(path, index=False)
    return path


def _predict(project: Project, flows: Path, name: str) -> pd.DataFrame:
    out = project.root / name
    result = project.invoke("predict", str(flows), "-o", str(out))
    assert result.exit_code == 0, result.output
    return pd.read_csv(out)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reseal(folder: Path, *names: str) -> None:
    """Rewrite the manifest entries of `names` so the manifest check passes on the changed files."""
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = {entry["path"]: entry for entry in manifest["files"]}
    for name in names:
        entries[name] = {"path": name, "size": (folder / name).stat().st_size, "sha256": _sha(folder / name)}
    manifest["files"] = list(entries.values())
    (folder / "manifest.json").write_text(json.dumps(manifest))


# Item 3: the preprocessor and the model trained with it are published and read as one.


def test_a_new_transform_does_not_change_the_published_model(ready: Project, flows_csv: Path) -> None:
    before = _predict(ready, flows_csv, "before.csv")
    kept = _sha(ready.artifacts / "train" / "preprocessor.skops")
    assert kept == _sha(ready.artifacts / "transform" / "preprocessor.skops")
    ready.update_config(**{"transform.scaler": "standard"})
    assert ready.invoke("transform").exit_code == 0
    assert _sha(ready.artifacts / "transform" / "preprocessor.skops") != kept  # a different preprocessor
    pd.testing.assert_frame_equal(_predict(ready, flows_csv, "after.csv"), before)
    result = ready.invoke("evaluate", str(flows_csv), "--json")
    assert result.exit_code == 0, result.output
    for path in (ready.artifacts / "transform").iterdir():  # predict reads artifacts/train only
        path.unlink()
    (ready.artifacts / "transform").rmdir()
    pd.testing.assert_frame_equal(_predict(ready, flows_csv, "alone.csv"), before)


def test_a_failed_train_after_a_new_transform_keeps_the_model_usable(ready: Project, flows_csv: Path) -> None:
    before = _predict(ready, flows_csv, "before.csv")
    published = (ready.artifacts / "train" / "manifest.json").read_bytes()
    ready.update_config(**{"transform.scaler": "standard", "tracking.enabled": False})
    assert ready.invoke("transform").exit_code == 0
    ready.update_config(**{"model.hyperparameters.tree_method": "deep"})  # XGBoost refuses it; the config check does not know it
    assert ready.invoke("train").exit_code == 2
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == published
    pd.testing.assert_frame_equal(_predict(ready, flows_csv, "after.csv"), before)


def test_predict_during_a_run_between_transform_and_train(ready: Project, flows_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `netsec run` publishes a new transform, then is killed while training: predict works all along."""
    from netsec_cli.config import load_config
    from netsec_cli.stages import train
    from netsec_cli.stages.predict import run_predict
    from netsec_cli.stages.run import run_pipeline

    before = _predict(ready, flows_csv, "before.csv")
    ready.update_config(**{"transform.scaler": "standard", "tracking.enabled": False})
    config = load_config(ready.config_path)
    during = ready.root / "during.csv"

    def killed_while_training(*args: object, **kwargs: object) -> None:
        run_predict(config, flows_csv, output=during)  # artifacts/transform is new, artifacts/train is not
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit_detector", killed_while_training)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(config, source="synthetic")
    assert not [p.name for p in ready.artifacts.iterdir() if p.name.startswith(".staging-train")]
    pd.testing.assert_frame_equal(pd.read_csv(during), before)
    pd.testing.assert_frame_equal(_predict(ready, flows_csv, "after.csv"), before)


# Item 8: corrupt artifacts are exit 2 naming the file.


def _unit(project: Project) -> tuple[Path, Path]:
    """The champion's folder in the registry, and the registry folder whose manifest covers it."""
    models = project.artifacts / "models"
    return models / "1", models


def _reseal_unit(project: Project, *names: str) -> None:
    unit, models = _unit(project)
    _reseal(models, *(f"{unit.name}/{name}" for name in names))


def _refused(project: Project, flows: Path, line: str) -> None:
    out = project.root / "out.csv"
    assert_error(project.invoke("predict", str(flows), "-o", str(out)), 2, line)
    assert not out.exists()


@pytest.mark.parametrize("head", [b"", b"{"], ids=["random", "ubjson-like"])
def test_a_corrupt_model_file_with_a_matching_manifest(ready: Project, flows_csv: Path, head: bytes) -> None:
    train, _ = _unit(ready)
    (train / "model.ubj").write_bytes(head + os.urandom(4096))
    _reseal_unit(ready, "model.ubj")
    _refused(ready, flows_csv, f"Error: model {train / 'model.ubj'} is corrupt {RETRAIN}")


def test_a_corrupt_catboost_model_file(ready: Project, flows_csv: Path) -> None:
    train, _ = _unit(ready)
    info = json.loads((train / "model_info.json").read_text())
    (train / "model_info.json").write_text(json.dumps({**info, "type": "catboost"}))
    (train / "model.cbm").write_bytes(os.urandom(4096))
    _reseal_unit(ready, "model_info.json", "model.cbm")
    _refused(ready, flows_csv, f"Error: model {train / 'model.cbm'} is corrupt {RETRAIN}")


@pytest.mark.parametrize("text", ["[]", '{"stage": "train"}', '{"files": 3}', "not json"])
def test_a_corrupt_manifest(ready: Project, flows_csv: Path, text: str) -> None:
    manifest = ready.artifacts / "models" / "manifest.json"
    manifest.write_text(text)
    _refused(ready, flows_csv, f"Error: corrupt manifest {manifest} {RETRAIN}")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda info: "{not json", "not JSON"),
        (lambda info: [info], "not a JSON object"),
        (lambda info: {k: v for k, v in info.items() if k != "type"}, "'type' is missing"),
        (lambda info: {k: v for k, v in info.items() if k != "threshold"}, "'threshold' is missing"),
        (lambda info: {k: v for k, v in info.items() if k != "feature_types"}, "'feature_types' is missing"),
        (lambda info: {**info, "threshold": "high"}, "'threshold' 'high' is not a number from 0 to 1"),
        (lambda info: {**info, "type": "forest"}, "'type' 'forest' is not one of xgboost, catboost"),
        (lambda info: {**info, "feature_types": "qqq"}, "'feature_types' is not a list of strings"),
    ],
    ids=["not-json", "list", "no-type", "no-threshold", "no-feature-types", "bad-threshold", "bad-type", "bad-types"],
)
def test_a_broken_model_info(ready: Project, flows_csv: Path, change: object, problem: str) -> None:
    train, _ = _unit(ready)
    changed = change(json.loads((train / "model_info.json").read_text()))  # type: ignore[operator]
    (train / "model_info.json").write_text(changed if isinstance(changed, str) else json.dumps(changed))
    _reseal_unit(ready, "model_info.json")
    _refused(ready, flows_csv, f"Error: corrupt model info {train / 'model_info.json'}: {problem} {RETRAIN}")


def test_a_model_without_its_preprocessor_is_refused(ready: Project, flows_csv: Path) -> None:
    """A model published before the model unit existed (or a hand-made folder) names `netsec train`."""
    train, _ = _unit(ready)
    models = ready.artifacts / "models"
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["files"] = [e for e in manifest["files"] if e["path"] not in ("1/preprocessor.skops", "1/schema.yaml")]
    (models / "manifest.json").write_text(json.dumps(manifest))
    _refused(ready, flows_csv, f"Error: the model in {train} has no preprocessor.skops, schema.yaml {RETRAIN}")


def _bomb(path: Path, *, megabytes: int = 0, entries: int = 1) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("schema.json", "w", force_zip64=True) as handle:
            for _ in range(megabytes):
                handle.write(bytes(1 << 20))
        for i in range(entries - 1):
            archive.writestr(f"e{i}", b"")


@pytest.mark.parametrize(("megabytes", "entries"), [(257, 1), (0, 10_001)], ids=["size", "entries"])
def test_a_zip_bomb_preprocessor_is_refused_before_loading(
    ready: Project, flows_csv: Path, monkeypatch: pytest.MonkeyPatch, megabytes: int, entries: int
) -> None:
    import skops.io

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("skops must not open it")

    monkeypatch.setattr(skops.io, "load", never)
    monkeypatch.setattr(skops.io, "get_untrusted_types", never)
    train, _ = _unit(ready)
    _bomb(train / "preprocessor.skops", megabytes=megabytes, entries=entries)
    info = json.loads((train / "model_info.json").read_text())
    (train / "model_info.json").write_text(json.dumps({**info, "preprocessor_sha256": _sha(train / "preprocessor.skops")}))
    _reseal_unit(ready, "preprocessor.skops", "model_info.json")
    _refused(
        ready,
        flows_csv,
        f"Error: refusing to load preprocessor {train / 'preprocessor.skops'}: it would decompress to {megabytes} MB in "
        f"{entries:,} zip entries (at most 256 MB in 10,000 entries) {RETRAIN}",
    )


# Item 4: predict --output and evaluate --report never replace the input or write into artifacts/.


def test_output_that_is_the_input_is_refused(ready: Project, flows_csv: Path) -> None:
    original = flows_csv.read_bytes()
    link = ready.root / "link.csv"
    link.symlink_to(flows_csv)
    hard = ready.root / "hard.csv"
    os.link(flows_csv, hard)
    for out in (flows_csv, link, hard, Path("flows.csv"), ready.root / "sub" / ".." / "flows.csv"):
        result = ready.invoke("predict", str(flows_csv), "-o", str(out))
        assert_error(result, 2, f"Error: --output {out} is the input file; refusing to overwrite it")
    assert flows_csv.read_bytes() == original


def test_output_inside_the_artifacts_folder_is_refused(ready: Project, flows_csv: Path) -> None:
    artifacts = ready.artifacts
    metrics = artifacts / "train" / "metrics.json"
    before = metrics.read_bytes()
    (ready.root / "elsewhere").symlink_to(artifacts / "train", target_is_directory=True)
    hint = "(write elsewhere, or omit --output to publish artifacts/predict)"
    for out in (metrics, Path("artifacts/predict/p.csv"), ready.root / "elsewhere" / "p.csv", artifacts / "new.parquet"):
        result = ready.invoke("predict", str(flows_csv), "-o", str(out))
        assert_error(result, 2, f"Error: --output {out} is inside the artifacts folder {artifacts} {hint}")
    assert metrics.read_bytes() == before
    assert not (artifacts / "predict").exists() and not (artifacts / "train" / "p.csv").exists()


def test_evaluate_report_that_is_the_input_or_an_artifact_is_refused(ready: Project, flows_csv: Path) -> None:
    report = ready.artifacts / "train" / "report.html"
    before = report.read_bytes()
    result = ready.invoke("evaluate", str(flows_csv), "--report", str(report))
    assert_error(result, 2, f"Error: --report {report} is inside the artifacts folder {ready.artifacts} (write elsewhere)")
    assert report.read_bytes() == before
    link = ready.root / "r.html"
    link.symlink_to(flows_csv)
    result = ready.invoke("evaluate", str(flows_csv), "--report", str(link))
    assert_error(result, 2, f"Error: --report {link} is the input file; refusing to overwrite it")


# Item 10: stale staging folders of a stage are removed by its next successful run.


def test_the_next_run_of_a_stage_removes_its_stale_staging_folders(ready: Project) -> None:
    artifacts = ready.artifacts
    stale = [artifacts / ".staging-transform-k1ll3d_x", artifacts / ".previous-transform"]
    others = [artifacts / ".staging-train-abc123", artifacts / ".staging-etl-zz9", artifacts / ".staging-transformer-x1"]
    for folder in stale + others:
        folder.mkdir()
        (folder / "X_train.npy").write_bytes(b"half-written")
    ready.update_config(**{"tracking.enabled": False})
    assert ready.invoke("transform").exit_code == 0
    assert not [p for p in stale if p.exists()]
    assert all((p / "X_train.npy").is_file() for p in others)


# Item 7: a model no better than chance is never published or registered.


def _versions(tracking_db: Path) -> int:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tracking_db}")
    return len(client.search_model_versions("name='netsec-detector'"))


def test_a_chance_level_model_is_not_published(ready: Project, flows_csv: Path, tracking_db: Path) -> None:
    before = _predict(ready, flows_csv, "before.csv")
    published = (ready.artifacts / "train" / "manifest.json").read_bytes()
    versions = _versions(tracking_db)
    ready.update_config(**{"model.hyperparameters.min_child_weight": 1e9})  # valid, but no tree can split
    result = ready.invoke("train")
    assert_error(
        result,
        2,
        "Error: the trained model is no better than chance on its validation slice (ROC-AUC 0.50); "
        "the previous model is kept (check model.hyperparameters)",
    )
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == published
    assert _versions(tracking_db) == versions
    assert not [p for p in ready.artifacts.iterdir() if p.name.startswith(".staging")]
    pd.testing.assert_frame_equal(_predict(ready, flows_csv, "after.csv"), before)


@pytest.mark.parametrize("rounds", [0, -1])
def test_zero_or_negative_rounds_are_refused(ready: Project, rounds: int) -> None:
    """Through the Python API, whatever the config checks: no trees is a chance-level model."""
    from netsec_cli.config import load_config
    from netsec_cli.errors import InputError
    from netsec_cli.stages.train import run_train

    ready.update_config(**{"tracking.enabled": False})
    config = load_config(ready.config_path)
    config.model.hyperparameters["n_estimators"] = rounds
    published = (ready.artifacts / "train" / "manifest.json").read_bytes()
    with pytest.raises(InputError, match=re.escape("no better than chance on its validation slice (ROC-AUC 0.50)")):
        run_train(config)
    assert (ready.artifacts / "train" / "manifest.json").read_bytes() == published
