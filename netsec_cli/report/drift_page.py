"""The drift report: one self-contained HTML page for `netsec validate` and `netsec monitor`.

The page shows the drifted share of the tested columns against the retraining trigger and the
decision taken, a table of every tested column (test, statistic, p-values, drift flag; sorted by
adjusted p-value, re-sorted by clicking a header) and, per drifted column, a histogram of the
reference against the current rows (`histograms`). Nothing is fetched: CSS, SVG and the one small
sorting script are inline, and a Content-Security-Policy allows that script (by its hash) and
nothing else. No row value is embedded, only rounded bin edges, shares and test figures.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from netsec_cli import __version__
from netsec_cli.artifacts import write_text_atomic
from netsec_cli.report.histograms import (
    Histogram,
    categorical_histogram,
    numeric_histogram,
)
from netsec_cli.report.html import CSS, facts_line, figure, tiles_row
from netsec_cli.report.svg import BLUE, ORANGE, BarSeries, grouped_bars

__all__ = ["DriftPage", "Histogram", "categorical_histogram", "numeric_histogram", "render_drift_page", "write_drift_page"]

_DRIFT_CSS = """
.summary{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px;margin-top:12px}
.gauge{position:relative;height:14px;background:#e4e7eb;border-radius:3px;margin:8px 0 2px;max-width:520px}
.gauge .fill{position:absolute;left:0;top:0;bottom:0;background:#2563eb;border-radius:3px}
.gauge .mark{position:absolute;top:-5px;bottom:-5px;width:2px;margin-left:-1px;background:#1f2933}
.over .gauge .fill{background:#dc2626}.scale{display:flex;justify-content:space-between;max-width:520px;color:#616e7c;font-size:12px}
.decision{font-weight:650;margin:8px 0 0}.over .decision{color:#b91c1c}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.drift td{background:#fdecec}#drift td{white-space:nowrap}
.grid.hist{grid-template-columns:repeat(auto-fill,minmax(460px,1fr))}
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (head, index) {
    head.addEventListener("click", function () {
      var numeric = head.dataset.type === "num";
      var order = head.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
      head.setAttribute("aria-sort", order === 1 ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[index];
        var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
        return numeric ? (raw === "" ? NaN : Number(raw)) : raw;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (numeric) {
          if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
          return (x - y) * order;
        }
        return x.localeCompare(y) * order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)
_GAUGE_TOPS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
_TESTS = {"ks": "KS", "chi2": "chi-square", "psi": "PSI"}
# (header, row key, numeric)
_COLUMNS = (
    ("column", "column", False),
    ("kind", "kind", False),
    ("test", "test", False),
    ("statistic", "statistic", True),
    ("p-value", "p_value", True),
    ("adjusted p-value", "p_adjusted", True),
    ("drifted", "drifted", True),
)


@dataclass(frozen=True)
class DriftPage:
    """What one drift report shows (`rows` are validate's drift rows, one per tested column;
    `histograms` one per drifted column)."""

    title: str
    facts: list[tuple[str, str]]
    drift_share: float
    trigger: float
    decision: str
    rows: list[dict[str, Any]]
    histograms: list[Histogram]


def write_drift_page(path: Path, page: DriftPage) -> None:
    """Render `page` and write it to `path` atomically."""
    write_text_atomic(path, render_drift_page(page))


def render_drift_page(page: DriftPage) -> str:
    """The whole HTML page."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = [*page.facts, ("generated", f"{stamp} by netsec {__version__}")]
    drifted = sum(1 for row in page.rows if row.get("drifted"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(page.title)}</title><style>{CSS}{_DRIFT_CSS}</style></head><body><main>",
        f"<h1>{escape(page.title)}</h1>",
        facts_line(facts),
        tiles_row(
            [
                ("drifted columns", f"{drifted:,} of {len(page.rows):,}"),
                ("drifted share", f"{page.drift_share:.1%}"),
                ("retraining trigger", f"{page.trigger:.1%}"),
            ]
        ),
        _summary(page),
        "<h2>Columns</h2>",
        '<p class="note">Sorted by adjusted p-value (Benjamini–Hochberg); click a header to sort by it, hover a column for its test.</p>',
        _table(page.rows),
        _histograms(page.histograms),
        f"<script>{_SORT_SCRIPT}</script>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(page: DriftPage) -> str:
    """The drifted share as a bar against the trigger's mark, and the decision."""
    top = next((t for t in _GAUGE_TOPS if t >= max(page.drift_share, page.trigger) * 1.25), 1.0)
    fill, mark = min(page.drift_share / top, 1.0), min(page.trigger / top, 1.0)
    over = " over" if page.drift_share >= page.trigger else ""
    relation = "at or above" if over else "below"
    label = f"drifted share {page.drift_share:.1%} {relation} the retraining trigger {page.trigger:.1%}"
    return (
        f'<div class="summary{over}" id="summary"><div>{escape(label)}</div>'
        f'<div class="gauge" role="img" aria-label="{escape(label)}">'
        f'<span class="fill" style="width:{fill:.2%}"></span><span class="mark" style="left:{mark:.2%}" title="trigger {page.trigger:.1%}"></span></div>'
        f'<div class="scale"><span>0%</span><span>{top:.0%}</span></div>'
        f'<p class="decision" id="decision">{escape(page.decision)}</p></div>'
    )


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Adjusted p-value ascending (none last: PSI rows), then drifted first, then larger statistic."""
    p = row.get("p_adjusted")
    missing = p is None or math.isnan(p)
    return (missing, 0.0 if missing else p, not row.get("drifted"), -float(row.get("statistic") or 0.0), str(row.get("column")))


def _table(rows: Sequence[dict[str, Any]]) -> str:
    head = "".join(_header(name, key, numeric) for name, key, numeric in _COLUMNS)
    body = []
    for row in sorted(rows, key=_order):
        cells = [f'<td title="{escape(str(row.get("detail", "")))}">{escape(str(row.get("column", "")))}</td>']
        cells.append(f'<td class="c">{escape(str(row.get("kind", "")))}</td>')
        cells.append(f'<td class="c">{escape(_TESTS.get(str(row.get("test")), str(row.get("test", ""))))}</td>')
        for key in ("statistic", "p_value", "p_adjusted"):
            cells.append(_number_cell(row.get(key), key != "statistic"))
        flag = bool(row.get("drifted"))
        cells.append(f'<td data-v="{int(flag)}">{"yes" if flag else "no"}</td>')
        body.append(("<tr class='drift'>" if flag else "<tr>") + "".join(cells) + "</tr>")
    return f'<table class="sortable" id="drift"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _header(name: str, key: str, numeric: bool) -> str:
    kind = "num" if numeric else "text"
    extra = ' aria-sort="ascending"' if key == "p_adjusted" else ""
    extra += "" if numeric else ' class="c"'
    return f'<th data-type="{kind}"{extra}>{escape(name)}</th>'


def _number_cell(value: Any, probability: bool) -> str:
    if value is None:
        return '<td data-v="">–</td>'
    number = float(value)
    if probability:
        shown = f"{number:.2e}" if 0 < number < 1e-4 else f"{number:.4f}"
    else:
        shown = f"{number:.4g}"
    return f'<td data-v="{number!r}">{escape(shown)}</td>'


def _histograms(histograms: Sequence[Histogram]) -> str:
    if not histograms:
        return '<h2>Drifted columns</h2><p class="note">No column drifted.</p>'
    figures = []
    for item in histograms:
        series = [BarSeries("reference", item.reference, BLUE), BarSeries("current", item.current, ORANGE)]
        figures.append(figure(item.column, grouped_bars(f"{item.column}: reference vs current", item.labels, series)))
    return '<h2>Drifted columns: reference vs current</h2><div class="grid hist">' + "".join(figures) + "</div>"
