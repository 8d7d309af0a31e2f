"""`netsec evaluate FILE`: how well the trained model detects intrusions in a labelled file.

Reads FILE through the tabular reader (any input etl and predict accept) with its target column,
and scores every chunk exactly as predict does (`netsec_cli.scoring`), so memory is bounded by
the chunk plus one label byte and one probability per row. The target is the model's schema
target and normal value unless `target` / `normal_value` say otherwise; rows without a label
are left out (and counted). The result holds the binary metrics at the operating threshold
(`models.binary_metrics`) and, when the intrusions carry several labels (attack names),
the detection rate per label and per NSL-KDD category (`report.breakdown`).

A file with no normal or no intrusion rows is refused (InputError, exit 2): half of the metrics
(false-alarm or detection rate, ROC-AUC, PR-AUC) would be undefined, and the usual cause is a
wrong `--normal-value`. `report` writes the HTML report (`netsec_cli.report`) atomically; nothing
is written under artifacts/, so the stage takes no lock. A `report` that resolves to the input
file or into the artifacts folder is refused up front (`artifacts.check_output_path`, exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import check_output_path
from netsec_cli.compute import Engine, open_engine
from netsec_cli.errors import InputError
from netsec_cli.models import binary_metrics
from netsec_cli.progress import Progress
from netsec_cli.report import (
    AttackRow,
    AttackTally,
    ReportData,
    check_report_path,
    named_importance,
    write_report,
)
from netsec_cli.runner import RunOptions, run_stage
from netsec_cli.scoring import Model, load_model, score
from netsec_cli.sources.tabular import (
    LabelledChunk,
    LabelledInput,
    labelled_schema,
    normal_text,
    open_labelled,
)

if TYPE_CHECKING:
    import numpy as np

    from netsec_cli.config import Config


@dataclass
class EvaluateResult:
    """What `netsec evaluate` measured."""

    input: Path
    target: str
    normal_value: str
    rows: int
    unlabelled: int
    threshold: float
    metrics: dict[str, Any]
    attacks: list[AttackRow] = field(default_factory=list)
    categories: list[AttackRow] = field(default_factory=list)
    report: Path | None = None
    duration: float = 0.0
    model_version: str | None = None  # the registry version that scored


@dataclass
class _Scored:
    """Everything the metrics need, accumulated over the chunks."""

    y_true: np.ndarray
    probability: np.ndarray
    unlabelled: int
    tally: AttackTally


def run_evaluate(
    config: Config,
    input_path: Path,
    *,
    report: Path | None = None,
    target: str | None = None,
    normal_value: str | None = None,
    threshold: float | None = None,
    model_version: str | None = None,
    options: RunOptions = RunOptions(),
) -> EvaluateResult:
    """Score every labelled row of `input_path`, measure detection, and write `report` if given.

    `threshold` overrides the model's operating threshold for this run."""
    if report is not None:
        check_report_path(Path(report))
        check_output_path(Path(report), option="--report", input_file=input_path, artifacts=config.artifacts_dir, hint="write elsewhere")
    with run_stage(config, "evaluate", options, publishes=False, input=input_path) as run:
        model = load_model(config, threshold, needed_by="evaluate", version=model_version)
        schema = labelled_schema(model.schema, target or model.schema.target)
        normal = normal_text(normal_value if normal_value is not None else model.schema.normal_value)
        source = open_labelled(Path(input_path), schema, config.predict.chunk_size, max_field_bytes=config.input.max_field_bytes)
        with open_engine(config) as engine:
            scored = _score(model, source, normal, engine, options.progress)
        _check_classes(source, scored, normal)
        metrics = binary_metrics(scored.y_true, scored.probability, model.threshold)
        breakdown = scored.tally.breakdown()
        if report is not None:
            facts = [
                ("input", str(source.path)),
                ("target", f"{source.target} (normal = {normal})"),
                ("model", model.kind),
                ("threshold", f"{model.threshold:.4g}"),
            ]
            if scored.unlabelled:
                facts.append(("rows without a label (left out)", f"{scored.unlabelled:,}"))
            importance = named_importance(model.feature_names, model.detector.importance()) if model.detector else []
            data = ReportData(f"netsec evaluate: {source.path.name}", facts, scored.y_true, scored.probability, metrics, importance, breakdown)
            write_report(Path(report), data)
        run.summary.update(rows=metrics["rows"], recall=metrics["recall"], false_alarm_rate=metrics["false_alarm_rate"])
    return EvaluateResult(
        input=source.path,
        target=source.target,
        normal_value=normal,
        rows=metrics["rows"],
        unlabelled=scored.unlabelled,
        threshold=model.threshold,
        metrics=metrics,
        attacks=breakdown.attacks if breakdown else [],
        categories=breakdown.categories if breakdown else [],
        report=Path(report) if report is not None else None,
        duration=run.elapsed(),
        model_version=model.version,
    )


def scored_chunk(chunk: LabelledChunk, model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One labelled chunk's probabilities, labels and missing-label mask, as engines map it."""
    return score(model, chunk.features), chunk.labels, chunk.missing


def _score(model: Model, source: LabelledInput, normal: str, engine: Engine, progress: Progress) -> _Scored:
    """Score each chunk on `engine`; keep the labelled rows' classes and probabilities and tally the attacks."""
    import numpy as np

    truths: list[np.ndarray] = []
    probabilities: list[np.ndarray] = []
    tally, unlabelled = AttackTally(), 0
    with progress.task("evaluate", total=source.rows) as bar:
        for probability, chunk_labels, missing in engine.map(scored_chunk, source.chunks(), model):
            labelled = ~missing
            labels, probability = chunk_labels[labelled], probability[labelled]
            intrusion = labels != normal
            tally.add(labels[intrusion], probability[intrusion] >= model.threshold)
            truths.append(intrusion.astype(np.int8))
            probabilities.append(probability)
            unlabelled += int(np.count_nonzero(missing))
            bar.advance(len(chunk_labels))
    return _Scored(
        y_true=np.concatenate(truths) if truths else np.zeros(0, dtype=np.int8),
        probability=np.concatenate(probabilities) if probabilities else np.zeros(0),
        unlabelled=unlabelled,
        tally=tally,
    )


def _check_classes(source: LabelledInput, scored: _Scored, normal: str) -> None:
    """Both classes must be present (see the module docstring)."""
    import numpy as np

    intrusions = int(np.count_nonzero(scored.y_true))
    if len(scored.y_true) == 0:
        raise InputError(f"no row of {source.path} has a value in target column {source.target!r}")
    if intrusions == len(scored.y_true):
        seen = sorted(scored.tally.rows, key=lambda name: (-scored.tally.rows[name], name))[:8]
        raise InputError(
            f"no row of {source.path} has target {source.target!r} equal to the normal value {normal!r} "
            f"(values seen: {', '.join(seen)})",
            hint="pass --normal-value; evaluate needs normal and intrusion rows",
        )
    if intrusions == 0:
        raise InputError(
            f"every row of {source.path} is normal (target {source.target!r} = {normal!r})",
            hint="evaluate needs normal and intrusion rows; `netsec predict` counts the alerts on normal-only traffic",
        )
