"""Hostile inputs (issue 11): build each case in a temporary project, run the CLI, check the outcome.

For every case: the exit code (against the expected one), one `Error:` line and no traceback when
it fails, the child's peak memory (VmHWM), and whether anything changed outside the project or
inside a published artifact (sha256 of every file of every published stage folder, before and
after). S3 cases run against moto's standalone server on 127.0.0.1. The last line counts the
cases tried and those with the expected outcome.

    .venv/bin/python scripts/hostile_inputs.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
RUNNER = (  # the CLI, reporting its own peak RSS (VmHWM: reset at exec, unlike ru_maxrss) at exit
    "import sys, atexit\n"
    "def _peak():\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "    sys.stderr.write('\\nPEAK_KB %s\\n' % hwm[0].split()[1])\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['netsec', *sys.argv[1:]]\n"
    "from netsec_cli.cli import main\n"
    "main()\n"
)
BUCKET = "netsec-hostile"


@dataclass
class Project:
    root: Path
    outside: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def config(self) -> Path:
        return self.root / "config" / "config.yaml"

    def update(self, **dotted: object) -> None:
        raw = yaml.safe_load(self.config.read_text())
        for key, value in dotted.items():
            node = raw
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        self.config.write_text(yaml.safe_dump(raw, sort_keys=False))


@dataclass
class Outcome:
    code: int
    error_lines: list[str]
    traceback: bool
    peak_mb: float
    seconds: float


@dataclass
class Case:
    name: str
    expected: int
    prepare: Callable[[Project], list[str]]
    shell: bool = False


def run_cli(project: Project, args: list[str], timeout: float = 240) -> Outcome:
    started = time.perf_counter()
    env = {**os.environ, **project.env, "NETSEC_CONFIG": str(project.config)}
    try:
        done = subprocess.run(
            [PYTHON, "-c", RUNNER, *args], cwd=project.root, env=env, capture_output=True, text=True, timeout=timeout
        )
        code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stderr = -9, (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    peak = [line for line in stderr.splitlines() if line.startswith("PEAK_KB ")]
    return Outcome(
        code=code,
        error_lines=[line for line in stderr.splitlines() if line.startswith("Error:")],
        traceback="Traceback" in stderr,
        peak_mb=int(peak[-1].split()[1]) / 1024 if peak else float("nan"),
        seconds=time.perf_counter() - started,
    )


def published_digest(artifacts: Path) -> dict[str, str]:
    """sha256 of every file of every published stage folder (hidden folders excluded)."""
    found = {}
    for path in sorted(artifacts.rglob("*")):
        rel = path.relative_to(artifacts)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def outside_listing(outside: Path) -> set[str]:
    return {p.relative_to(outside).as_posix() for p in outside.rglob("*")}


def make_project(base: Path) -> Project:
    """A trained synthetic project (tracking off) and a sibling folder that must stay untouched."""
    root, outside = base / "proj", base / "outside"
    (root / "config").mkdir(parents=True)
    outside.mkdir()
    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    raw["paths"]["root"] = str(root)
    raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
    raw["data"]["synthetic_rows"] = 3000
    raw["tracking"]["enabled"] = False
    raw["model"]["hyperparameters"]["n_estimators"] = 60
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    project = Project(root, outside)
    trained = run_cli(project, ["run", "--source", "synthetic"])
    if trained.code != 0:
        raise SystemExit(f"could not train the base project (exit {trained.code})")
    test = pd.read_parquet(root / "artifacts" / "etl" / "test.parquet").head(200)
    test.drop(columns=["label"]).to_csv(root / "flows.csv", index=False)
    return project


def _flows(project: Project) -> pd.DataFrame:
    return pd.read_csv(project.root / "flows.csv", dtype=str, keep_default_na=False)


def _csv_with(project: Project, name: str, column: str, value: str, rows: int = 5) -> Path:
    frame = _flows(project).head(rows).copy()
    frame.loc[frame.index[0], column] = value
    path = project.root / name
    frame.to_csv(path, index=False)
    return path


def _rewrite_manifest_entry(folder: Path, name: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    data = (folder / name).read_bytes()
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ---- cases -----------------------------------------------------------------------------------


def long_field(project: Project) -> list[str]:
    frame = _flows(project).head(3).copy()
    frame.loc[frame.index[0], "service"] = "x" * (20 * 2**20)
    frame.to_csv(project.root / "long.csv", index=False)
    return ["predict", "long.csv", "-o", str(project.root / "long_out.csv")]


def long_field_etl(project: Project) -> list[str]:
    long_field(project)
    return ["etl", "--source", str(project.root / "long.csv"), "--target", "duration"]


def output_is_input(project: Project) -> list[str]:
    return ["predict", "flows.csv", "-o", "flows.csv"]


def output_in_artifacts(project: Project) -> list[str]:
    return ["predict", "flows.csv", "-o", str(project.artifacts / "train" / "metrics.json")]


def markup_field(project: Project) -> list[str]:
    _csv_with(project, "markup.csv", "service", "[/bold]")
    return ["predict", "markup.csv"]


def markup_link(project: Project) -> list[str]:
    _csv_with(project, "link.csv", "service", "[link=http://example.invalid]click[/link]")
    return ["predict", "link.csv"]


def markup_output_path(project: Project) -> list[str]:
    return ["predict", "flows.csv", "-o", str(project.root / "[red]out.csv")]


def number(value: str) -> Callable[[Project], list[str]]:
    def prepare(project: Project) -> list[str]:
        _csv_with(project, "numbers.csv", "src_bytes", value)
        return ["predict", "numbers.csv", "-o", str(project.root / "numbers_out.csv")]

    return prepare


def alias_bomb(project: Project) -> list[str]:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
    text = project.config.read_text().replace("  hyperparameters:\n", "  hyperparameters:\n    bomb: *a8\n", 1)
    project.config.write_text("\n".join(lines) + "\n" + text)
    return ["config", "show"]


def huge_config(project: Project) -> list[str]:
    with project.config.open("a") as handle:
        handle.write("huge:\n" + "".join(f"  - {i}\n" for i in range(2_000_000)))
    return ["config", "validate"]


def zero_trees(project: Project) -> list[str]:
    project.update(**{"model.hyperparameters.n_estimators": 0})
    return ["train"]


def npy_shape(shape: str) -> Callable[[Project], list[str]]:
    def prepare(project: Project) -> list[str]:
        header = f"{{'descr': '<U8', 'fortran_order': False, 'shape': {shape}, }}".encode()
        header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
        (project.root / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 64)
        return ["predict", "bad.npy"]

    return prepare


def npy_subarray(project: Project) -> list[str]:
    np.save(project.root / "sub.npy", np.zeros(3, dtype=[("duration", "<f8", (2,))]), allow_pickle=False)
    return ["predict", "sub.npy"]


def npy_bad_codepoint(project: Project) -> list[str]:
    good = _flows(project).head(3).to_numpy(dtype=str)
    raw = bytearray(np.ascontiguousarray(good).tobytes())
    raw[0:4] = (0x110000).to_bytes(4, "little")
    array = np.frombuffer(bytes(raw), dtype=good.dtype).reshape(good.shape)
    with (project.root / "codepoint.npy").open("wb") as handle:
        np.lib.format.write_array(handle, array, allow_pickle=False)
    return ["predict", "codepoint.npy"]


def random_model(project: Project) -> list[str]:
    folder = project.artifacts / "train"
    (folder / "model.ubj").write_bytes(os.urandom(4096))
    _rewrite_manifest_entry(folder, "model.ubj")
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def manifest_list(project: Project) -> list[str]:
    (project.artifacts / "train" / "manifest.json").write_text("[1, 2, 3]")
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def manifest_no_files(project: Project) -> list[str]:
    (project.artifacts / "train" / "manifest.json").write_text('{"stage": "train"}')
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def broken_model_info(project: Project) -> list[str]:
    folder = project.artifacts / "train"
    (folder / "model_info.json").write_text("{not json")
    _rewrite_manifest_entry(folder, "model_info.json")
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def skops_bomb(project: Project) -> list[str]:
    for folder in (project.artifacts / "train", project.artifacts / "transform"):
        target = folder / "preprocessor.skops"
        if not target.exists():
            continue
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
            bomb.writestr("schema.json", b"\0" * (600 * 2**20))
        _rewrite_manifest_entry(folder, "preprocessor.skops")
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def transform_without_train(project: Project) -> list[str]:
    project.update(**{"transform.scaler": "standard"})
    first = run_cli(project, ["transform"])
    assert first.code == 0, "transform failed"
    return ["predict", "flows.csv", "-o", str(project.root / "o.csv")]


def stale_staging(project: Project) -> list[str]:
    (project.artifacts / ".staging-validate-dead").mkdir()
    return ["validate"]


def readonly_output(project: Project) -> list[str]:
    (project.root / "plainfile").write_text("x")
    return ["predict", "flows.csv", "-o", str(project.root / "plainfile" / "out.csv")]


def broken_pipe(project: Project) -> list[str]:
    return ["config", "show", "--json"]


def bad_endpoint(project: Project) -> list[str]:
    project.update(**{"aws.endpoint_url": "not a url", "aws.bucket_name": BUCKET})
    return ["sync-s3", "--dry-run"]


def logging_not_yaml(project: Project) -> list[str]:
    (project.root / "logging.bin").write_bytes(os.urandom(256))
    project.update(**{"logging.config_file": str(project.root / "logging.bin")})
    return ["validate"]


def missing_ca(project: Project) -> list[str]:
    project.env["MONGODB_URI"] = f"mongodb://127.0.0.1:1/?tls=true&tlsCAFile={project.root / 'absent-ca.pem'}"
    return ["etl", "--source", "mongo"]


# ---- S3 cases (moto server on loopback) --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Moto:
    def __init__(self) -> None:
        self.port = _free_port()
        moto = Path(PYTHON).with_name("moto_server")
        self.process = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)

    def client(self):  # noqa: ANN201
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def s3_project(project: Project, moto: Moto) -> None:
    bucket = f"{BUCKET}-{int(time.time() * 1000) % 10**9}"
    moto.client().create_bucket(Bucket=bucket)
    project.update(**{"aws.bucket_name": bucket, "aws.endpoint_url": moto.url, "aws.prefix": "netsec"})
    project.env.update(AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s", AWS_DEFAULT_REGION="us-east-1")
    project.env["BUCKET"] = bucket


def s3_absolute_key(moto: Moto) -> Callable[[Project], list[str]]:
    def prepare(project: Project) -> list[str]:
        s3_project(project, moto)
        target = project.outside / "pwned"
        moto.client().put_object(Bucket=project.env["BUCKET"], Key=f"netsec/artifacts/{target}", Body=b"pwned")
        return ["sync-s3", "--pull"]

    return prepare


def s3_manifest_escape(moto: Moto) -> Callable[[Project], list[str]]:
    def prepare(project: Project) -> list[str]:
        s3_project(project, moto)
        client, bucket = moto.client(), project.env["BUCKET"]
        body = b"pwned"
        entry = {"path": "../../outside/pwned", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        client.put_object(Bucket=bucket, Key="netsec/artifacts/train/manifest.json", Body=json.dumps({"stage": "train", "files": [entry]}))
        client.put_object(Bucket=bucket, Key="netsec/artifacts/train/../../outside/pwned", Body=body)
        return ["sync-s3", "--pull"]

    return prepare


def s3_symlink_push(moto: Moto) -> Callable[[Project], list[str]]:
    def prepare(project: Project) -> list[str]:
        s3_project(project, moto)
        secret = project.outside / "age-key.txt"
        secret.write_text("AGE-SECRET-KEY-1NOTAREALKEY")
        (project.artifacts / "leak.txt").symlink_to(secret)
        return ["sync-s3"]

    return prepare


def s3_leaked(project: Project, moto: Moto) -> bool:
    """True when the symlinked secret's content reached the bucket."""
    client, bucket = moto.client(), project.env.get("BUCKET")
    if not bucket:
        return False
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if b"AGE-SECRET-KEY" in client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read():
                return True
    return False


def cases(moto: Moto) -> list[Case]:
    return [
        Case("S3 pull: object key absolute after the prefix", 2, s3_absolute_key(moto)),
        Case("S3 pull: manifest lists ../../outside/pwned", 2, s3_manifest_escape(moto)),
        Case("S3 push: symlink in artifacts/ to a secret (skipped)", 0, s3_symlink_push(moto)),
        Case("predict: one 20 MB text field", 2, long_field),
        Case("etl: one 20 MB text field", 2, long_field_etl),
        Case("predict: new transform published, model not retrained", 0, transform_without_train),
        Case("predict: --output is the input file", 2, output_is_input),
        Case("predict: --output inside artifacts/train", 2, output_in_artifacts),
        Case("predict: field '[/bold]' (Rich markup)", 0, markup_field),
        Case("predict: field with [link=...] markup", 0, markup_link),
        Case("predict: output path with [red] markup", 0, markup_output_path),
        Case("predict: 'inf' in a numeric column", 2, number("inf")),
        Case("predict: 1e400 in a numeric column", 2, number("1e400")),
        Case("predict: a 100,000-digit number", 2, number("9" * 100_000)),
        Case("config: YAML alias bomb under model.hyperparameters", 2, alias_bomb),
        Case("config: 2,000,000-item list", 2, huge_config),
        Case("train: n_estimators 0", 2, zero_trees),
        Case("predict: .npy shape (2**63-1, 41)", 2, npy_shape(f"({2**63 - 1}, 41)")),
        Case("predict: .npy shape (-1, 41)", 2, npy_shape("(-1, 41)")),
        Case("predict: .npy structured sub-array field", 2, npy_subarray),
        Case("predict: .npy invalid code point", 2, npy_bad_codepoint),
        Case("predict: model.ubj random bytes, manifest matching", 2, random_model),
        Case("predict: manifest.json is a list", 2, manifest_list),
        Case("predict: manifest.json without files", 2, manifest_no_files),
        Case("predict: model_info.json not JSON", 2, broken_model_info),
        Case("predict: preprocessor.skops zip bomb", 2, skops_bomb),
        Case("predict: --output under a regular file", 2, readonly_output),
        Case("config show --json | head -c 10 (broken pipe)", 0, broken_pipe, shell=True),
        Case("sync-s3: aws.endpoint_url 'not a url'", 2, bad_endpoint),
        Case("logging.config_file is binary", 2, logging_not_yaml),
        Case("etl --source mongo: tlsCAFile does not exist", 2, missing_ca),
        Case("validate: stale .staging folder from a killed run (removed)", 0, stale_staging),
    ]


def run_case(case: Case, base: Path, moto: Moto, template: Path) -> tuple[Outcome, bool, bool, str]:
    """(outcome, as expected, something changed that must not, note)."""
    import shutil

    work = base / case.name.replace("/", "_").replace(" ", "_")[:60]
    shutil.copytree(template, work, symlinks=True)
    project = Project(work / "proj", work / "outside")
    raw = yaml.safe_load(project.config.read_text())
    raw["paths"]["root"] = str(project.root)
    project.config.write_text(yaml.safe_dump(raw, sort_keys=False))
    args = case.prepare(project)
    before, outside_before = published_digest(project.artifacts), outside_listing(project.outside)
    if case.shell:
        cmd = f"{shlex.quote(PYTHON)} -c {shlex.quote(RUNNER)} {' '.join(args)} | head -c 10 >/dev/null"
        started = time.perf_counter()
        done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=project.root, capture_output=True, text=True,
                              env={**os.environ, **project.env, "NETSEC_CONFIG": str(project.config)})
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        outcome = Outcome(done.returncode, errors, "Traceback" in done.stderr, float("nan"), time.perf_counter() - started)
    else:
        outcome = run_cli(project, args)
    changed = published_digest(project.artifacts) != before and case.expected != 0
    escaped = outside_listing(project.outside) - outside_before
    leaked = case.name.startswith("S3 push") and s3_leaked(project, moto)
    note = []
    if escaped:
        note.append(f"wrote outside: {sorted(escaped)[:2]}")
    if leaked:
        note.append("secret uploaded")
    if case.name.startswith("validate: stale") and (project.artifacts / ".staging-validate-dead").exists():
        note.append("stale staging left")
    one_line = outcome.code == 0 or (len(outcome.error_lines) == 1 and not outcome.traceback)
    ok = outcome.code == case.expected and one_line and not changed and not note
    return outcome, ok, changed or bool(escaped) or leaked, "; ".join(note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args(argv)
    moto = Moto()
    try:
        with tempfile.TemporaryDirectory(prefix="netsec-hostile-") as tmp:
            base = Path(tmp)
            template = base / "template"
            template.mkdir()
            make_project(template)
            chosen = [c for c in cases(moto) if args.only in c.name]
            print(f"{'case':<58} {'exit':>4} {'want':>4} {'peak MB':>8} {'secs':>6}  changed  result")
            good = 0
            for case in chosen:
                outcome, ok, changed, note = run_case(case, base / "cases", moto, template)
                good += ok
                peak = "-" if outcome.peak_mb != outcome.peak_mb else f"{outcome.peak_mb:.0f}"
                shown = outcome.error_lines[0][:90] if outcome.error_lines else ""
                result = f"ok  {shown}" if ok else f"UNEXPECTED {shown} {note}".strip()
                print(f"{case.name:<58} {outcome.code:>4} {case.expected:>4} {peak:>8} {outcome.seconds:>6.1f}  {'yes' if changed else 'no':<7}  {result}")
            print(f"{len(chosen)} cases tried, {good} with the expected outcome")
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
