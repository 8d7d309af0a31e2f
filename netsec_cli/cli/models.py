"""`netsec models list|show|promote|rollback`: the model registry (artifacts/models, MLflow aliases)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netsec_cli.cli.common import run_options
from netsec_cli.cli.options import JsonOption, SyncOption, WaitOption
from netsec_cli.cli.output import console, emit, key_value_table, rows_table
from netsec_cli.cli.state import get_state

app = typer.Typer(
    help="The model registry: every trained model is a version; predict, evaluate and serve use the champion.",
    no_args_is_help=True,
)

VersionArgument = Annotated[str, typer.Argument(metavar="VERSION", help="A registered version (see `netsec models list`).")]


def _metric(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def _render_list(versions: list[dict[str, Any]]) -> None:
    if not versions:
        console.print("no registered models: run `netsec train`", markup=False, highlight=False)
        return
    header = ["version", "created", "source", "data sha256", "f1", "false alarms", "threshold", "alias"]
    rows = [
        [
            v["version"],
            v.get("created", ""),
            v.get("source", ""),
            (v.get("data_sha256") or "-")[:12],
            _metric(v.get("metrics", {}).get("f1")),
            _metric(v.get("metrics", {}).get("false_alarm_rate")),
            f"{v.get('threshold', 0):.4g}",
            ", ".join(f"@{a}" for a in v.get("aliases", [])),
        ]
        for v in versions
    ]
    console.print(rows_table("models", header, rows))


@app.command("list")
def list_models(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Every registered version: created, data sha256, test metrics, threshold and alias."""
    from netsec_cli.stages.registry import list_versions

    emit(list_versions(get_state(ctx).config), json_output, _render_list)


def _render_show(info: dict[str, Any]) -> None:
    rows = [(k, info.get(k)) for k in ("version", "created", "source", "type", "threshold", "data_sha256", "mlflow_run_id", "mlflow_version", "folder")]
    rows.append(("aliases", ", ".join(f"@{a}" for a in info.get("aliases", [])) or "-"))
    rows.extend((name, _metric(value)) for name, value in info.get("metrics", {}).items())
    console.print(key_value_table(f"model version {info.get('version')}", rows))


@app.command("show")
def show(ctx: typer.Context, version: VersionArgument, json_output: JsonOption = False) -> None:
    """One version in full: where it came from, its test metrics and its aliases."""
    from netsec_cli.stages.registry import show_version

    emit(show_version(get_state(ctx).config, version), json_output, _render_show)


def _render_change(change: Any) -> None:
    rows = [("champion", change.champion), ("previous champion", change.previous_champion), ("challenger", change.challenger)]
    console.print(key_value_table("models", rows))


@app.command("promote")
def promote(
    ctx: typer.Context, version: VersionArgument, json_output: JsonOption = False, sync: SyncOption = False, wait: WaitOption = 0.0
) -> None:
    """Make VERSION the champion (predict, evaluate and serve use it from now on)."""
    from netsec_cli.stages.registry import promote as promote_version

    change = promote_version(get_state(ctx).config, version, run_options(json_output, sync, wait))
    emit(change, json_output, _render_change)


@app.command("rollback")
def rollback(ctx: typer.Context, json_output: JsonOption = False, sync: SyncOption = False, wait: WaitOption = 0.0) -> None:
    """Make the previous champion the champion again."""
    from netsec_cli.stages.registry import rollback as rollback_champion

    change = rollback_champion(get_state(ctx).config, run_options(json_output, sync, wait))
    emit(change, json_output, _render_change)
