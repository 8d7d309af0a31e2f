"""The report page: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched).

`render_report` lays out the metrics, the charts (`charts`) and the per-attack / per-category
tables; `write_report` writes it atomically; `check_report_path` refuses anything but `.html`
before any work is done.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from netsec_cli import __version__
from netsec_cli.artifacts import write_text_atomic
from netsec_cli.errors import InputError
from netsec_cli.report.breakdown import AttackRow, Breakdown
from netsec_cli.report.charts import (
    TOP_FEATURES,
    importance_chart,
    matrix_chart,
    pr_chart,
    roc_chart,
    threshold_chart,
)
from netsec_cli.report.curves import compute_curves

REPORT_SUFFIX = ".html"

CSS = """
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.facts{display:flex;flex-wrap:wrap;gap:2px 18px;color:#616e7c;margin:0 0 18px}.facts b{color:#1f2933;font-weight:600}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(128px,1fr));gap:10px}
.tile{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px 12px}
.tile .v{font-size:22px;font-weight:650}.tile .k{color:#616e7c;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px}
figcaption{font-weight:600;margin-bottom:6px}figure svg{max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;border:1px solid #e4e7eb;width:100%}
th,td{padding:5px 10px;border-bottom:1px solid #eef0f2;text-align:right}th{background:#f0f3f6;font-weight:600}
td:first-child,th:first-child{text-align:left}.c{text-align:left}
.track{display:inline-block;width:120px;height:9px;background:#e4e7eb;border-radius:2px;vertical-align:middle;margin-right:8px}
.bar{display:block;height:9px;background:#2563eb;border-radius:2px}
.rate{white-space:nowrap;min-width:190px;text-align:left}.note{color:#616e7c}
"""


@dataclass
class ReportData:
    """What one report shows: labels and probabilities of the scored rows, their metrics
    (`models.binary_metrics`), feature importance and, when known, detection per attack."""

    title: str
    facts: list[tuple[str, str]]
    y_true: Any
    probability: Any
    metrics: dict[str, Any]
    importance: list[tuple[str, float]] = field(default_factory=list)
    breakdown: Breakdown | None = None
    note: str = ""


def check_report_path(path: Path) -> None:
    """Refuse a report path that is a folder or does not end in .html (InputError, exit 2)."""
    if path.suffix.lower() != REPORT_SUFFIX:
        raise InputError(f"unsupported report type {path.suffix or '(none)'!r} for {path} (use .html)")
    if path.is_dir():
        raise InputError(f"report path {path} is a folder", hint="pass a file name ending in .html")


def write_report(path: Path, data: ReportData) -> None:
    """Render `data` and write it to `path` atomically."""
    write_text_atomic(path, render_report(data))


def render_report(data: ReportData) -> str:
    """The whole HTML page."""
    curves = compute_curves(data.y_true, data.probability)
    m = data.metrics
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = [*data.facts, ("rows", f"{m['rows']:,}"), ("generated", f"{stamp} by netsec {__version__}")]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(data.title)}</h1>",
        facts_line(facts),
        _tiles(m),
        "<h2>Curves</h2>",
        '<div class="grid">',
        figure("ROC curve", roc_chart(curves, m)),
        figure("Precision-recall curve", pr_chart(curves, m)),
        figure("Detection and false-alarm rate against threshold", threshold_chart(curves, m)),
        figure("Confusion matrix at the threshold", matrix_chart(m)),
        "</div>",
        f"<h2>Top {TOP_FEATURES} features by importance</h2>",
        figure("Total gain per feature", importance_chart(data.importance)) if data.importance else '<p class="note">No feature importance.</p>',
        _breakdown(data.breakdown),
        f'<p class="note">{escape(data.note)}</p>' if data.note else "",
        "</main></body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _rate(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _tiles(m: dict[str, Any]) -> str:
    tiles = [
        ("accuracy", _rate(m["accuracy"])),
        ("detection rate (recall)", _rate(m["recall"])),
        ("false-alarm rate", _rate(m["false_alarm_rate"])),
        ("precision", _rate(m["precision"])),
        ("F1", f"{m['f1']:.4f}"),
        ("ROC-AUC", "n/a" if m.get("roc_auc") is None else f"{m['roc_auc']:.4f}"),
        ("PR-AUC", "n/a" if m.get("pr_auc") is None else f"{m['pr_auc']:.4f}"),
    ]
    return tiles_row(tiles)


def tiles_row(tiles: Sequence[tuple[str, str]]) -> str:
    """A row of headline tiles, each (caption, value), escaped."""
    cells = "".join(f'<div class="tile"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>' for k, v in tiles)
    return f'<div class="tiles">{cells}</div>'


def facts_line(facts: Sequence[tuple[str, str]]) -> str:
    """The page's line of (key, value) facts under the title, escaped."""
    return '<p class="facts">' + "".join(f"<span>{escape(k)} <b>{escape(v)}</b></span>" for k, v in facts) + "</p>"


def figure(caption: str, svg: str) -> str:
    """One captioned chart (`svg` is trusted markup from `report.svg`; the caption is escaped)."""
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def _breakdown(breakdown: Breakdown | None) -> str:
    if breakdown is None:
        return ""
    parts = []
    if breakdown.categories:
        parts.append("<h2>Detection rate per attack category (NSL-KDD)</h2>")
        parts.append(_table(["category", "rows", "detected", "detection rate"], breakdown.categories, with_category=False))
    parts.append("<h2>Detection rate per attack</h2>")
    parts.append(_table(["attack", "category", "rows", "detected", "detection rate"], breakdown.attacks, with_category=True))
    return "\n".join(parts)


_ALIGN = {"category": "c", "detection rate": "rate"}


def _table(header: Sequence[str], rows: Sequence[AttackRow], *, with_category: bool) -> str:
    head = "".join(f'<th class="{_ALIGN[h]}">{escape(h)}</th>' if h in _ALIGN else f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = [f"<td>{escape(row.name)}</td>"]
        if with_category:
            cells.append(f'<td class="c">{escape(row.category or "-")}</td>')
        cells += [f"<td>{row.rows:,}</td>", f"<td>{row.detected:,}</td>"]
        bar = f'<span class="track"><span class="bar" style="width:{row.detection_rate:.1%}"></span></span>'
        cells.append(f'<td class="rate">{bar}{row.detection_rate:.2%}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
