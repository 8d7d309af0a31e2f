"""The drift report: histograms on common bins, the self-contained page, validate's report.html and
the page in a real headless Chromium (scripts on: the header click sorts the table)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from netsec_cli.artifacts import pipeline_lock, staged_stage
from netsec_cli.report import (
    DriftPage,
    Histogram,
    categorical_histogram,
    numeric_histogram,
    render_drift_page,
    write_drift_page,
)
from tests.fixtures.browser import Browser, Tab
from tests.fixtures.project import Project, small_config

HOSTILE = "<script>alert(1)</script>"
PLANTED = 123456.789
SHIFTED = ("src_bytes", "count", "dst_host_count")


def _row(column: str, p_adjusted: float | None, drifted: bool, statistic: float = 0.5, test: str = "ks") -> dict[str, Any]:
    return {
        "column": column,
        "kind": "numerical" if test == "ks" else "categorical",
        "test": test,
        "statistic": statistic,
        "p_value": None if p_adjusted is None else p_adjusted / 2,
        "p_adjusted": p_adjusted,
        "drifted": drifted,
        "detail": f"{column} detail",
    }


def _page(rows: list[dict[str, Any]], histograms: list[Histogram], share: float = 0.5) -> DriftPage:
    return DriftPage(
        title="drift of <b>test</b>",
        facts=[("reference", "train split"), ("current", "test split")],
        drift_share=share,
        trigger=0.07,
        decision="retraining recommended (drifted share ≥ trigger)",
        rows=rows,
        histograms=histograms,
    )


class _Page(HTMLParser):
    """What a test reads back from the HTML: the body rows' cells, figures, scripts, resource attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.figures = self.scripts = 0
        self.resources: list[str] = []
        self.tags: set[str] = set()
        self._in_body = self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.resources += [str(v) for k, v in attrs if k in ("src", "href", "action", "data", "xlink:href")]
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")
        self.figures += tag == "figure"
        self.scripts += tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_body = self._in_body and tag != "tbody"
        self._in_cell = self._in_cell and tag != "td"

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data


# --- histograms -------------------------------------------------------------------------------


def test_numeric_histogram_has_common_bins_and_ignores_nan() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(0.0, 1.0, 5000), rng.normal(10.0, 1.0, 5000)
    hist = numeric_histogram("x", np.append(reference, [np.nan, np.inf, -np.inf]), np.append(current, np.nan), bins=20)
    assert len(hist.labels) == len(hist.reference) == len(hist.current) == 20
    assert sum(hist.reference) == pytest.approx(1.0, abs=1e-5) and sum(hist.current) == pytest.approx(1.0, abs=1e-5)
    assert hist == numeric_histogram("x", reference, current, bins=20)  # NaN and infinities change nothing
    # common edges: the first bin starts at the lower side's minimum, the last ends at the other's maximum
    assert hist.labels[0].startswith(f"{reference.min():.3g}") and hist.labels[-1].endswith(f"{current.max():.3g}")
    assert sum(hist.reference[:10]) > 0.99 and sum(hist.current[10:]) > 0.99


def test_numeric_histogram_constant_and_few_integers() -> None:
    constant = numeric_histogram("c", np.full(10, 7.0), np.array([7.0, np.nan]))
    assert (constant.labels, constant.reference, constant.current) == (["7"], [1.0], [1.0])
    flags = numeric_histogram("f", np.array([0.0, 1.0, 1.0, 2.0]), np.array([2.0, 2.0, 3.0]))
    assert flags.labels == ["0", "1", "2", "3"]
    assert flags.reference == [0.25, 0.5, 0.25, 0.0] and flags.current == [0.0, 0.0, 0.666667, 0.333333]
    empty = numeric_histogram("e", np.array([np.nan]), np.array([], dtype=float))
    assert empty.labels == [] and empty.reference == [] and empty.current == []


def test_numeric_histogram_labels_are_rounded_and_distinct() -> None:
    narrow = numeric_histogram("n", np.array([1000.0, 1000.5]), np.array([1000.25]), bins=4)
    assert len(set(narrow.labels)) == 4 and all("–" in label for label in narrow.labels), narrow.labels
    wide = numeric_histogram("w", np.array([0.0, PLANTED]), np.array([5.0e9]), bins=5)
    assert wide.labels[0] == "0–1G" and wide.labels[-1] == "4G–5G", wide.labels


def test_categorical_histogram_keeps_the_top_and_sums_the_rest_as_other() -> None:
    reference = pd.Series({"tcp": 60, "udp": 30, "icmp": 6, "gre": 4})
    current = pd.Series({"tcp": 10, "icmp": 80, "sctp": 10})
    hist = categorical_histogram("protocol", reference, current, top=2)
    assert hist.labels == ["icmp", "tcp", "other"]
    assert hist.reference == [0.06, 0.6, 0.34] and hist.current == [0.8, 0.1, 0.1]
    whole = categorical_histogram("protocol", reference, current)
    assert "other" not in whole.labels and len(whole.labels) == 5
    assert sum(whole.reference) == pytest.approx(1.0) and sum(whole.current) == pytest.approx(1.0)


# --- the page ---------------------------------------------------------------------------------


def test_page_is_self_contained_escaped_and_has_one_row_per_column() -> None:
    rows = [_row(HOSTILE, 1e-9, True), _row("b", 0.8, False, 0.01), _row("c", None, False, 0.05, "psi"), _row("a", 0.02, True)]
    hist = numeric_histogram(HOSTILE, np.arange(100.0), np.arange(50.0, 150.0))
    html = render_drift_page(_page(rows, [hist]))
    parsed = _Page(html)
    assert [r[0] for r in parsed.rows] == [HOSTILE, "a", "b", "c"]  # by adjusted p-value, none last
    assert [r[6] for r in parsed.rows] == ["yes", "yes", "no", "no"]
    assert html.count("<tr") == len(rows) + 1 and parsed.figures == 1
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<b>test</b>" not in html
    assert parsed.scripts == 1 and parsed.resources == [] and "link" not in parsed.tags and "img" not in parsed.tags
    assert not re.search(r"https?://|@import|url\(", html)
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html and "default-src 'none'" in html
    assert "retraining recommended (drifted share ≥ trigger)" in html and "50.0%" in html and "7.0%" in html
    assert '<td title="a detail">a</td>' in html


def test_page_with_nothing_drifted_says_so(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_drift_page(path, _page([_row("a", 0.9, False)], [], share=0.0))
    html = path.read_text(encoding="utf-8")
    assert "No column drifted." in html and len(_Page(html).rows) == 1 and "below the retraining trigger" in html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # written atomically, no temporary left


def test_hundred_drifted_columns_stay_under_a_megabyte_without_raw_values() -> None:
    rng = np.random.default_rng(11)
    rows, histograms, planted = [], [], []
    for i in range(100):
        name = f"feature_{i:03d}"
        rows.append(_row(name, float(rng.uniform(0, 1e-3)), True, float(rng.uniform(0.1, 1.0))))
        if i % 5:
            reference, current = rng.lognormal(3.0, 2.0, 50_000), rng.lognormal(4.0, 2.0, 50_000)
            reference[rng.integers(50_000)] = PLANTED + i
            planted += [reference[0], current[0]]
            histograms.append(numeric_histogram(name, reference, current))
        else:
            values = np.array([f"value_{k}" for k in range(40)])
            histograms.append(categorical_histogram(name, pd.Series(rng.integers(1, 1000, 40), index=values), pd.Series(rng.integers(1, 1000, 40), index=values)))
    html = render_drift_page(_page(rows, histograms, share=1.0))
    assert len(html.encode("utf-8")) < 1_000_000, len(html)
    assert len(_Page(html).rows) == 100 and _Page(html).figures == 100
    assert "123456" not in html and "123,456" not in html
    assert not [v for v in planted if repr(float(v)) in html or f"{v:.6f}" in html]


# --- validate writes it -----------------------------------------------------------------------


def _shift_test_split(project: Project) -> None:
    """Republish artifacts/etl with three numeric columns of the test split shifted."""
    etl = project.artifacts / "etl"
    with pipeline_lock(project.artifacts), staged_stage(project.artifacts, "etl") as staging:
        for name in ("raw.parquet", "train.parquet", "schema.yaml"):
            shutil.copy(etl / name, staging / name)
        frame = pd.read_parquet(etl / "test.parquet")
        frame = frame.assign(src_bytes=frame["src_bytes"] * 10 + 5000, count=frame["count"] + 300, dst_host_count=frame["dst_host_count"] // 4)
        frame.to_parquet(staging / "test.parquet", index=False)


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory, tracking_db: Path) -> tuple[Project, Result]:
    """A synthetic project whose test split drifted in three columns, validated once (`--json`)."""
    root = tmp_path_factory.mktemp("drift-project")
    project = Project(root=root, runner=CliRunner())
    project.write_config(small_config(root, tracking_db))
    etl = project.invoke("etl", "-s", "synthetic")
    assert etl.exit_code == 0, etl.output
    _shift_test_split(project)
    return project, project.invoke("validate", "--json")


def test_validate_writes_the_drift_page(validated: tuple[Project, Result]) -> None:
    project, result = validated
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    page = project.artifacts / "validate" / "report.html"
    assert data["report_html"] == str(page) and page.is_file()
    assert "report.html" in [f["path"] for f in json.loads((project.artifacts / "validate" / "manifest.json").read_text())["files"]]
    html = page.read_text(encoding="utf-8")
    parsed = _Page(html)
    assert len(parsed.rows) == data["columns_tested"] == 41
    assert sorted(r[0] for r in parsed.rows if r[6] == "yes") == sorted(data["drifted_columns"]) == sorted(SHIFTED)
    assert parsed.figures == len(SHIFTED) and parsed.resources == []
    assert "retraining recommended (drifted share ≥ trigger)" in html
    shown = project.invoke("validate", env={"COLUMNS": "400"})
    assert shown.exit_code == 0 and re.search(r"drift page\s*│\s*" + re.escape(str(page)), shown.stdout), shown.stdout


# --- in Chromium ------------------------------------------------------------------------------


@pytest.fixture
def script_tab(browser: Browser) -> Iterator[Tab]:
    opened = browser.tab(scripts=True)
    try:
        yield opened
    finally:
        opened.close()


def _first_cells(tab: Tab, index: int) -> list[str]:
    return list(tab.evaluate(f"Array.from(document.querySelectorAll('#drift tbody tr')).map(r => r.cells[{index}].textContent)"))


def test_drift_page_in_chromium_sorts_by_the_clicked_header(validated: tuple[Project, Result], script_tab: Tab, tmp_path: Path) -> None:
    project, result = validated
    data = json.loads(result.stdout)
    url = (project.artifacts / "validate" / "report.html").as_uri()
    script_tab.open(url)
    assert script_tab.errors() == [] and script_tab.requests() == [url]
    assert len(script_tab.nodes("#drift tbody tr")) == data["columns_tested"]
    adjusted = {row["column"]: row["p_adjusted"] for row in data["drift"]}
    initial = _first_cells(script_tab, 0)
    assert [adjusted[c] for c in initial] == sorted(adjusted.values())
    script_tab.click("#drift th:nth-child(1)")
    assert _first_cells(script_tab, 0) == sorted(initial) != initial
    assert script_tab.attribute("#drift th:nth-child(1)", "aria-sort") == "ascending"
    statistic = {row["column"]: row["statistic"] for row in data["drift"]}
    script_tab.click("#drift th:nth-child(4)")
    ascending = [statistic[c] for c in _first_cells(script_tab, 0)]
    assert ascending == sorted(ascending)
    script_tab.click("#drift th:nth-child(4)")
    descending = [statistic[c] for c in _first_cells(script_tab, 0)]
    assert descending == sorted(ascending, reverse=True)
    assert len(script_tab.nodes("figure svg")) == len(SHIFTED) and script_tab.errors() == []
    shot = script_tab.screenshot(tmp_path / "drift.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_column_name_is_shown_as_text_in_chromium(script_tab: Tab, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_drift_page(path, _page([_row(HOSTILE, 1e-6, True), _row("plain", 0.5, False)], [numeric_histogram(HOSTILE, np.arange(10.0), np.arange(5.0, 15.0))]))
    script_tab.open(path.as_uri())
    assert _first_cells(script_tab, 0) == [HOSTILE, "plain"]
    assert script_tab.text("figcaption") == HOSTILE and len(script_tab.nodes("script")) == 1
    dialogs = [m for m in script_tab.browser.events if m.get("method") == "Page.javascriptDialogOpening"]
    assert dialogs == [] and script_tab.errors() == []
