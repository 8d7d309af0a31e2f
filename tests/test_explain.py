"""Per-flow explanations: output columns mapped to inputs, one-hot groups summed, `top_features`
naming the input's own columns and raw values, only on flagged rows, and in `--json`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.config import TransformConfig
from netsec_cli.preprocessing import (
    FeatureExplainer,
    feature_frame,
    fit_preprocessor,
    output_inputs,
)
from netsec_cli.schema import Schema
from netsec_cli.sources.synthetic import generate_flows
from tests.fixtures.project import Project
from tests.fixtures.trained import build_trained, install

PIECE = re.compile(r"(?P<name>[A-Za-z_]\w*)=(?P<value>.*?) \((?P<amount>\+[0-9.e+-]+)\)")
CATEGORICAL = ("protocol_type", "service", "flag")


@pytest.fixture(scope="module")
def schema() -> Schema:
    from netsec_cli.schema import shipped_schema

    return Schema.load(shipped_schema("nsl_kdd"))


@pytest.fixture(scope="module")
def frame(schema: Schema) -> pd.DataFrame:
    return feature_frame(schema, generate_flows(600, seed=5))


def _parse(text: str) -> list[tuple[str, str, float]]:
    pieces = text.split("; ") if text else []
    parsed = [PIECE.fullmatch(piece) for piece in pieces]
    assert all(parsed), text
    return [(m["name"], m["value"], float(m["amount"])) for m in parsed if m]


def test_native_outputs_map_one_to_one(schema: Schema, frame: pd.DataFrame) -> None:
    preprocessor = fit_preprocessor(schema, TransformConfig(), frame)
    owner = output_inputs(preprocessor)
    numeric = [c for c in schema.features if c in schema.numerical]
    assert owner == numeric + [c for c in schema.features if c in CATEGORICAL]
    explainer = FeatureExplainer(preprocessor)
    contributions = np.random.default_rng(0).normal(size=(4, len(owner) + 1))
    assert np.array_equal(explainer.by_input(contributions), contributions[:, :-1])


@pytest.mark.parametrize("max_categories", [None, 3], ids=["onehot", "onehot-infrequent"])
def test_onehot_groups_sum_into_their_input(schema: Schema, frame: pd.DataFrame, max_categories: int | None) -> None:
    options = TransformConfig(categorical_encoding="onehot", max_categories=max_categories)
    preprocessor = fit_preprocessor(schema, options, frame)
    owner = output_inputs(preprocessor)
    assert len(owner) == len(preprocessor.get_feature_names_out())
    for name, out in zip(owner, preprocessor.get_feature_names_out(), strict=True):
        assert out.startswith(("num__" if name in schema.numerical else "cat__") + name)
    explainer = FeatureExplainer(preprocessor)
    assert explainer.inputs == list(dict.fromkeys(owner)) and len(explainer.inputs) == len(schema.features)
    contributions = np.random.default_rng(1).normal(size=(5, len(owner) + 1))
    grouped = explainer.by_input(contributions)
    for j, name in enumerate(explainer.inputs):
        columns = [i for i, owned in enumerate(owner) if owned == name]
        assert np.allclose(grouped[:, j], contributions[:, columns].sum(axis=1))
    assert np.allclose(grouped.sum(axis=1) + contributions[:, -1], contributions.sum(axis=1))


def _known_rows(trained: Path) -> pd.DataFrame:
    """Attack rows of the test split with a few distinctive values (a float, a gap, an unseen service)."""
    test = pd.read_parquet(trained / "etl" / "test.parquet")
    rows = test[test["label"] != "normal"].head(40).drop(columns=["label"]).reset_index(drop=True)
    rows["src_bytes"] = rows["src_bytes"].astype(float)
    rows.loc[0, "src_bytes"] = 123.5
    rows.loc[1, "duration"] = np.nan
    rows.loc[2, "service"] = "never_seen_service"
    return rows


def _explained(project: Project, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    path = project.root / "known.csv"
    rows.to_csv(path, index=False, na_rep="?")
    out = project.root / "explained.csv"
    result = project.invoke("predict", str(path), "-o", str(out), "--explain", "--json", "--threshold", "0.3")
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, keep_default_na=False), json.loads(result.stdout)


def _check_against_input(text: str, row: pd.Series) -> None:
    pieces = _parse(text)
    assert 1 <= len(pieces) <= 3
    amounts = [amount for _, _, amount in pieces]
    assert amounts == sorted(amounts, reverse=True) and min(amounts) > 0
    for name, value, _ in pieces:
        raw = row[name]
        if name in CATEGORICAL:
            assert value == raw, (name, value, raw)
        elif pd.isna(raw):
            assert value == "?", name
        else:
            assert float(value) == float(raw), (name, value, raw)


def _model_top(project: Project, rows: pd.DataFrame) -> list[list[str]]:
    """The top inputs straight from the model's contributions, for comparison with the text."""
    from netsec_cli.config import load_config
    from netsec_cli.scoring import features, load_model
    from netsec_cli.sources.tabular import open_input

    model = load_model(load_config(project.config_path))
    chunk = next(open_input(project.root / "known.csv", model.schema, 10_000).chunks())
    assert model.detector is not None
    grouped = FeatureExplainer(model.preprocessor).by_input(model.detector.contributions(features(model, chunk), approximate=True))
    names = FeatureExplainer(model.preprocessor).inputs
    return [[names[j] for j in np.argsort(-g)[:3] if g[j] > 0] for g in grouped]


@pytest.mark.parametrize("encoding", ["native", "onehot"])
def test_top_features_name_the_input_columns_and_raw_values(
    project: Project, trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory, tracking_db: Path, encoding: str
) -> None:
    if encoding == "native":
        artifacts = trained_artifacts
    else:
        artifacts = build_trained(tmp_path_factory.mktemp("onehot"), tracking_db, **{"transform.categorical_encoding": encoding})
        project.update_config(**{"transform.categorical_encoding": encoding})
    install(project, artifacts)
    rows = _known_rows(artifacts)
    got, data = _explained(project, rows)
    flagged = got["prediction"] == -1
    assert flagged.sum() >= 30 and list(got.columns)[-1] == "top_features"
    assert (got.loc[~flagged, "top_features"] == "").all()
    expected = _model_top(project, rows)
    for i in np.flatnonzero(flagged):
        _check_against_input(got.loc[i, "top_features"], rows.loc[i])
        assert [name for name, _, _ in _parse(got.loc[i, "top_features"])] == expected[i]
    assert "src_bytes=123.5" in got.loc[0, "top_features"] or "src_bytes" not in got.loc[0, "top_features"]
    assert data["top"] and all(item["top_features"] for item in data["top"])
    for item in data["top"]:
        assert item["top_features"] == got.loc[item["row"], "top_features"]


def test_explain_streams_chunks_and_other_formats(ready: Project) -> None:
    flows = pd.read_parquet(ready.artifacts / "etl" / "test.parquet").head(120).drop(columns=["label"])
    path = ready.root / "flows.csv"
    flows.to_csv(path, index=False)
    whole = ready.root / "whole.csv"
    assert ready.invoke("predict", str(path), "-o", str(whole), "--explain").exit_code == 0
    ready.update_config(**{"predict.chunk_size": 7})
    for suffix in ("csv", "parquet", "json"):
        out = ready.root / f"chunked.{suffix}"
        result = ready.invoke("predict", str(path), "-o", str(out), "--explain")
        assert result.exit_code == 0, result.output
        chunked = {"csv": lambda p: pd.read_csv(p, keep_default_na=False), "parquet": pd.read_parquet, "json": pd.read_json}[suffix](out)
        assert chunked["top_features"].tolist() == pd.read_csv(whole, keep_default_na=False)["top_features"].tolist()
    plain = ready.invoke("predict", str(path), "-o", str(ready.root / "plain.csv"))
    assert plain.exit_code == 0 and "top_features" not in pd.read_csv(ready.root / "plain.csv").columns
    assert "top features" in plain.stdout
