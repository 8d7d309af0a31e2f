"""The upload page and the results table in a real headless Chromium, driven over the DevTools protocol.

The browser runs with JavaScript disabled (the page must work without any), loads `/`, types the
token, picks a file and clicks the button; the results page is then read through the DOM and CSS
domains (row classes, computed colours) and photographed into the test's temporary folder. The
protocol is spoken over one websocket (`websockets`, which uvicorn[standard] brings): no browser
is downloaded, only the system Chromium is used (`make chromium` installs Debian's when missing).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netsec_cli.serve.page import SHOWN_ROWS
from tests.fixtures.project import Project, small_config
from tests.fixtures.serve import Server, start_server
from tests.fixtures.trained import install

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage", "--remote-debugging-port=0")
TIMEOUT = 60.0
SAMPLE_ROWS = 1200


def _chromium() -> str:
    """The system Chromium; installed from Debian when missing and we may (root with apt-get)."""
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        if _apt("install", "-y", "-qq", "chromium") != 0:
            _apt("update", "-qq")
            _apt("install", "-y", "-qq", "chromium")
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("no Chromium and it cannot be installed here (run `make chromium`)")
    return found


def _apt(*args: str) -> int:
    return subprocess.run(["apt-get", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900, check=False).returncode


def _launch(binary: str, profile: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start headless Chromium on a free DevTools port; return it and its browser websocket URL."""
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + TIMEOUT
    while not (port_file.is_file() and len(port_file.read_text().split()) == 2):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise AssertionError(f"Chromium did not open its DevTools port (exit {process.returncode})")
        time.sleep(0.05)
    port, path = port_file.read_text().split()
    return process, f"ws://127.0.0.1:{port}{path}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the Chromium we started, with its renderers (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Browser:
    """The DevTools connection to one browser; `tab()` opens a page session on it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket, self.ids = socket, count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events received meanwhile are kept)."""
        ident = next(self.ids)
        message = {"id": ident, "method": method, "params": params, **({"sessionId": session} if session else {})}
        self.socket.send(json.dumps(message))
        while True:
            answer = json.loads(self.socket.recv(timeout=TIMEOUT))
            if answer.get("id") != ident:
                self.events.append(answer)
            elif "error" in answer:
                raise AssertionError(f"{method}: {answer['error']}")
            else:
                return dict(answer.get("result", {}))

    def wait(self, event: str, session: str) -> dict[str, Any]:
        """The next `event` of `session` (consumed), waiting for it when none is kept yet."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, message in enumerate(self.events):
                if message.get("method") == event and message.get("sessionId") == session:
                    return dict(self.events.pop(i).get("params", {}))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {event} within {TIMEOUT:g}s")
            self.events.append(json.loads(self.socket.recv(timeout=left)))

    def forget(self, event: str, session: str) -> None:
        """Drop the kept `event`s of `session` (so a later wait sees only a new one)."""
        self.events = [m for m in self.events if not (m.get("method") == event and m.get("sessionId") == session)]

    def tab(self) -> Tab:
        """A new page with its own DevTools session."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        return Tab(self, target, session)


class Tab:
    """One page, scripts disabled; every network request it makes is recorded in `requests`."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session, self.root = browser, target, session, 0
        for domain in ("Page", "DOM", "CSS", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setScriptExecutionDisabled", value=True)
        self.call("Emulation.setDeviceMetricsOverride", width=1100, height=900, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, self.session, **params)

    def requests(self) -> list[str]:
        """The URLs this page requested so far."""
        sent = [m for m in self.browser.events if m.get("method") == "Network.requestWillBeSent" and m.get("sessionId") == self.session]
        return [m["params"]["request"]["url"] for m in sent]

    def status(self) -> int:
        """The HTTP status of the page shown now."""
        answers = [m for m in self.browser.events if m.get("method") == "Network.responseReceived" and m.get("sessionId") == self.session]
        return int(next(m for m in reversed(answers) if m["params"]["type"] == "Document")["params"]["response"]["status"])

    def open(self, url: str) -> None:
        self.browser.forget("Page.loadEventFired", self.session)
        self.call("Page.navigate", url=url)
        self.loaded()

    def loaded(self) -> None:
        """Wait for the page being loaded (after a navigation or a form submission)."""
        self.browser.wait("Page.loadEventFired", self.session)
        self.root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]  # node ids hold until the next load

    def nodes(self, selector: str) -> list[int]:
        return list(self.call("DOM.querySelectorAll", nodeId=self.root, selector=selector)["nodeIds"])

    def node(self, selector: str) -> int:
        found = self.nodes(selector)
        assert len(found) == 1, f"{len(found)} nodes match {selector!r}"
        return found[0]

    def text(self, selector: str) -> str:
        """The text of the one node `selector` matches (as the DOM holds it: unescaped)."""
        found = self.call("DOM.describeNode", nodeId=self.node(selector), depth=-1)["node"]

        def texts(node: dict[str, Any]) -> Iterator[str]:
            if node.get("nodeType") == 3:
                yield node["nodeValue"]
            for child in node.get("children", []):
                yield from texts(child)

        return "".join(texts(found)).strip()

    def attribute(self, selector: str, name: str) -> str:
        pairs = self.call("DOM.getAttributes", nodeId=self.node(selector))["attributes"]
        return str(dict(zip(pairs[0::2], pairs[1::2], strict=True))[name])

    def style(self, node: int, prop: str) -> str:
        computed = self.call("CSS.getComputedStyleForNode", nodeId=node)["computedStyle"]
        return next(p["value"] for p in computed if p["name"] == prop)

    def type(self, selector: str, text: str) -> None:
        self.call("DOM.focus", nodeId=self.node(selector))
        self.call("Input.insertText", text=text)

    def choose_file(self, selector: str, path: Path) -> None:
        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=self.node(selector))

    def click(self, selector: str) -> None:
        quad = self.call("DOM.getBoxModel", nodeId=self.node(selector))["model"]["content"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def submit(self, token: str | None, path: Path) -> None:
        """Fill the upload form as a person would and wait for the answer page."""
        if token is not None:
            self.type("#token", token)
        self.choose_file("#file", path)
        self.send()

    def send(self) -> None:
        """Click the form's button and wait for the page it answers with."""
        self.browser.forget("Page.loadEventFired", self.session)
        self.click("input[type=submit]")
        self.loaded()

    def screenshot(self, path: Path) -> Path:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the module."""
    from websockets.sync.client import connect

    process, url = _launch(_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        with connect(url, max_size=None, open_timeout=TIMEOUT) as socket:
            yield Browser(socket)
    finally:
        _stop(process)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    opened = browser.tab()
    try:
        yield opened
    finally:
        opened.close()


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
