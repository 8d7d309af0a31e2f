"""`netsec validate`: check the ETL splits against their schema and for train/test drift.

Failures (they make `passed` false; the CLI exits 3):
  - a split with no rows; a schema column missing from a split, or a column the schema lacks;
  - a column whose dtype differs from the schema;
  - a column with more missing values than `validation.max_null_ratio`, or any missing target;
  - a training split without both normal and intrusion rows (nothing to learn);
  - training values outside the schema's categorical domain (the artifacts disagree);
  - drift, when the share of drifted columns exceeds `validation.drift_share` and
    `validation.fail_on_drift` is true (each drifted column is listed).
Warnings (reported, never failing):
  - test values unseen in training (the transform's encoder tolerates them);
  - a test split with one class only;
  - drifted columns while the data set as a whole is under the drift share, or when
    `fail_on_drift` is false.
Drift: KS for numeric features, chi-square (or PSI) for categorical ones, BH-corrected; a column
drifts when its adjusted p-value is below `agents.drift_detection_agent.threshold`.
Each split is read once in batches of `predict.chunk_size` rows (`split_stats.scan_parquet`): counts,
nulls and category counts cover every row; KS runs on a seeded sample of at most
`validation.sample_rows` rows per split (the whole split when it is smaller, so small data gives
exactly the whole-column figures); the report's `sampling` block says which.
`artifacts/validate/report.json` is written whether validation passes or fails, with `report.html`
beside it: the drift page (`report.DriftPage`: the train split as reference, the test split as current).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import ValidateFiles, open_stage, stage_dir, write_json_atomic
from netsec_cli.compute import Engine, open_engine
from netsec_cli.config import Config
from netsec_cli.errors import ValidationFailed
from netsec_cli.runner import RunOptions, run_stage, unchanged
from netsec_cli.schema import Schema
from netsec_cli.stages.drift_reference import drift_row, scan_split

if TYPE_CHECKING:
    from netsec_cli.drift import ColumnDrift
    from netsec_cli.split_stats import SplitStats

log = logging.getLogger("netsec_cli.stages.validate")

Issue = dict[str, str]


@dataclass
class ValidateResult:
    """Outcome of the schema and drift checks (failures and warnings are {column, check, detail})."""

    passed: bool
    schema_ok: bool
    drifted: bool
    drift_share: float
    drifted_columns: list[str]
    failures: list[Issue]
    warnings: list[Issue]
    report_path: Path
    retrain_recommended: bool = False
    columns_tested: int = 0
    train_rows: int = 0
    test_rows: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)
    sampling: dict[str, Any] = field(default_factory=dict)
    report_html: Path | None = None
    skipped: bool = False  # unchanged inputs: the published folder's recorded result (`runner.unchanged`)


def _issue(column: str, check: str, detail: str) -> Issue:
    return {"column": column, "check": check, "detail": detail}


def run_validate(config: Config, *, options: RunOptions = RunOptions()) -> ValidateResult:
    """Check artifacts/etl's train and test splits; write artifacts/validate/report.json; never raise on failure.

    Skipped, returning the published result, when nothing it reads changed (`runner.unchanged`)."""
    from netsec_cli.drift import drift_tests

    recorded = unchanged(config, "validate", options)
    if recorded is not None:
        files = ValidateFiles(recorded.folder)
        return ValidateResult(**{**recorded.result, "report_path": files.report, "report_html": files.page, "skipped": True})
    alpha = config.agents.drift_detection_agent.threshold
    with run_stage(config, "validate", options, fingerprint={}) as run, options.progress.task("validate", total=3) as task:
        etl = open_stage(config.artifacts_dir, "etl", "validate")
        schema = etl.load_schema()
        with open_engine(config) as engine:
            splits = {"train": _scan(config, schema, etl.train, 0, engine), "test": _scan(config, schema, etl.test, 1, engine)}
        failures: list[Issue] = []
        warnings: list[Issue] = []
        usable = _schema_checks(config, schema, splits, failures, warnings)
        task.advance()
        schema_ok = not failures
        train, test = splits["train"], splits["test"]
        results = drift_tests(
            {c: (train.sample[c], test.sample[c]) for c in schema.numerical if c in usable and c in train.sample},
            {c: (train.string_counts(c), test.string_counts(c)) for c in schema.categorical if c in usable},
            alpha=alpha,
            categorical_test=config.validation.categorical_test,
            psi_threshold=config.validation.psi_threshold,
        )
        task.advance()
        drifted_columns = [r.column for r in results if r.drifted]
        share = len(drifted_columns) / len(results) if results else 0.0
        drifted = share > config.validation.drift_share
        _drift_issues(config, results, drifted, failures, warnings)
        passed = schema_ok and not (drifted and config.validation.fail_on_drift)
        result = ValidateResult(
            passed=passed,
            schema_ok=schema_ok,
            drifted=drifted,
            drift_share=round(share, 6),
            drifted_columns=drifted_columns,
            failures=failures,
            warnings=warnings,
            report_path=ValidateFiles(stage_dir(config.artifacts_dir, "validate")).report,
            report_html=ValidateFiles(stage_dir(config.artifacts_dir, "validate")).page,
            retrain_recommended=share >= config.agents.retraining_agent.trigger_drift_threshold,
            columns_tested=len(results),
            train_rows=train.rows,
            test_rows=test.rows,
            drift=[drift_row(config, r) for r in results],
            sampling={
                "sample_rows": config.validation.sample_rows,
                "seed": config.split.seed,
                "train_sampled": train.sampled,
                "test_sampled": test.sampled,
                "train_sample_size": train.sample_size,
                "test_sample_size": test.sample_size,
            },
        )
        write_json_atomic(ValidateFiles(run.folder).report, _report(config, result))
        _write_page(ValidateFiles(run.folder).page, config, result, results, (train, test))
        task.advance()
        run.summary.update(passed=passed, failures=len(failures), warnings=len(warnings), drift_share=result.drift_share)
        run.record = asdict(result)
    return result


def _scan(config: Config, schema: Schema, path: Path, index: int, engine: Engine) -> SplitStats:
    """One pass over a split, its counts on `engine`; its sample is seeded by (`split.seed`, 0 for train / 1 for test)."""
    return scan_split(config, schema, path, config.validation.sample_rows, (config.split.seed, index), engine, target=True)


def _schema_checks(
    config: Config, schema: Schema, splits: dict[str, SplitStats], failures: list[Issue], warnings: list[Issue]
) -> set[str]:
    """Record schema failures/warnings; return the columns fit for drift tests (present, right dtype)."""
    from netsec_cli.schema_infer import column_dtype

    usable = set(schema.columns)
    for name, split in splits.items():
        if not split.rows or not split.columns:
            failures.append(_issue("*", "rows", f"{name} split has no rows"))
        for column in schema.columns:
            if column not in split.columns:
                failures.append(_issue(column, "missing_column", f"absent from the {name} split"))
                usable.discard(column)
                continue
            actual = column_dtype(split.frame[column])
            if actual == "int64" and split.nulls[column]:
                actual = "float64"  # what the whole column reads as
            if actual != schema.dtypes[column]:
                failures.append(_issue(column, "dtype", f"{name} split has {actual}, schema says {schema.dtypes[column]}"))
                usable.discard(column)
            _null_check(config, schema, name, split, column, failures)
        for column in split.columns:
            if column not in schema.columns:
                failures.append(_issue(str(column), "extra_column", f"in the {name} split but not in the schema"))
    _class_checks(schema, splits, failures, warnings)
    _domain_checks(schema, splits, usable, failures, warnings)
    return usable


def _null_check(config: Config, schema: Schema, name: str, split: SplitStats, column: str, failures: list[Issue]) -> None:
    missing = split.nulls[column]
    if not missing:
        return
    ratio, limit = missing / split.rows, config.validation.max_null_ratio
    if column == schema.target:
        failures.append(_issue(column, "null_ratio", f"{missing} rows of the {name} split have no target value"))
    elif ratio > limit:
        failures.append(
            _issue(column, "null_ratio", f"{ratio:.1%} missing in the {name} split (max {limit:.0%})")
        )


def _class_checks(schema: Schema, splits: dict[str, SplitStats], failures: list[Issue], warnings: list[Issue]) -> None:
    import pandas as pd

    for name, split in splits.items():
        if schema.target not in split.columns or not split.rows:
            continue
        counts = split.string_counts(schema.target)
        normal = schema.is_normal(pd.Series(counts.index, dtype="string")).to_numpy(dtype=bool)
        has_normal, has_other = bool(counts[normal].sum()), bool(counts[~normal].sum())
        if not (has_normal and has_other):
            only = "intrusion" if has_other else "normal"
            issue = _issue(schema.target, "target_classes", f"the {name} split holds {only} rows only")
            (failures if name == "train" else warnings).append(issue)


def _domain_checks(
    schema: Schema, splits: dict[str, SplitStats], usable: set[str], failures: list[Issue], warnings: list[Issue]
) -> None:
    """Categorical values outside the training domain: a failure in train, a warning in test."""
    for column in schema.categorical:
        known = schema.categorical_domains.get(column)
        if not known or column not in usable:
            continue
        for name, split in splits.items():
            counts = split.string_counts(column)
            counts = counts.groupby(counts.index.str.strip(), sort=False).sum()
            outside = counts[~counts.index.isin(known)]
            rows = int(outside.sum())
            if not rows:
                continue
            examples = ", ".join(sorted(str(v) for v in outside.index)[:5])
            detail = f"{rows} {name} rows ({rows / split.rows:.2%}) with values not seen in training: {examples}"
            (failures if name == "train" else warnings).append(_issue(column, "unseen_values", detail))


def _drift_issues(
    config: Config, results: list[ColumnDrift], drifted: bool, failures: list[Issue], warnings: list[Issue]
) -> None:
    alpha = config.agents.drift_detection_agent.threshold
    fail = drifted and config.validation.fail_on_drift
    for r in results:
        if r.drifted:
            detail = r.describe(alpha, config.validation.psi_threshold)
            (failures if fail else warnings).append(_issue(r.column, "drift", detail))


def _report(config: Config, result: ValidateResult) -> dict[str, Any]:
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **asdict(result),
        "settings": {
            "alpha": config.agents.drift_detection_agent.threshold,
            "correction": "benjamini-hochberg",
            "drift_share_threshold": config.validation.drift_share,
            "categorical_test": config.validation.categorical_test,
            "max_null_ratio": config.validation.max_null_ratio,
            "sample_rows": config.validation.sample_rows,
            "fail_on_drift": config.validation.fail_on_drift,
            "retrain_trigger": config.agents.retraining_agent.trigger_drift_threshold,
        },
    }


def _write_page(
    path: Path, config: Config, result: ValidateResult, results: list[ColumnDrift], splits: tuple[SplitStats, SplitStats]
) -> None:
    """The drift page: train (reference) against test (current), a histogram per drifted column."""
    from netsec_cli.report import (
        DriftPage,
        categorical_histogram,
        numeric_histogram,
        write_drift_page,
    )

    train, test = splits
    histograms = [
        numeric_histogram(r.column, train.sample[r.column], test.sample[r.column])
        if r.kind == "numerical"
        else categorical_histogram(r.column, train.string_counts(r.column), test.string_counts(r.column))
        for r in results
        if r.drifted
    ]
    page = DriftPage(
        title="netsec validate: drift report",
        facts=[
            ("reference", f"train split of artifacts/etl ({result.train_rows:,} rows)"),
            ("current", f"test split of artifacts/etl ({result.test_rows:,} rows)"),
            ("drift when adjusted p <", f"{config.agents.drift_detection_agent.threshold:g}"),
        ],
        drift_share=result.drift_share,
        trigger=config.agents.retraining_agent.trigger_drift_threshold,
        decision="retraining recommended (drifted share ≥ trigger)" if result.retrain_recommended else "no action",
        rows=result.drift,
        histograms=histograms,
    )
    write_drift_page(path, page)


def validation_error(result: ValidateResult) -> ValidationFailed:
    """The ValidationFailed error (exit 3) for a failed result; it carries the result for rendering."""
    columns = sorted({str(f["column"]) for f in result.failures}) or sorted(result.drifted_columns)
    shown = ", ".join(columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
    what = "data set drifted" if result.drifted and result.schema_ok else "schema check failed"
    return ValidationFailed(
        f"validation failed ({what}): {len(result.failures)} failing check(s) on {shown or 'the data set'}",
        hint=f"see {result.report_path}",
        result=result,
    )
