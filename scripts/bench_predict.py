"""Prediction throughput: `netsec predict` (the CLI, in a subprocess) vs bare XGBoost inplace_predict.

Builds a temporary project (synthetic data, repository config, tracking off), trains it, writes a
1,000,000-row unicode .npy (schema column order, no target) sampled from the test split, then:
  A. `netsec predict big.npy -o preds.parquet` in a child process (reading, checking, preprocessing,
     scoring and writing, with the memory-mapped chunked reader);
  B. a child process that loads the same model and calls Booster.inplace_predict on the same rows
     already transformed (float32 matrix loaded from .npy) - the floor for scoring alone.
Prints wall and CPU time of each (imports included), the ratio, and each child's peak RSS (VmHWM
from /proc/self/status: ru_maxrss would carry over the parent's peak across fork+exec).
--distinct makes every row different (src_bytes gets the row number added), so the KNN imputer's
de-duplication of rows with gaps cannot help: the worst case for imputation.
--code DIR (repeatable) runs A with the netsec_cli package found in each DIR (e.g. an older
`git archive` export) besides this checkout, to compare versions on the same data and load.
--explain also times `netsec predict --explain` (top_features for every flagged row) and prints
its cost relative to plain predict; --model-type catboost trains CatBoost instead (no bare run).
Usage: scripts/bench_predict.py [--rows 1000000] [--distinct] [--code DIR] [--explain] [--model-type T]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
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
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb / 1024}}))
"""

CLI_BODY = """
from netsec_cli.cli.app import app
try:
    app(["--config", {config!r}, "-q", "predict", {data!r}, "-o", {out!r}, "--json", *{extra!r}], standalone_mode=False)
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


def _child(body: str, code_dir: Path = REPO) -> dict[str, float]:
    code = CHILD.format(repo=str(code_dir), body=body)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec predict vs bare inplace_predict")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", action="store_true", help="make every row different")
    parser.add_argument("--code", type=Path, action="append", default=[], help="another folder holding a netsec_cli to time")
    parser.add_argument("--explain", action="store_true", help="also time predict --explain")
    parser.add_argument("--model-type", default="xgboost", choices=["xgboost", "catboost"])
    args = parser.parse_args()
    import numpy as np
    import pandas as pd

    from netsec_cli.artifacts import open_stage
    from netsec_cli.config import load_config
    from netsec_cli.preprocessing import transform_features
    from netsec_cli.sources.tabular import open_input
    from netsec_cli.stages.etl import run_etl
    from netsec_cli.scoring import features, load_model
    from netsec_cli.stages.train import run_train
    from netsec_cli.stages.transform import run_transform

    with tempfile.TemporaryDirectory(prefix="netsec-bench-predict-") as tmp:
        root = Path(tmp)
        raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        raw["paths"]["root"] = str(root)
        raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
        raw["tracking"]["enabled"] = False
        raw["model"]["type"] = args.model_type
        (root / "config").mkdir()
        config_path = root / "config" / "config.yaml"
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        config = load_config(config_path)
        run_etl(config, source="synthetic")
        run_transform(config)
        run_train(config)
        artifacts = config.artifacts_dir
        model = load_model(config)
        schema = model.schema
        test = open_stage(artifacts, "etl", "bench_predict").read("test")
        columns = [c for c in schema.columns if c != schema.target]
        block = test[columns].astype(str).to_numpy(dtype=str)
        data = root / "big.npy"
        rng = np.random.default_rng(0)
        out = np.lib.format.open_memmap(data, mode="w+", dtype=block.dtype, shape=(args.rows, len(columns)))
        for start in range(0, args.rows, 100_000):
            stop = min(start + 100_000, args.rows)
            out[start:stop] = block[rng.integers(0, len(block), stop - start)]
            if args.distinct:
                where = columns.index("src_bytes")
                bytes_ = pd.to_numeric(pd.Series(out[start:stop, where]), errors="coerce").to_numpy()
                out[start:stop, where] = np.where(np.isnan(bytes_), "", (bytes_ + np.arange(start, stop)).astype(np.int64).astype(str))
        out.flush()
        del out
        # the same rows, already transformed, for the bare baseline (not timed); the fast path,
        # checked against scikit-learn on the first chunk
        matrix = root / "big_transformed.npy"
        source = open_input(data, schema, 100_000)
        transformed = np.lib.format.open_memmap(
            matrix, mode="w+", dtype=np.float32, shape=(args.rows, len(model.preprocessor.get_feature_names_out()))
        )
        for chunk in source.chunks():
            transformed[chunk.start : chunk.start + len(chunk)] = features(model, chunk)
            if chunk.start == 0:
                assert np.array_equal(transformed[: len(chunk)], transform_features(model.preprocessor, chunk.frame()))
        transformed.flush()
        del transformed
        size_mb = data.stat().st_size / 2**20
        model_file = open_stage(artifacts, "train", "bench_predict").model_path("xgboost")
        bare = _child(BARE_BODY.format(model=str(model_file), matrix=str(matrix))) if args.model_type == "xgboost" else None
        runs: dict[str, dict[str, float]] = {}
        outputs = []
        for number, code_dir in enumerate([REPO, *args.code]):
            out_path = root / f"preds{number}.parquet"
            runs[str(code_dir)] = _child(CLI_BODY.format(config=str(config_path), data=str(data), out=str(out_path), extra=[]), code_dir)
            outputs.append(pd.read_parquet(out_path))
            assert len(outputs[-1]) == args.rows, len(outputs[-1])
            assert outputs[-1].equals(outputs[0]), f"{code_dir} predicts differently from {REPO}"
        if args.explain:
            out_path = root / "explained.parquet"
            runs["--explain"] = _child(CLI_BODY.format(config=str(config_path), data=str(data), out=str(out_path), extra=["--explain"]))
            explained = pd.read_parquet(out_path)
            assert explained.drop(columns=["top_features"]).equals(outputs[0]), "--explain predicts differently"
            flagged = explained["prediction"] == -1
            assert (explained.loc[flagged, "top_features"] != "").all() and (explained.loc[~flagged, "top_features"] == "").all()
    print(f"rows: {args.rows:,} ({size_mb:,.0f} MB unicode .npy, {len(columns)} columns{', distinct' if args.distinct else ''})")
    for name, got in [*((f"netsec predict ({code})", run) for code, run in runs.items()), *([("bare inplace_predict", bare)] if bare else [])]:
        print(
            f"{name}: {got['seconds']:.2f}s wall, {got['cpu']:.2f}s CPU, peak RSS {got['peak_mb']:.0f} MB"
            f" ({args.rows / got['seconds']:,.0f} rows/s)"
            + (f"; vs bare {got['seconds'] / bare['seconds']:.1f}x wall, {got['cpu'] / bare['cpu']:.1f}x CPU" if bare and got is not bare else "")
        )
    if args.explain:
        plain, explained_run = runs[str(REPO)], runs["--explain"]
        print(
            f"--explain ({args.model_type}, {int(flagged.sum()):,} flagged rows explained): "
            f"{explained_run['seconds'] / plain['seconds']:.2f}x plain predict wall, {explained_run['cpu'] / plain['cpu']:.2f}x CPU"
        )
    print("predictions identical across versions" if len(runs) > 1 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
