"""The upload page and the results table in a real headless Chromium, driven over the DevTools protocol.

The browser (`tests/fixtures/browser.py`) runs with JavaScript disabled (the page must work without
any), loads `/`, types the token, picks a file and clicks the button; the results page is then read
through the DOM and CSS domains (row classes, computed colours) and photographed into the test's
temporary folder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netsec_cli.serve.page import SHOWN_ROWS
from tests.fixtures.browser import Tab
from tests.fixtures.project import Project, small_config
from tests.fixtures.serve import Server, start_server
from tests.fixtures.trained import install

SAMPLE_ROWS = 1200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tracking_db: Path, trained_artifacts: Path) -> Iterator[Server]:
    """`netsec serve` (auth: token) over a trained project, shared by the module's tests."""
    root = tmp_path_factory.mktemp("page-project")
    project = Project(root=root, runner=CliRunner())
    project.write_config(small_config(root, tracking_db))
    install(project, trained_artifacts)
    started = start_server(project)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, trained_artifacts: Path) -> Path:
    """More rows than the page shows, as scripts/make_sample.py writes them (unicode .npy, no target)."""
    flows = pd.read_parquet(trained_artifacts / "etl" / "test.parquet").drop(columns=["label"])
    flows = flows.sample(n=SAMPLE_ROWS, replace=len(flows) < SAMPLE_ROWS, random_state=7)
    path = tmp_path_factory.mktemp("page-input") / "sample_flows.npy"
    np.save(path, flows.astype(str).to_numpy(dtype=str), allow_pickle=False)
    return path


def _api(server: Server, path: Path, headers: dict[str, str]) -> httpx.Response:
    """The JSON answer of /predict for the same file, as an API client gets it."""
    with path.open("rb") as handle:
        return server.client.post("/predict", files={"file": (path.name, handle)}, headers={"Accept": "application/json", **headers})


def _rgb(colour: str) -> tuple[int, int, int]:
    red, green, blue = map(int, re.findall(r"\d+", colour)[:3])
    return red, green, blue


def test_upload_page_has_no_script_and_fetches_nothing_else(server: Server, tab: Tab) -> None:
    html = server.client.get("/").text
    assert "<script" not in html.lower() and "@import" not in html and "url(" not in html
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:[a-z]+:)?//""", html, re.IGNORECASE), html
    tab.open(f"{server.url}/")
    assert tab.text("h1") == "netsec: score network flows"
    assert tab.attribute("form", "action") == "/predict" and tab.attribute("form", "enctype") == "multipart/form-data"
    fields = tab.call("DOM.getOuterHTML", nodeId=tab.node("form"))["outerHTML"]
    assert fields.index('name="token"') < fields.index('name="file"')  # the server checks the token as the file starts
    assert tab.attribute("#token", "type") == "password" and tab.nodes("label[for=token]") and tab.nodes("label[for=file]")
    assert tab.requests() == [f"{server.url}/"]  # not even a favicon


def test_upload_renders_the_coloured_table(server: Server, tab: Tab, sample: Path, tmp_path: Path) -> None:
    tab.open(f"{server.url}/")
    tab.submit(server.token, sample)
    assert tab.status() == 200 and tab.requests() == [f"{server.url}/", f"{server.url}/predict"]
    answer = _api(server, sample, server.auth)
    assert answer.status_code == 200, answer.text
    labels = [row["label"] for row in answer.json()["predictions"]]
    shown = labels[:SHOWN_ROWS]
    assert (tab.text("#rows"), tab.text("#intrusions"), tab.text("#normal")) == (f"{SAMPLE_ROWS:,}", f"{labels.count('intrusion'):,}", f"{labels.count('normal'):,}")
    body = tab.call("DOM.getOuterHTML", nodeId=tab.node("#predictions tbody"))["outerHTML"]
    assert re.findall(r'<tr class="(\w+)">', body) == shown
    assert len(tab.nodes("#predictions tr.intrusion")) == shown.count("intrusion") > 0
    assert len(tab.nodes("#predictions tr.normal")) == shown.count("normal") > 0
    intrusion, normal = (tab.nodes(f"#predictions tr.{kind} td")[0] for kind in ("intrusion", "normal"))
    red, other = _rgb(tab.style(intrusion, "background-color")), _rgb(tab.style(normal, "background-color"))
    assert red != other and red[0] > red[1] + 20 and red[0] > red[2] + 20, (red, other)
    assert other[0] <= other[1], other  # normal rows are not reddish
    href = tab.attribute("a#csv", "href")
    assert re.fullmatch(r"/results/[A-Za-z0-9_-]+\.csv", href), href
    csv = server.client.get(href)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == SAMPLE_ROWS + 1
    shot = tab.screenshot(tmp_path / "results.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_token_is_required_and_checked(server: Server, tab: Tab, sample: Path, tmp_path: Path) -> None:
    expected = _api(server, sample, {"Authorization": "Bearer wrong-token-0123456789"})
    assert expected.status_code == 401
    tab.open(f"{server.url}/")
    tab.submit("wrong-token-0123456789", sample)
    assert (tab.status(), tab.text("h1"), tab.text("#error")) == (401, "Error 401", expected.json()["detail"])
    assert expected.json()["detail"].startswith("missing or wrong token")
    tab.screenshot(tmp_path / "error-401.png")
    tab.open(f"{server.url}/")
    tab.choose_file("#file", sample)
    sent = len(tab.requests())
    tab.click("input[type=submit]")  # the browser refuses to send the form: the token is required
    time.sleep(0.5)
    assert tab.nodes("#token:invalid") and tab.requests()[sent:] == []
    tab.call("DOM.removeAttribute", nodeId=tab.node("#token"), name="required")
    tab.send()  # a browser that sends it anyway gets the same 401 page
    assert (tab.status(), tab.text("h1"), tab.text("#error")) == (401, "Error 401", expected.json()["detail"])


def test_unsupported_file_shows_the_415_message(server: Server, tab: Tab, tmp_path: Path) -> None:
    exe = tmp_path / "flows.exe"
    exe.write_bytes(b"MZ" + bytes(200))
    expected = _api(server, exe, server.auth)
    assert expected.status_code == 415 and ".exe" in expected.json()["detail"]
    tab.open(f"{server.url}/")
    tab.submit(server.token, exe)
    assert (tab.status(), tab.text("h1"), tab.text("#error")) == (415, "Error 415", expected.json()["detail"])
