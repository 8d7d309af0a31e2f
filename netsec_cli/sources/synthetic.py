"""A deterministic generator of NSL-KDD-shaped flow records with realistic attack patterns.

Each row is drawn from one traffic profile (`synthetic_profiles`): normal traffic (http, smtp,
ftp, dns, ...), SYN floods (`neptune`: S0 flags, hundreds of half-open connections, no payload),
ICMP smurf floods (`ecr_i` echo replies of 1032 or 520 bytes at huge counts), port sweeps and
probes (`portsweep`, `satan`, `ipsweep`: REJ/RSTO flags, high reject rates, many services),
password guessing (`guess_passwd` on telnet/ftp with failed logins), two rarer attacks (`back`,
`teardrop`) and `warezclient` misuse that looks like normal ftp traffic. A little noise (flipped
flags, jittered rates) blurs the classes, and a few rate values are missing so that imputation
matters. Everything is vectorised: a million rows take a couple of seconds.

Rows come in fixed blocks of `BLOCK_ROWS`: block 0 draws from the seed's own random stream, block
b >= 1 from its b-th spawned child stream, so a block depends only on (seed, b, its length) and the
rows are the same whatever chunk size a consumer reads them in (`synthetic_chunks`), and blocks can
be generated apart (`synthetic_block`). Up to `BLOCK_ROWS` rows are a single block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from netsec_cli.schema import Schema, shipped_schema
from netsec_cli.sources.synthetic_profiles import (
    FLAGS,
    MISSING_SHARE,
    NOISE_SHARE,
    PROFILES,
    PROTOCOL_OF,
    PROTOCOLS,
    RATE_COLUMNS_WITH_GAPS,
    SERVICES,
    UDP_OVERRIDES,
    Rng,
)

if TYPE_CHECKING:
    import pandas as pd

BLOCK_ROWS = 100_000


def block_count(rows: int) -> int:
    """How many blocks `rows` rows take."""
    return -(-rows // BLOCK_ROWS)


def synthetic_block(block: int, rows: int, seed: int) -> pd.DataFrame:
    """Block `block` of the `rows` flows generated with `seed` (a plain function: blocks can be
    generated in any order, or apart)."""
    if not 0 <= block < block_count(rows):
        raise ValueError(f"block {block} is outside the {block_count(rows)} block(s) of {rows} rows")
    size = min(BLOCK_ROWS, rows - block * BLOCK_ROWS)
    stream = np.random.SeedSequence(seed) if block == 0 else np.random.SeedSequence(seed, spawn_key=(block,))
    return _flows(size, np.random.default_rng(stream), Schema.load(shipped_schema("nsl_kdd")))


def synthetic_chunks(rows: int, seed: int, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The `rows` flows of `seed` as frames of `chunk_size` rows (the last one shorter), index from
    0 in each; their concatenation is the same for every chunk size. Memory: one block and one chunk."""
    import pandas as pd

    pending: list[pd.DataFrame] = []
    buffered = 0
    for block in range(block_count(rows)):
        pending.append(synthetic_block(block, rows, seed))
        buffered += len(pending[-1])
        while buffered >= chunk_size:
            joined = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield joined.iloc[:chunk_size].reset_index(drop=True)
            pending, buffered = [joined.iloc[chunk_size:]], buffered - chunk_size
    if buffered:
        yield pd.concat(pending, ignore_index=True)


def generate_flows(rows: int, seed: int) -> pd.DataFrame:
    """`rows` NSL-KDD-shaped flow records; the same seed always gives the identical frame."""
    import pandas as pd

    blocks = [synthetic_block(block, rows, seed) for block in range(block_count(rows))]
    return blocks[0] if len(blocks) == 1 else pd.concat(blocks, ignore_index=True)


def _codes(rng: Rng, n: int, choices: tuple[list[str], list[float]], vocabulary: list[str]) -> np.ndarray:
    """Draw `n` values from `choices`, returned as indices into `vocabulary`."""
    values, weights = choices
    p = np.asarray(weights, dtype=float)
    lookup = np.array([vocabulary.index(v) for v in values])
    return lookup[rng.choice(len(values), n, p=p / p.sum())]


def _strings(codes: np.ndarray, vocabulary: list[str]) -> pd.Series:
    """Codes turned into a `string` column (through Arrow: no Python string per row)."""
    import pandas as pd
    import pyarrow as pa

    return pd.Series(pd.array(pa.array(vocabulary).take(pa.array(codes)), dtype="string"))


def _flows(rows: int, rng: Rng, schema: Schema) -> pd.DataFrame:
    """`rows` flow records drawn from `rng`, in `schema`'s columns and dtypes."""
    import pandas as pd

    shares = np.array([p.share for p in PROFILES])
    kinds = rng.choice(len(PROFILES), rows, p=shares / shares.sum())
    numeric = {c: np.zeros(rows) for c in schema.numerical + ["difficulty"]}
    service = np.zeros(rows, dtype=np.int64)
    flag = np.zeros(rows, dtype=np.int64)
    for index, profile in enumerate(PROFILES):
        mask = kinds == index
        n = int(mask.sum())
        if n == 0:
            continue
        service[mask] = _codes(rng, n, profile.services, SERVICES)
        flag[mask] = _codes(rng, n, profile.flags, FLAGS)
        for column, draw in profile.numbers.items():
            numeric[column][mask] = draw(rng, n)
    protocol = np.array([PROTOCOLS.index(PROTOCOL_OF[s]) for s in SERVICES])[service]
    labels = [p.label for p in PROFILES]
    for label, proto in UDP_OVERRIDES.items():
        protocol[kinds == labels.index(label)] = PROTOCOLS.index(proto)
    _consistency(numeric, kinds == labels.index("smurf"), (kinds == labels.index("neptune")) & (flag == FLAGS.index("REJ")))
    _add_noise(rng, numeric, flag, rows)
    text = {
        "protocol_type": _strings(protocol, PROTOCOLS),
        "service": _strings(service, SERVICES),
        "flag": _strings(flag, FLAGS),
        "label": _strings(kinds, labels),
    }
    data = {}
    for column in schema.columns:
        if column in text:
            data[column] = text[column]
        elif schema.dtypes[column] == "int64":
            data[column] = numeric[column].astype("int64")
        else:
            data[column] = numeric[column].astype("float64")
    frame = pd.DataFrame(data)
    for column in RATE_COLUMNS_WITH_GAPS:
        frame.loc[rng.random(rows) < MISSING_SHARE, column] = np.nan
    return frame


def _consistency(numeric: dict[str, np.ndarray], smurf: np.ndarray, rejected_syn: np.ndarray) -> None:
    """Relations real flows obey: counts of at least one, smurf replies all to one service,
    SYN-flood connections answered with REJ counted as rejects rather than SYN errors."""
    for column in ("count", "srv_count", "dst_host_count", "dst_host_srv_count"):
        numeric[column] = np.maximum(numeric[column], 1)
    numeric["srv_count"][smurf] = numeric["count"][smurf]
    for syn in ("serror_rate", "srv_serror_rate", "dst_host_serror_rate", "dst_host_srv_serror_rate"):
        rej = syn.replace("serror", "rerror")
        numeric[syn][rejected_syn], numeric[rej][rejected_syn] = numeric[rej][rejected_syn], numeric[syn][rejected_syn]


def _add_noise(rng: Rng, numeric: dict[str, np.ndarray], flag: np.ndarray, rows: int) -> None:
    """Blur the classes a little: random flags and jittered rates on a few percent of rows."""
    flipped = rng.random(rows) < NOISE_SHARE / 3
    flag[flipped] = rng.integers(0, len(FLAGS), int(flipped.sum()))
    for column in ("serror_rate", "rerror_rate", "same_srv_rate", "dst_host_same_srv_rate", "dst_host_serror_rate"):
        jitter = rng.random(rows) < NOISE_SHARE
        values = numeric[column]
        values[jitter] = np.clip(np.round(values[jitter] + rng.normal(0, 0.15, int(jitter.sum())), 2), 0.0, 1.0)
