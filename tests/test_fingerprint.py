"""Stage fingerprints: an unchanged stage is skipped (`skipped (unchanged)`), `--force` reruns it,
and a change reruns exactly the stages that read it (issue 14, item 3)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from netsec_cli.config import load_config
from netsec_cli.runner import RunOptions
from netsec_cli.sources.synthetic import generate_flows
from netsec_cli.stages.etl import run_etl
from tests.fixtures.mongo import MongoServer
from tests.fixtures.project import Project

STAGES = ("etl", "validate", "transform", "train")
EVERY = dict.fromkeys(STAGES, "ran")
NONE = dict.fromkeys(STAGES, "skipped")


def _stamps(project: Project) -> dict[str, tuple[int, str]]:
    """Each stage folder's manifest write time (ns) and fingerprint digest: a rerun changes the first."""
    stamps = {}
    for stage in STAGES:
        folder = project.artifacts / stage
        digest = json.loads((folder / "fingerprint.json").read_text())["sha256"]
        stamps[stage] = ((folder / "manifest.json").stat().st_mtime_ns, digest)
    return stamps


def _run(project: Project, *args: str) -> dict[str, Any]:
    """`netsec run --json`; its result."""
    result = project.invoke("run", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    assert {stage: data[stage]["skipped"] for stage in STAGES} == {s: v == "skipped" for s, v in data["stages"].items()}
    return data


def _rerun(project: Project, *args: str) -> tuple[dict[str, str], list[str]]:
    """A `netsec run` after a change: its stage statuses and the stages whose folders were republished."""
    before = _stamps(project)
    statuses = _run(project, *args)["stages"]
    after = _stamps(project)
    return statuses, [stage for stage in STAGES if after[stage][0] != before[stage][0]]


def test_a_second_run_skips_every_stage_and_force_reruns_them(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    first = _run(project)
    assert first["stages"] == EVERY
    stamps = _stamps(project)
    for stage in STAGES:
        recorded = json.loads((project.artifacts / stage / "fingerprint.json").read_text())
        assert recorded["inputs"]["stage"] == stage and recorded["sha256"] == stamps[stage][1]
        manifest = json.loads((project.artifacts / stage / "manifest.json").read_text())
        assert "fingerprint.json" in {entry["path"] for entry in manifest["files"]}
        assert recorded["result"]["test_rows"] == first[stage]["test_rows"] == 600

    text = project.invoke("run")
    assert text.exit_code == 0, text.output
    for stage in STAGES:
        assert f"│ {stage}" in text.stdout and "skipped (unchanged)" in text.stdout.split(f"│ {stage}", 1)[1].splitlines()[0]
    second = _run(project)
    assert second["stages"] == NONE
    assert _stamps(project) == stamps
    assert second["train"]["metrics"] == first["train"]["metrics"] and second["train"]["threshold"] == first["train"]["threshold"]
    assert second["etl"]["rows"] == first["etl"]["rows"] == 3000 and second["validate"]["passed"] is True
    assert second["transform"]["output_features"] == first["transform"]["output_features"]
    assert second["duration"] < 1.0
    log = (project.root / "logs" / "system.log").read_text()
    assert all(f"{stage}: skipped (unchanged)" in log for stage in STAGES)

    statuses, republished = _rerun(project, "--force")
    assert statuses == EVERY and republished == list(STAGES)
    assert _stamps(project)["transform"][1] == stamps["transform"][1]  # etl wrote the same bytes again


def test_changed_source_content_reruns_every_stage(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    source = project.root / "flows.csv"
    flows = generate_flows(2500, seed=5)
    flows.to_csv(source, index=False)
    assert _run(project, "--source", str(source))["stages"] == EVERY

    source.write_bytes(source.read_bytes())  # touched, same content
    assert _rerun(project, "--source", str(source)) == (NONE, [])

    flows.loc[:99, "src_bytes"] += 1
    flows.to_csv(source, index=False)
    assert _rerun(project, "--source", str(source)) == (EVERY, list(STAGES))


def test_split_seed_reruns_everything_a_hyperparameter_train_only_validation_validate_only(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False})
    _run(project)

    project.update_config(**{"split.seed": 7})
    assert _rerun(project) == (EVERY, list(STAGES))

    project.update_config(**{"model.hyperparameters.max_depth": 4})
    statuses, republished = _rerun(project)
    assert statuses == {**NONE, "train": "ran"} and republished == ["train"]
    info = json.loads((project.artifacts / "train" / "model_info.json").read_text())
    assert info["hyperparameters"]["max_depth"] == 4

    project.update_config(**{"validation.max_null_ratio": 0.3, "predict.chunk_size": 777})  # chunk size: speed only
    statuses, republished = _rerun(project)
    assert statuses == {**NONE, "validate": "ran"} and republished == ["validate"]


def test_stage_commands_skip_when_unchanged_and_rerun_when_forced_or_damaged(project: Project) -> None:
    assert project.invoke("etl").exit_code == 0
    assert project.invoke("transform").exit_code == 0
    manifest = project.artifacts / "etl" / "manifest.json"
    written = manifest.stat().st_mtime_ns

    again = project.invoke("etl")
    assert again.exit_code == 0 and again.stdout.startswith("etl: skipped (unchanged)\n")
    assert "3,000" in again.stdout  # the recorded result is shown
    data = json.loads(project.invoke("etl", "--json").stdout)
    assert data["skipped"] is True and data["rows"] == 3000 and manifest.stat().st_mtime_ns == written

    forced = json.loads(project.invoke("etl", "--force", "--json").stdout)
    assert forced["skipped"] is False and manifest.stat().st_mtime_ns != written
    assert json.loads(project.invoke("transform", "--json").stdout)["skipped"] is True  # etl wrote the same files

    x_test = project.artifacts / "transform" / "X_test.npy"
    x_test.write_bytes(x_test.read_bytes()[:-4])  # a damaged output is never skipped over
    redone = json.loads(project.invoke("transform", "--json").stdout)
    assert redone["skipped"] is False
    assert np.load(x_test).shape == (600, redone["output_features"])

    config = load_config(project.config_path)  # `force` works from Python too (RunOptions)
    assert run_etl(config).skipped is True
    assert run_etl(config, options=RunOptions(force=True)).skipped is False


def test_a_skipped_failed_validation_still_stops_the_run_with_exit_3(project: Project) -> None:
    project.update_config(**{"tracking.enabled": False, "validation.max_null_ratio": 0.0})
    frame = pd.DataFrame({"a": [1.0, None] * 200, "b": np.arange(400.0), "label": ["normal", "attack"] * 200})
    source = project.root / "gappy.csv"
    frame.to_csv(source, index=False)
    assert project.invoke("run", "--source", str(source)).exit_code == 3
    report = (project.artifacts / "validate" / "manifest.json").stat().st_mtime_ns

    result = project.invoke("run", "--source", str(source))
    assert result.exit_code == 3, result.output
    assert "validate: skipped (unchanged)" in result.stdout and "null_ratio" in result.stdout
    assert "later stages were not run" in result.stderr
    assert (project.artifacts / "validate" / "manifest.json").stat().st_mtime_ns == report
    assert not (project.artifacts / "transform").exists()


def test_a_document_inserted_into_the_collection_reruns_etl(mongo_project: Project, mongo_server: MongoServer) -> None:
    source = mongo_project.root / "flows.csv"
    generate_flows(600, 11).to_csv(source, index=False)
    assert mongo_project.invoke("etl", "load", str(source)).exit_code == 0

    def etl() -> dict[str, Any]:
        result = mongo_project.invoke("etl", "--source", "mongo", "--json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    assert etl()["skipped"] is False
    assert etl()["skipped"] is True
    collection = mongo_server.collection()
    document = collection.find_one({}, sort=[("_row", -1)])
    document.update(_id="extra-flow", _row=document["_row"] + 1)
    collection.insert_one(document)
    rerun = etl()
    assert rerun["skipped"] is False and rerun["rows"] == 601
    fingerprint = json.loads((mongo_project.artifacts / "etl" / "fingerprint.json").read_text())
    assert fingerprint["inputs"]["source"]["documents"] == 601
