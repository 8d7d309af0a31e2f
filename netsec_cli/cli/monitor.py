"""`netsec monitor`: drift against the champion, a challenger on drift, promotion when it wins (for cron)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options, stage_config
from netsec_cli.cli.options import EngineOption, JsonOption, SourceOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table


class RetrainChoice(str, Enum):
    """When monitor trains a challenger."""

    never = "never"
    auto = "auto"
    always = "always"


def _figures(figures: Any, metric: str) -> str:
    if figures is None:
        return "-"
    m = figures.metrics
    return f"v{figures.version}: {metric} {m.get(metric)}, false alarms {m.get('false_alarm_rate')}, threshold {figures.threshold:.4g}"


def _render(result: Any) -> None:
    rows = [
        ("source", f"{result.source} ({result.rows} rows)"),
        ("drifted share", f"{result.drift_share:.3f} (trigger {result.trigger:.3f}; {len(result.drifted_columns)} columns)"),
        ("drifted columns", ", ".join(result.drifted_columns[:12]) + (" …" if len(result.drifted_columns) > 12 else "") or "-"),
        ("retrain", result.retrain),
        ("champion", _figures(result.champion, "f1")),
        ("challenger", _figures(result.challenger, "f1")),
        ("decision", f"{result.decision} (exit {result.exit_code})"),
        ("why", result.reason or "-"),
        ("report", f"{result.report} · {result.page}"),
        ("duration", f"{result.duration:.2f}s"),
    ]
    console.print(key_value_table("monitor", rows))


def monitor(
    ctx: typer.Context,
    source: SourceOption = None,
    retrain: Annotated[
        RetrainChoice,
        typer.Option("--retrain", case_sensitive=False, help="auto: train a challenger when the data drifted; always; never."),
    ] = RetrainChoice.auto,
    json_output: JsonOption = False,
    sync: SyncOption = False,
    wait: WaitOption = 0.0,
    engine: EngineOption = None,
) -> None:
    """Test new data for drift against the champion; on drift train a challenger, promote it only if better.

    The challenger is trained on the champion's training data plus the new data and judged,
    beside the champion, on the new data's held-out slice (agents.retraining_agent).

    Exit codes for cron: 0 no drift, 10 drift and challenger promoted, 11 drift and challenger
    rejected (champion kept), 3 drift with --retrain never (errors: 2 input, 4 service, 5 busy lock).
    """
    from netsec_cli.stages.monitor import run_monitor

    config = stage_config(ctx, engine)
    result = run_monitor(config, source=source, retrain=retrain.value, options=run_options(json_output, sync, wait))
    emit(result, json_output, _render)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
