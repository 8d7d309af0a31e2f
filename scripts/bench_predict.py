"""Prediction throughput: `netsec predict` (the CLI, in a subprocess) vs bare XGBoost inplace_predict.

Builds a temporary project (synthetic data, repository config, tracking off), trains it, writes a
1,000,000-row unicode .npy (schema column order, no target) sampled from the test split, then:
  A. `netsec predict big.npy -o preds.parquet` in a child process (reading, checking, preprocessing,
     scoring and writing, with the memory-mapped chunked reader);
  B. a child process that loads the same model and calls Booster.inplace_predict on the same rows
     already transformed (float32 matrix loaded from .npy) - the floor for scoring alone.
Prints wall time of each (imports included), the ratio, and each child's peak RSS (VmHWM from
/proc/self/status: ru_maxrss would carry over the parent's peak across fork+exec).
Usage: scripts/bench_predict.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PYTHON = sys.executable

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
started = time.perf_counter()
{body}
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
peak_kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": time.perf_counter() - started, "peak_mb": peak_kb / 1024}}))
"""

CLI_BODY = """
from netsec_cli.cli.app import app
try:
    app(["--config", {config!r}, "-q", "predict", {data!r}, "-o", {out!r}, "--json"], standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
"""

BARE_BODY = """
import numpy as np
from xgboost import Booster
booster = Booster(); booster.load_model({model!r})
x = np.load({matrix!r}, mmap_mode="r")
for start in range(0, x.shape[0], 100_000):
    booster.inplace_predict(np.asarray(x[start:start + 100_000]))
"""


def _child(body: str) -> dict[str, float]:
    code = CHILD.format(repo=str(REPO), body=body)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec predict vs bare inplace_predict")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    import numpy as np
    import pandas as pd

    from netsec_cli.config import load_config
    from netsec_cli.preprocessing import load_preprocessor, transform_features
    from netsec_cli.predict_input import open_input
    from netsec_cli.schema import Schema
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    with tempfile.TemporaryDirectory(prefix="netsec-bench-predict-") as tmp:
        root = Path(tmp)
        raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        raw["paths"]["root"] = str(root)
        raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
        raw["tracking"]["enabled"] = False
        (root / "config").mkdir()
        config_path = root / "config" / "config.yaml"
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        config = load_config(config_path)
        run_etl(config, source="synthetic")
        run_transform(config)
        run_train(config)
        artifacts = config.artifacts_dir
        schema = Schema.load(artifacts / "transform" / "schema.yaml")
        test = pd.read_parquet(artifacts / "etl" / "test.parquet")
        columns = [c for c in schema.columns if c != schema.target]
        block = test[columns].astype(str).to_numpy(dtype=str)
        data = root / "big.npy"
        rng = np.random.default_rng(0)
        out = np.lib.format.open_memmap(data, mode="w+", dtype=block.dtype, shape=(args.rows, len(columns)))
        for start in range(0, args.rows, 100_000):
            stop = min(start + 100_000, args.rows)
            out[start:stop] = block[rng.integers(0, len(block), stop - start)]
        out.flush()
        del out
        # the same rows, already transformed, for the bare baseline (not timed)
        preprocessor = load_preprocessor(artifacts / "transform" / "preprocessor.skops")
        matrix = root / "big_transformed.npy"
        source = open_input(data, schema, 100_000)
        transformed = np.lib.format.open_memmap(
            matrix, mode="w+", dtype=np.float32, shape=(args.rows, len(preprocessor.get_feature_names_out()))
        )
        start = 0
        for frame in source.chunks():
            transformed[start : start + len(frame)] = transform_features(preprocessor, frame)
            start += len(frame)
        transformed.flush()
        del transformed
        size_mb = data.stat().st_size / 2**20
        cli = _child(CLI_BODY.format(config=str(config_path), data=str(data), out=str(root / "preds.parquet")))
        bare = _child(BARE_BODY.format(model=str(artifacts / "train" / "model.ubj"), matrix=str(matrix)))
        written = len(pd.read_parquet(root / "preds.parquet", columns=["row"]))
        assert written == args.rows, written
    print(f"rows: {args.rows:,} ({size_mb:,.0f} MB unicode .npy, {len(columns)} columns)")
    print(f"netsec predict (CLI, subprocess): {cli['seconds']:8.2f}s  peak RSS {cli['peak_mb']:8.0f} MB  ({args.rows / cli['seconds']:,.0f} rows/s)")
    print(f"bare inplace_predict (transformed): {bare['seconds']:6.2f}s  peak RSS {bare['peak_mb']:8.0f} MB  ({args.rows / bare['seconds']:,.0f} rows/s)")
    print(f"ratio netsec / bare: {cli['seconds'] / bare['seconds']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
