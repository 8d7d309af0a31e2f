"""Benchmark `netsec sync-s3` against `aws s3 sync` on the same tree and the same S3 endpoint.

Builds a throw-away project whose artifacts hold 500 small files (the etl stage, with its
manifest) and two 50 MB files (the train stage), starts moto's S3 server on loopback, then for
each tool: a first sync, a second sync of the unchanged tree, and a pull/download into an empty
folder. Prints wall time (each run is a fresh process, as a user or cron would start it) and what
the server saw: objects written (PutObject + multipart uploads) and requests by method.

    .venv/bin/python scripts/bench_s3.py [--small 500] [--big 2] [--big-mb 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from netsec_cli.artifacts import staged_stage  # noqa: E402
from tests.fixtures.s3 import ACCESS_KEY, SECRET_KEY, MotoS3Server, start_server  # noqa: E402

BUCKET = "netsec-bench"
AWS = REPO / ".venv" / "bin" / "aws"


def build_tree(artifacts: Path, small: int, big: int, big_mb: int) -> int:
    """Write the benchmark artifacts; return their total size in bytes."""
    with staged_stage(artifacts, "etl") as folder:
        for i in range(small):
            (folder / f"part-{i:04d}.bin").write_bytes(os.urandom(1024 + (i * 37) % 3072))
    with staged_stage(artifacts, "train") as folder:
        for i in range(big):
            with (folder / f"model-{i}.bin").open("wb") as handle:
                for _ in range(big_mb):
                    handle.write(os.urandom(1 << 20))
    return sum(p.stat().st_size for p in artifacts.rglob("*") if p.is_file())


def write_config(root: Path, endpoint: str) -> Path:
    config = root / "config" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "paths:\n  root: ..\n"
        f"aws:\n  bucket_name: {BUCKET}\n  prefix: netsec\n  endpoint_url: {endpoint}\n"
        "  max_concurrency: 8\n  multipart_threshold_mb: 8\n"
        "tracking:\n  enabled: false\n"
    )
    return config


def server_counts(server: MotoS3Server) -> tuple[int, dict[str, int]]:
    """(objects written, requests by method) since the last clear."""
    requests = list(server.requests)
    server.clear_log()
    by_method = Counter(method for method, _ in requests)
    puts = sum(1 for method, path in requests if method == "PUT" and "uploadId=" not in path and path.count("/") > 1)
    multipart = sum(1 for method, path in requests if method == "POST" and path.endswith("?uploads"))
    return puts + multipart, dict(sorted(by_method.items()))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--big", type=int, default=2)
    parser.add_argument("--big-mb", type=int, default=50)
    args = parser.parse_args()

    server = start_server()
    work = Path(tempfile.mkdtemp(prefix="netsec-bench-s3-"))
    try:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "NETSEC_CONFIG"):
            env.pop(name, None)
        project = work / "project"
        config = write_config(project, server.endpoint)
        artifacts = project / "artifacts"
        total = build_tree(artifacts, args.small, args.big, args.big_mb)
        files = sum(1 for p in artifacts.rglob("*") if p.is_file() and not p.name.startswith("."))
        print(f"tree: {files} files, {total / 1e6:.1f} MB; endpoint {server.endpoint}; moto in-process")

        netsec = [sys.executable, "-m", "netsec_cli", "-q", "--config", str(config), "sync-s3", "--json"]
        aws_remote = f"s3://{BUCKET}/awscli/artifacts"
        aws = [str(AWS), "s3", "sync", "--only-show-errors", "--endpoint-url", server.endpoint, "--exclude", ".*", "--exclude", "*/.*"]
        fresh_netsec = work / "fresh-netsec"
        fresh_config = write_config(fresh_netsec, server.endpoint)
        fresh_aws = work / "fresh-aws"
        runs = [
            ("netsec sync-s3", "first push", [*netsec, "--create-bucket"]),
            ("netsec sync-s3", "second push (unchanged)", netsec),
            ("aws s3 sync", "first push", [*aws, str(artifacts), aws_remote]),
            ("aws s3 sync", "second push (unchanged)", [*aws, str(artifacts), aws_remote]),
            ("netsec sync-s3", "pull to empty folder", [*netsec[:5], str(fresh_config), "sync-s3", "--json", "--pull"]),
            ("aws s3 sync", "download to empty folder", [*aws, aws_remote, str(fresh_aws)]),
        ]
        print(f"\n{'tool':<16} {'run':<26} {'seconds':>8} {'objects sent':>13}  server requests")
        server.clear_log()
        for tool, label, command in runs:
            seconds, out = timed(command, env)
            sent, by_method = server_counts(server)
            note = ""
            if tool.startswith("netsec"):
                result = json.loads(out)
                note = f"  (netsec: uploaded {result['uploaded']}, downloaded {result['downloaded']}, unchanged {result['unchanged']})"
            print(f"{tool:<16} {label:<26} {seconds:>8.2f} {sent:>13}  {by_method}{note}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
