"""The drift reference kept with every model: what its training rows looked like.

Train writes it into its folder (and so into the registered version): `reference.json` holds the
training split's row count and, for every categorical column, the count of each value (every
row); `reference.parquet` a seeded sample (`agents.drift_detection_agent.reference_rows` rows,
seed `model.seed`) of the numeric columns. `netsec monitor` tests new data against the champion's
reference with the same tests `validate` uses (`drift_against`), so drift is always measured
against the data the model in service learned from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import TrainFiles, write_json_atomic
from netsec_cli.errors import InputError, NetsecError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from netsec_cli.compute import Engine
    from netsec_cli.config import Config
    from netsec_cli.drift import ColumnDrift
    from netsec_cli.schema import Schema
    from netsec_cli.split_stats import SplitStats


@dataclass(frozen=True)
class Reference:
    """A model's training data in summary: categorical value counts and a numeric sample."""

    rows: int
    counts: dict[str, pd.Series]
    sample: dict[str, np.ndarray]


def scan_split(
    config: Config, schema: Schema, path: Path, rows: int, seed: tuple[int, int], engine: Engine, *, target: bool = False
) -> SplitStats:
    """One pass over a Parquet split: value counts of the categorical columns (and the target with
    `target`), a seeded sample of `rows` rows of the numeric ones; InputError naming `netsec etl`."""
    from netsec_cli.split_stats import scan_parquet

    try:
        return scan_parquet(
            path,
            counted=[*schema.categorical, *([schema.target] if target else [])],
            numeric=list(schema.numerical),
            sample_rows=rows,
            seed=seed,
            batch_size=config.predict.chunk_size,
            mapper=engine,
        )
    except NetsecError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise InputError(f"cannot read {path}: {exc}", hint="re-run `netsec etl`") from None


def write_reference(config: Config, schema: Schema, train_split: Path, files: TrainFiles, engine: Engine) -> None:
    """Summarise `train_split` into `files`' reference.json and reference.parquet."""
    import pandas as pd

    stats = scan_split(config, schema, train_split, config.agents.drift_detection_agent.reference_rows, (config.model.seed, 0), engine)
    counts = {c: {str(k): int(v) for k, v in stats.string_counts(c).items()} for c in schema.categorical if c in stats.counts}
    write_json_atomic(files.reference, {"rows": stats.rows, "categorical": counts, "numeric": sorted(stats.sample)})
    longest = max((len(v) for v in stats.sample.values()), default=0)
    frame = pd.DataFrame({c: _padded(v, longest) for c, v in stats.sample.items()})
    frame.to_parquet(files.reference_sample, index=False)


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    import numpy as np

    out = np.full(length, np.nan, dtype="float64")
    out[: len(values)] = values
    return out


def load_reference(files: TrainFiles) -> Reference:
    """The reference of a model unit; InputError (exit 2) when it has none (trained before references)."""
    import numpy as np
    import pandas as pd

    if not files.reference.is_file() or not files.reference_sample.is_file():
        raise InputError(f"the model in {files.folder} has no drift reference", hint="train it again (`netsec train`)")
    raw: Any = files.read_json(files.reference, "train")
    counts = {c: pd.Series(v, dtype="int64").rename_axis(c) for c, v in dict(raw.get("categorical", {})).items()}
    for series in counts.values():
        series.index = series.index.astype("string")
    frame = pd.read_parquet(files.reference_sample)
    sample = {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns}
    return Reference(int(raw.get("rows", 0)), counts, sample)


def drift_against(config: Config, reference: Reference, current: SplitStats) -> list[ColumnDrift]:
    """validate's drift tests (KS, chi-square or PSI, Benjamini-Hochberg) of `current` against `reference`."""
    from netsec_cli.drift import drift_tests

    numeric = {c: (reference.sample[c], current.sample[c]) for c in reference.sample if c in current.sample}
    categorical = {c: (reference.counts[c], current.string_counts(c)) for c in reference.counts if c in current.counts}
    return drift_tests(
        numeric,
        categorical,
        alpha=config.agents.drift_detection_agent.threshold,
        categorical_test=config.validation.categorical_test,
        psi_threshold=config.validation.psi_threshold,
    )


def drift_row(config: Config, r: ColumnDrift) -> dict[str, Any]:
    """One column's drift as validate's and monitor's reports (and the drift page) show it."""
    detail = r.describe(config.agents.drift_detection_agent.threshold, config.validation.psi_threshold)
    return {
        "column": r.column,
        "kind": r.kind,
        "test": r.test,
        "statistic": round(r.statistic, 6),
        "p_value": r.p_value,
        "p_adjusted": r.p_adjusted,
        "drifted": r.drifted,
        "detail": detail,
    }
