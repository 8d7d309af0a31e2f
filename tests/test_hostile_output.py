"""Issue 11, items 5 and 9: what a user or their data can put in front of the CLI's output.

Data and names are shown literally (never Rich markup, links or emoji codes); an output that cannot
be written, a closed stdout and a missing TLS file are each one `Error:` line or a quiet exit 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.fixtures.project import Project
from tests.helpers import assert_error

OSC8 = "\x1b]8;"  # the escape sequence that makes a terminal hyperlink


@pytest.fixture
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout rendered as a wide terminal would get it (colours, links), one table row per line."""
    from netsec_cli.cli.output import console

    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 400)


def _flows_with(ready: Project, column: str, value: str, name: str = "flows.csv") -> Path:
    frame = pd.read_parquet(ready.artifacts / "etl" / "test.parquet").drop(columns=["label"]).head(5)
    frame[column] = frame[column].astype(str)
    frame.loc[frame.index[0], column] = value
    path = ready.root / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("value", ["[/bold]", "[link=http://example.invalid]click[/link]", ":warning:"])
def test_a_field_that_looks_like_markup_is_shown_as_it_is(ready: Project, wide_terminal: None, value: str) -> None:
    flows = _flows_with(ready, "service", value)
    result = ready.invoke("predict", str(flows), "-o", str(ready.root / "out.csv"))
    assert result.exit_code == 0, result.output
    assert value in result.stdout  # in the most-suspicious-rows table, brackets and colons included
    assert OSC8 not in result.stdout
    assert "Traceback" not in result.output


def test_an_output_path_with_markup_is_written_and_shown(ready: Project, wide_terminal: None) -> None:
    flows = _flows_with(ready, "service", "http")
    out = ready.root / "[red]out.csv"
    result = ready.invoke("predict", str(flows), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert str(out) in result.stdout


def test_config_values_are_shown_as_they_are(project: Project, wide_terminal: None) -> None:
    value = ":warning: [link=http://example.invalid]x[/link] [/bold]"
    project.update_config(**{"mongo.collection": value})
    result = project.invoke("config", "show")
    assert result.exit_code == 0, result.output
    assert f"collection: '{value}'" in result.stdout and OSC8 not in result.stdout


@pytest.mark.parametrize("name", ["[bold]x.csv", ":warning:x.csv", "[link=mailto:a@example.invalid]x.csv"])
def test_an_error_line_shows_a_file_name_as_it_is(ready: Project, wide_terminal: None, name: str) -> None:
    from netsec_cli.cli.output import err_console

    err_console._force_terminal = True  # as a terminal shows it: links and emoji would be rendered
    try:
        result = ready.invoke("predict", name)
    finally:
        err_console._force_terminal = None
    line = assert_error(result, 2, f"Error: input file not found: {name} (check the path)")
    assert OSC8 not in result.stderr and line.isprintable()


def test_an_output_under_a_regular_file_is_exit_2_naming_it(ready: Project) -> None:
    flows = _flows_with(ready, "service", "http")
    (ready.root / "plainfile").write_text("a file, not a folder")
    for out in (ready.root / "plainfile" / "out.csv", ready.root / "plainfile" / "sub" / "out.csv"):
        result = ready.invoke("predict", str(flows), "-o", str(out))
        assert_error(result, 2, f"Error: cannot write {out}: Not a directory")


def test_an_output_in_a_folder_nobody_may_write_is_exit_2(ready: Project) -> None:
    """sysfs refuses new files even to root, so this holds whoever runs the tests."""
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except PermissionError:
        pass
    else:  # pragma: no cover  (a /sys that takes files: nothing to test here)
        os.close(fd)
        os.unlink(name)
        pytest.skip("/sys accepts new files here")
    flows = _flows_with(ready, "service", "http")
    result = ready.invoke("predict", str(flows), "-o", "/sys/netsec-predictions.csv")
    assert_error(result, 2, "Error: cannot write /sys/netsec-predictions.csv: Permission denied")


@pytest.mark.parametrize("reader", ["head -c 10", "head -c 0"])
@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "rich"])
def test_stdout_closed_by_head_is_a_quiet_exit_0(project: Project, json_flag: list[str], reader: str) -> None:
    """A real pipeline, `netsec config show | head -c 10`: the output is far larger than the pipe
    buffer, so netsec is still writing when head exits (`head -c 0` exits before netsec writes)."""
    raw = yaml.safe_load(project.config_path.read_text())
    raw["data"]["drop_columns"] = [f"column_{i}" for i in range(20000)]
    project.write_config(raw)
    netsec = f"{sys.executable} -m netsec_cli --config {project.config_path}"
    command = f"{netsec} config show {' '.join(json_flag)} | {reader}"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == int(reader.split()[-1])
    assert done.stderr == ""


def test_a_missing_tls_ca_file_in_the_uri_is_exit_2_naming_it(project: Project) -> None:
    absent = project.root / "absent-ca.pem"
    result = project.invoke("etl", "--source", "mongo", env={"MONGODB_URI": f"mongodb://127.0.0.1:1/?tls=true&tlsCAFile={absent}"})
    assert_error(result, 2, f"Error: MONGODB_URI names tlsCAFile {absent}, which does not exist (check MONGODB_URI)")
    assert not (project.artifacts / "etl").exists()


def test_a_tls_ca_file_that_is_a_folder_is_exit_2_naming_it(project: Project) -> None:
    result = project.invoke("etl", "--source", "mongo", env={"MONGODB_URI": f"mongodb://127.0.0.1:1/?tls=true&tlscafile={project.root}"})
    assert_error(result, 2, f"Error: MONGODB_URI names tlscafile {project.root}, which is not a readable file (check MONGODB_URI)")
