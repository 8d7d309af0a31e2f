"""`netsec serve` and the model registry: it serves the champion, follows a promotion without a
restart, and `--model VERSION` pins a version."""

from __future__ import annotations

import json
import time

from tests.fixtures.project import Project
from tests.fixtures.serve import start_server


def _served_version(server: object, wanted: str, seconds: float = 20.0) -> str:
    deadline = time.monotonic() + seconds
    found = ""
    while time.monotonic() < deadline:
        found = server.client.get("/version").json()["model_version"]  # type: ignore[attr-defined]
        if found == wanted:
            break
        time.sleep(0.2)
    return found


def test_serve_follows_the_champion_and_pins_a_version(ready: Project) -> None:
    trained = ready.invoke("train", "--challenger", "--force", "--json")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["registry_version"] == "2" and json.loads(trained.stdout)["champion"] == "1"
    server = start_server(ready)
    pinned = start_server(ready, "--model", "2")
    try:
        assert _served_version(server, "1") == "1"  # the challenger serves nothing until promoted
        assert _served_version(pinned, "2") == "2"
        promoted = ready.invoke("models", "promote", "2")
        assert promoted.exit_code == 0, promoted.output
        assert _served_version(server, "2") == "2"
        rolled = ready.invoke("models", "rollback")
        assert rolled.exit_code == 0, rolled.output
        assert _served_version(server, "1") == "1" and _served_version(pinned, "2") == "2"
    finally:
        server.stop()
        pinned.stop()
