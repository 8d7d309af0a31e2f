"""The synthetic flow generator: deterministic, NSL-KDD-shaped, with recognisable attack patterns."""

from __future__ import annotations

import pandas as pd
import pytest

from netsec_cli.schema import Schema, shipped_schema
from netsec_cli.sources.synthetic import (
    BLOCK_ROWS,
    generate_flows,
    synthetic_block,
    synthetic_chunks,
)


@pytest.fixture(scope="module")
def flows() -> pd.DataFrame:
    return generate_flows(20_000, seed=7)


def test_same_seed_same_frame_other_seed_differs() -> None:
    pd.testing.assert_frame_equal(generate_flows(1500, seed=1), generate_flows(1500, seed=1))
    assert not generate_flows(1500, seed=1).equals(generate_flows(1500, seed=2))


def test_columns_and_dtypes_follow_shipped_schema(flows: pd.DataFrame) -> None:
    schema = Schema.load(shipped_schema("nsl_kdd"))
    assert list(flows.columns) == schema.columns
    assert {c: str(flows[c].dtype) for c in flows.columns} == schema.dtypes
    assert len(flows) == 20_000


def test_class_mix(flows: pd.DataFrame) -> None:
    share = flows["label"].value_counts(normalize=True)
    assert 0.52 < share["normal"] < 0.58
    assert {"neptune", "smurf", "portsweep", "satan", "guess_passwd", "ipsweep"} <= set(share.index)


def test_attack_patterns(flows: pd.DataFrame) -> None:
    by = flows.groupby("label")
    neptune = flows[flows.label == "neptune"]
    assert (neptune.flag == "S0").mean() > 0.8
    assert neptune.src_bytes.eq(0).all() and neptune["count"].median() > 100
    assert neptune[neptune.flag == "S0"].serror_rate.mean() > 0.9
    smurf = flows[flows.label == "smurf"]
    assert smurf.service.eq("ecr_i").all() and smurf.protocol_type.eq("icmp").all()
    assert set(smurf.src_bytes.unique()) <= {1032, 520} and smurf["count"].median() >= 500
    sweeps = flows[flows.label.isin(["portsweep", "satan"])]
    assert sweeps.flag.isin(["REJ", "RSTO", "RSTR"]).mean() > 0.6
    assert sweeps.rerror_rate.mean() > 0.5 and sweeps.service.nunique() > 15
    guess = flows[flows.label == "guess_passwd"]
    assert guess.service.isin(["telnet", "ftp"]).all() and (guess.num_failed_logins > 0).all()
    normal = flows[flows.label == "normal"]
    assert (normal.flag == "SF").mean() > 0.85 and normal.src_bytes.std() > 100
    assert by["serror_rate"].mean()["normal"] < 0.05


def test_some_values_missing_but_few(flows: pd.DataFrame) -> None:
    missing = flows.isna().mean()
    assert missing.sum() > 0
    assert missing.max() < 0.05
    assert flows["label"].notna().all()


def test_classes_overlap_so_the_task_is_not_trivial(flows: pd.DataFrame) -> None:
    warez = flows[flows.label == "warezclient"]
    assert 0.015 < len(warez) / len(flows) < 0.035
    disguised = warez[(warez.hot == 0) & (warez.is_guest_login == 0) & (warez.flag == "SF")]
    normal_ftp = flows[(flows.label == "normal") & flows.service.isin(["ftp", "ftp_data"]) & (flows.flag == "SF")]
    assert len(disguised) > 0.3 * len(warez)
    assert disguised.src_bytes.between(normal_ftp.src_bytes.quantile(0.05), normal_ftp.src_bytes.quantile(0.95)).mean() > 0.5


def test_chunks_are_the_same_rows_for_any_chunk_size_across_blocks() -> None:
    rows = BLOCK_ROWS + 20_001
    whole = generate_flows(rows, seed=3)
    assert len(whole) == rows
    for chunk_size in (7_777, BLOCK_ROWS, rows + 5):
        chunks = list(synthetic_chunks(rows, 3, chunk_size))
        assert [len(c) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
        pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    second = synthetic_block(1, rows, 3)
    pd.testing.assert_frame_equal(second, whole.iloc[BLOCK_ROWS:].reset_index(drop=True))
    assert 0.52 < second["label"].eq("normal").mean() < 0.58
    assert not second.head(1000).equals(whole.head(1000))
