"""Hostile input files (issue 11, items 2, 6 and the .npy part of 8): etl, predict and evaluate
answer one `Error:` line and exit 2, write nothing, and stay within bounded memory.

- one long text field: refused past `input.max_field_bytes` (checked in Arrow before any
  conversion, or located in the raw bytes when the row does not fit Arrow's read block), and
  under a raised limit read without fixed-width unicode (memory bounded by the chunk's bytes);
- infinite or overflowing numbers (`inf`, `1e400`, a 100,000-digit number) in numerical columns;
- `.npy` headers describing impossible data, sub-array fields, invalid code points.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema
from netsec_cli.sources.tabular import open_input, open_labelled, read_table
from tests.fixtures.project import Project
from tests.helpers import assert_error

SCHEMA = Schema(
    name="small",
    columns=["a", "b", "kind", "label"],
    dtypes={"a": "float64", "b": "float64", "kind": "string", "label": "string"},
    numerical=["a", "b"],
    categorical=["kind"],
    target="label",
    normal_value="normal",
)
LIMIT = "(at most 65,536: input.max_field_bytes)"
WIDE = "(at most 65,536 bytes: input.max_field_bytes)"
GB = 2**30


@pytest.fixture(scope="module")
def flows(trained_artifacts: Path) -> pd.DataFrame:
    """200 rows of the synthetic test split, every value as text (label included)."""
    return pd.read_parquet(trained_artifacts / "etl" / "test.parquet").head(200).astype(str)


def _every_reader_refuses(path: Path, message: str, **limit: int) -> None:
    """predict (`open_input`), etl (`read_table`) and evaluate (`open_labelled`) raise `message`."""
    readers = (
        lambda: list(open_input(path, SCHEMA, 1000, **limit).chunks()),
        lambda: read_table(path, SCHEMA, **limit),
        lambda: list(open_labelled(path, SCHEMA, 1000, **limit).chunks()),
    )
    for read in readers:
        with pytest.raises(InputError) as caught:
            read()
        assert str(caught.value) == message


PEAK_RUNNER = (  # the CLI, writing its own VmHWM at exit: wait4's ru_maxrss inherits the parent's peak at fork
    "import atexit, sys\n"
    "peak_file = sys.argv.pop(1)\n"
    "def _peak():\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "    open(peak_file, 'w').write(hwm[0].split()[1])\n"
    "atexit.register(_peak)\n"
    "from netsec_cli.cli import main\n"
    "sys.argv[0] = 'netsec'\n"
    "main()\n"
)


def _measured(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`netsec ARGS` in a child process; its result and its own peak RSS in bytes (VmHWM)."""
    peak_file = project.root / ".child.peak"
    command = [sys.executable, "-c", PEAK_RUNNER, str(peak_file), "--config", str(project.config_path), *args]
    result = subprocess.run(command, cwd=project.root, capture_output=True, text=True)
    peak = float(peak_file.read_text()) * 1024.0
    peak_file.unlink()
    return result, peak


# ---- item 2: one long text field ----------------------------------------------------------------


def test_a_field_over_the_limit_is_named_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    pd.DataFrame({"a": [1, 2, 3], "b": 0.5, "kind": ["x", "y", "z" * 100_000], "label": "normal"}).to_csv(path, index=False)
    _every_reader_refuses(path, f"{path} row 2, column 'kind': a field of 100,000 bytes {LIMIT}")
    chunk = next(open_input(path, SCHEMA, 1000, max_field_bytes=100_000).chunks())
    assert chunk.value("kind", 2) == "z" * 100_000 and chunk.frame()["kind"].tolist()[:2] == ["x", "y"]
    assert read_table(path, SCHEMA, max_field_bytes=100_000)["kind"].str.len().tolist() == [1, 1, 100_000]
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"a": [1, 2], "b": 0.5, "kind": "x", "label": ["normal", "é" * 40_000]}).to_csv(labels, index=False)
    with pytest.raises(InputError, match=r"row 1, column 'label': a field of 80,000 bytes"):  # UTF-8 bytes, not characters
        list(open_labelled(labels, SCHEMA, 1000).chunks())


def test_a_row_longer_than_the_read_block_is_located_in_the_raw_bytes(tmp_path: Path) -> None:
    big = 20 * 2**20
    path = tmp_path / "header.csv"
    path.write_text("a,b,kind,label\n1,2,x,normal\n\n3,4,y," + "n" * big + "\n5,6,z,normal\n")
    _every_reader_refuses(path, f"{path} row 1, column 'label': a field of {big:,} bytes {LIMIT}")
    # no header, blank lines, CRLF, a quoted field with doubled quotes and line ends inside
    quoted = tmp_path / "quoted.txt"
    quoted.write_bytes(b'1,2,x,normal\r\n\r\n\n2,3,"' + b'a""b\nc' * 2**20 + b'",normal\r\n')
    _every_reader_refuses(quoted, f"{quoted} row 1, column 'kind': a field of {5 * 2**20:,} bytes {LIMIT}")
    # the first line alone is longer than the sample the delimiter and header are sniffed from
    first = tmp_path / "first.csv"
    first.write_text("1,2,x" + "y" * big + ",normal\n3,4,x,normal\n")
    _every_reader_refuses(first, f"{first} row 0, column 'kind': a field of {big + 1:,} bytes {LIMIT}")
    # Latin-1: counted as the UTF-8 bytes it is read as
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"1,2,x,normal\n2,3," + b"\xe9" * (3 * 2**20) + b",normal\n")
    _every_reader_refuses(latin, f"{latin} row 1, column 'kind': a field of {6 * 2**20:,} bytes {LIMIT}")


def test_parquet_and_npy_cells_over_the_limit(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": 0.5, "kind": ["x", "k" * 70_000], "label": "normal"})
    frame.to_parquet(tmp_path / "t.parquet")
    message = "{path} row 1, column 'kind': a field of 70,000 bytes " + LIMIT
    _every_reader_refuses(tmp_path / "t.parquet", message.format(path=tmp_path / "t.parquet"))
    frame.astype({"kind": "category"}).to_parquet(tmp_path / "dict.parquet")  # measured without decoding
    _every_reader_refuses(tmp_path / "dict.parquet", message.format(path=tmp_path / "dict.parquet"))
    # a .npy dtype wider than the limit is refused from its header, before any row is read
    np.save(tmp_path / "t.npy", frame.astype(str).to_numpy(dtype=str))
    wide = f"{tmp_path / 't.npy'}: its dtype <U70000 holds text cells of up to 70,000 characters {WIDE}"
    _every_reader_refuses(tmp_path / "t.npy", wide)
    structured = np.zeros(2, dtype=[("a", "f8"), ("b", "f8"), ("kind", "S70000")])
    np.save(tmp_path / "s.npy", structured)
    field = f"{tmp_path / 's.npy'}: field 'kind' (|S70000) holds text cells of up to 70,000 characters {WIDE}"
    _every_reader_refuses(tmp_path / "s.npy", field)
    utf8 = frame.astype(str).to_numpy(dtype="U40000")
    utf8[1, 2] = "é" * 40_000  # 80,000 UTF-8 bytes in 40,000 characters
    np.save(tmp_path / "utf8.npy", utf8)
    _every_reader_refuses(tmp_path / "utf8.npy", f"{tmp_path / 'utf8.npy'} row 1, column 'kind': a field of 80,000 bytes {LIMIT}")
    utf8[1, 2] = "é" * 30_000
    np.save(tmp_path / "fits.npy", utf8)
    assert read_table(tmp_path / "fits.npy", SCHEMA)["kind"].str.len().tolist() == [1, 30_000]


def test_text_chunks_cost_their_bytes_not_rows_times_the_longest_cell(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    kinds = ["tcp"] * 1000
    kinds[500] = "w" * 100_000
    pd.DataFrame({"a": range(1000), "b": 0.5, "kind": kinds, "label": "normal"}).to_csv(path, index=False)
    tracemalloc.start()
    try:
        chunks = list(open_input(path, SCHEMA, 1000, max_field_bytes=2**20).chunks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak:,} bytes traced: text made fixed-width?"  # fixed-width: 1000 x 400 KB
    values, missing = chunks[0].categorical["kind"]
    assert not isinstance(values, np.ndarray) and not missing.any()
    assert chunks[0].value("kind", 500) == kinds[500] and np.asarray(values).tolist() == kinds


def test_predict_refuses_a_20mb_field_in_bounded_memory(ready: Project, flows: pd.DataFrame) -> None:
    frame = flows.head(3).copy()
    frame.loc[frame.index[0], "service"] = "x" * (20 * 2**20)
    frame.drop(columns=["label"]).to_csv(ready.root / "long.csv", index=False)
    result, peak = _measured(ready, "predict", "long.csv", "-o", "out.csv")
    assert_error(result, 2, f"Error: long.csv row 0, column 'service': a field of 20,971,520 bytes {LIMIT}")
    assert peak < GB, f"peak RSS {peak / 2**20:,.0f} MB"
    assert not (ready.root / "out.csv").exists()
    frame.to_csv(ready.root / "long_labelled.csv", index=False)
    published = (ready.artifacts / "etl" / "manifest.json").read_bytes()
    for args in (("evaluate", "long_labelled.csv"), ("etl", "--source", "long_labelled.csv")):
        where = "long_labelled.csv" if args[0] == "evaluate" else ready.root / "long_labelled.csv"
        line = f"Error: {where} row 0, column 'service': a field of 20,971,520 bytes {LIMIT}"
        assert_error(ready.invoke(*args), 2, line)
    assert (ready.artifacts / "etl" / "manifest.json").read_bytes() == published  # the published etl is kept


def test_a_long_field_under_a_raised_limit_is_scored_in_bounded_memory(ready: Project, flows: pd.DataFrame) -> None:
    ready.update_config(**{"predict.top": 0, "input.max_field_bytes": 32 * 2**20})
    frame = pd.concat([flows.drop(columns=["label"])] * 10, ignore_index=True)
    frame.loc[7, "service"] = "x" * (20 * 2**20)
    frame.to_csv(ready.root / "long.csv", index=False)
    result, peak = _measured(ready, "-q", "predict", "long.csv", "-o", "out.csv")
    assert result.returncode == 0, result.stderr
    assert peak < GB, f"peak RSS {peak / 2**20:,.0f} MB"
    assert len(pd.read_csv(ready.root / "out.csv")) == 2000


# ---- item 6: infinite or overflowing numbers -------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-Infinity", "9" * 400])
def test_infinite_numbers_are_bad_values(tmp_path: Path, value: str) -> None:
    path = tmp_path / "numbers.csv"
    pd.DataFrame({"a": ["1", "2", "3", value], "b": "0.5", "kind": "x", "label": "normal"}).to_csv(path, index=False)
    text = repr(value) if len(value) <= 40 else f"{value[:40]!r}… ({len(value):,} characters)"
    message = f"{path}: column 'a' row 3: {text} is not a finite number (numerical columns must hold finite numbers)"
    _every_reader_refuses(path, message)
    with pytest.raises(InputError) as inferred:  # etl without a schema: a column of numbers
        read_table(path)
    assert str(inferred.value) == message


def test_stored_infinities_in_parquet_and_npy(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, np.inf], "b": 0.5, "kind": "x", "label": "normal"})
    frame.to_parquet(tmp_path / "t.parquet")
    structured = np.array([(1.0, 0.5, "x"), (2.0, -np.inf, "y")], dtype=[("a", "f8"), ("b", "f8"), ("kind", "U4")])
    np.save(tmp_path / "t.npy", structured)
    cases = {"t.parquet": "column 'a' row 2: 'inf'", "t.npy": "column 'b' row 1: '-inf'"}
    for name, where in cases.items():
        message = f"{tmp_path / name}: {where} is not a finite number (numerical columns must hold finite numbers)"
        with pytest.raises(InputError) as predict:
            list(open_input(tmp_path / name, SCHEMA, 10).chunks())
        with pytest.raises(InputError) as etl:
            read_table(tmp_path / name)
        assert str(predict.value) == str(etl.value) == message
    numeric = Schema(name="n", columns=["a", "b"], dtypes={"a": "float64", "b": "float64"}, numerical=["a", "b"], categorical=[], target="b", normal_value=0)
    np.save(tmp_path / "m.npy", np.array([[1.0, 2.0], [np.inf, 0.0]]))
    with pytest.raises(InputError, match=r"m\.npy: column 'a' row 1: 'inf' is not a finite number"):
        list(open_input(tmp_path / "m.npy", numeric, 10).chunks())


def test_predict_evaluate_and_etl_refuse_infinities(ready: Project, flows: pd.DataFrame) -> None:
    frame = flows.copy()
    frame.loc[frame.index[3], "src_bytes"] = "inf"
    frame.drop(columns=["label"]).to_csv(ready.root / "inf.csv", index=False)
    frame.to_csv(ready.root / "inf_labelled.csv", index=False)
    tail = "column 'src_bytes' row 3: 'inf' is not a finite number (numerical columns must hold finite numbers)"
    assert_error(ready.invoke("predict", "inf.csv", "-o", "out.csv"), 2, f"Error: inf.csv: {tail}")
    assert not (ready.root / "out.csv").exists()
    assert_error(ready.invoke("evaluate", "inf_labelled.csv"), 2, f"Error: inf_labelled.csv: {tail}")
    assert_error(ready.invoke("etl", "--source", "inf_labelled.csv"), 2, f"Error: {ready.root / 'inf_labelled.csv'}: {tail}")
    digits = flows.copy()
    digits.loc[digits.index[1], "src_bytes"] = "9" * 100_000
    digits.drop(columns=["label"]).to_csv(ready.root / "digits.csv", index=False)
    line = f"Error: digits.csv row 1, column 'src_bytes': a field of 100,000 bytes {LIMIT}"
    assert_error(ready.invoke("predict", "digits.csv", "-o", "out.csv"), 2, line)
    ready.update_config(**{"input.max_field_bytes": 200_000})
    shown = f"{'9' * 40!r}… (100,000 characters)"
    line = f"Error: digits.csv: column 'src_bytes' row 1: {shown} is not a finite number (numerical columns must hold finite numbers)"
    assert_error(ready.invoke("predict", "digits.csv", "-o", "out.csv"), 2, line)


# ---- item 8: .npy headers and contents --------------------------------------------------------------


def _npy_with_header(path: Path, descr: str, shape: str, data: bytes = b"\0" * 64) -> Path:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data)
    return path


def _with_code_point(flows: pd.DataFrame, path: Path, row: int, column: int, point: int) -> Path:
    table = np.ascontiguousarray(flows.drop(columns=["label"]).head(5).to_numpy(dtype=str))
    raw = bytearray(table.tobytes())
    where = (row * table.shape[1] + column) * table.dtype.itemsize
    raw[where : where + 4] = point.to_bytes(4, "little")
    with path.open("wb") as handle:
        np.lib.format.write_array(handle, np.frombuffer(bytes(raw), dtype=table.dtype).reshape(table.shape), allow_pickle=False)
    return path


def test_impossible_npy_headers_and_contents(ready: Project, flows: pd.DataFrame) -> None:
    root = ready.root
    huge = 2**63 - 1
    cases = {
        _npy_with_header(root / "huge.npy", "'<U8'", f"({huge}, 41)"):
            f"is corrupt or truncated (its header claims {huge * 41 * 32:,} bytes of data for shape ({huge}, 41), the file holds 64)",
        _npy_with_header(root / "negative.npy", "'<U8'", "(-1, 41)"): "is not a valid .npy file (its header claims shape (-1, 41))",
        _npy_with_header(root / "short.npy", "'<U8'", "(1000, 41)"):
            "is corrupt or truncated (its header claims 1,312,000 bytes of data for shape (1000, 41), the file holds 64)",
        _npy_with_header(root / "empty_dtype.npy", "'<U0'", f"({huge}, 41)"):
            "{path}: its dtype <U0 holds no data (save a numeric, unicode or structured array)",
        _npy_with_header(root / "sub.npy", "[('duration', '<f8', (2,))]", "(3,)", b"\0" * 48):
            "{path}: field 'duration' of the structured array holds a sub-array of shape (2,) (each field must hold one value per row)",
        _npy_with_header(root / "nested.npy", "[('duration', [('x', '<f8')])]", "(3,)", b"\0" * 24):
            "{path}: field 'duration' of the structured array holds nested records (each field must hold one value per row)",
        _with_code_point(flows, root / "beyond.npy", 0, 0, 0x110000):
            "{path} row 0, column 'duration': invalid text (code point 0x110000 is beyond U+10FFFF)",
        _with_code_point(flows, root / "surrogate.npy", 3, 2, 0xD800):
            "{path} row 3, column 'service': invalid text (code point 0xd800 is a surrogate)",
    }
    bytes_table = flows.drop(columns=["label"]).head(5).to_numpy(dtype=str).astype("S")
    bytes_table[4, 1] = b"\xfftcp"
    np.save(root / "latin.npy", bytes_table)
    cases[root / "latin.npy"] = "{path} row 4, column 'protocol_type': byte 0xff is not ASCII text (save text as a unicode (str) array)"
    for path, message in cases.items():
        expected = message.format(path=path) if message.startswith("{path}") else f"{path} {message}"
        result = ready.invoke("predict", str(path), "-o", str(root / "out.csv"))
        assert_error(result, 2, f"Error: {expected}")
        assert not (root / "out.csv").exists()
    # the same checks for blocks past the rows a layout is chosen from
    table = pd.concat([flows] * 10, ignore_index=True).drop(columns=["label"]).to_numpy(dtype=str)
    table[1500, 4] = "\udfff"
    late = root / "late.npy"
    np.save(late, table)
    assert_error(ready.invoke("predict", str(late), "-o", str(root / "out.csv")), 2,
                 f"Error: {late} row 1500, column 'src_bytes': invalid text (code point 0xdfff is a surrogate)")
