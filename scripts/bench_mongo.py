"""Read N flow documents from MongoDB into a DataFrame: netsec's reader against the plain way.

Starts an in-memory SecantusDB server on loopback, loads N synthetic flows with `netsec etl load`'s
loader, then reads the collection in separate child processes (so each peak RSS is its own):

  netsec   read_collection() -> Parquet (pymongoarrow, batched, in file order) -> pd.read_parquet
  plain    pd.DataFrame(list(collection.find()))

Prints both times, the ratio and each child's peak memory (ru_maxrss, and above its import baseline).
Usage: .venv/bin/python scripts/bench_mongo.py [--rows 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the parent
    across fork+exec, so a child would report the benchmark parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_netsec(uri: str, workdir: Path) -> dict[str, Any]:
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts, as pymongo is for plain)
    import pymongo  # noqa: F401

    from netsec_cli.config import parse_config
    from netsec_cli.sources.bson_arrow import _pymongoarrow
    from netsec_cli.sources.mongo import read_collection

    _pymongoarrow()

    os.environ["MONGODB_URI"] = uri
    config = parse_config({"paths": {"root": str(workdir)}})
    baseline = _peak_mb()
    started = time.perf_counter()
    dest = workdir / "raw.parquet"
    rows = read_collection(config, dest, None)
    frame = pd.read_parquet(dest)
    elapsed = time.perf_counter() - started
    assert len(frame) == rows
    return {"seconds": elapsed, "rows": len(frame), "columns": frame.shape[1], "baseline_mb": baseline, "peak_mb": _peak_mb()}


def _child_plain(uri: str, workdir: Path) -> dict[str, Any]:
    import pandas as pd
    import pymongo

    collection = pymongo.MongoClient(uri)["netsec"]["flows"]
    baseline = _peak_mb()
    started = time.perf_counter()
    frame = pd.DataFrame(list(collection.find()))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rows": len(frame), "columns": frame.shape[1], "baseline_mb": baseline, "peak_mb": _peak_mb()}


def _run_child(kind: str, uri: str, workdir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-W", "ignore", __file__, "--child", kind, "--uri", uri, "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load(uri: str, rows: int, workdir: Path) -> float:
    from netsec_cli.config import parse_config
    from netsec_cli.sources.synthetic import generate_flows
    from netsec_cli.stages.etl_load import load_file

    os.environ["MONGODB_URI"] = uri
    csv = workdir / "flows.csv"
    generate_flows(rows, 42).to_csv(csv, index=False)
    config = parse_config({"paths": {"root": str(workdir)}})
    started = time.perf_counter()
    result = load_file(config, csv)
    assert result.inserted == rows, result
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each reader; the fastest counts")
    parser.add_argument("--child", choices=["netsec", "plain"])
    parser.add_argument("--uri")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        run = _child_netsec if args.child == "netsec" else _child_plain
        print(json.dumps(run(args.uri, args.workdir)))
        return

    from secantus import SecantusDBServer

    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            uri = f"mongodb://127.0.0.1:{server.port}/"
            load_seconds = _load(uri, args.rows, workdir)
            print(f"loaded {args.rows:,} documents with `netsec etl load` in {load_seconds:.1f}s")
            results: dict[str, list[dict[str, Any]]] = {"netsec": [], "plain": []}
            for _ in range(args.repeat):
                for kind in ("plain", "netsec"):
                    results[kind].append(_run_child(kind, uri, workdir))
    finally:
        server.stop()

    best = {kind: min(runs, key=lambda r: r["seconds"]) for kind, runs in results.items()}
    peak = {kind: max(r["peak_mb"] for r in runs) for kind, runs in results.items()}
    base = {kind: min(r["baseline_mb"] for r in runs) for kind, runs in results.items()}
    print(f"{'reader':<8} {'seconds':>8} {'rows':>9} {'cols':>5} {'peak MB':>8} {'above imports MB':>17}")
    for kind in ("netsec", "plain"):
        r = best[kind]
        print(f"{kind:<8} {r['seconds']:>8.2f} {r['rows']:>9,} {r['columns']:>5} {peak[kind]:>8.0f} {peak[kind] - base[kind]:>17.0f}")
    print(f"time ratio netsec/plain: {best['netsec']['seconds'] / best['plain']['seconds']:.2f}")
    print(f"peak memory ratio netsec/plain: {peak['netsec'] / peak['plain']:.2f} "
          f"(above imports: {(peak['netsec'] - base['netsec']) / (peak['plain'] - base['plain']):.2f})")


if __name__ == "__main__":
    main()
