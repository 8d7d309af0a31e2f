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
--format parquet|csv (default npy: all of the above) writes the same sampled rows instead as a typed
Parquet file or a CSV file with a header, times `netsec predict FILE -o preds.csv`, and as the
baseline a plain child script that reads the whole file with pyarrow (parquet.read_table /
csv.read_csv), makes a pandas DataFrame of the schema's feature columns, applies the trained
preprocessor (artifacts/train/preprocessor.skops, via load_preprocessor) with scikit-learn's
.transform, calls the booster's inplace_predict and writes the same CSV columns predict writes
(imports included in both). Prints both times, the ratio netsec/baseline and PASS/MISS against
--target (1.5x); the probabilities of the two must agree. (xgboost only; no --explain.)
Usage: scripts/bench_predict.py [--rows 1000000] [--distinct] [--code DIR] [--explain] [--model-type T]
                                [--format npy|parquet|csv] [--target 1.5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


PLAIN_BODY = """
import json, time
from pathlib import Path
from typing import Any
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from xgboost import Booster
from netsec_cli.preprocessing import load_preprocessor
phases = {{"imports": time.perf_counter() - started}}
numerical, categorical = {numerical!r}, {categorical!r}
preprocessor = load_preprocessor(Path({preprocessor!r}))
booster = Booster(); booster.load_model({model!r})
threshold = json.loads(Path({info!r}).read_text())["threshold"]
phases["load"] = time.perf_counter() - started - sum(phases.values())
if {kind!r} == "parquet":
    table = pq.read_table({data!r}, columns=numerical + categorical)
else:
    table = pacsv.read_csv({data!r}, convert_options=pacsv.ConvertOptions(include_columns=numerical + categorical, strings_can_be_null=True))
frame = table.to_pandas()
for column in numerical:
    frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
for column in categorical:
    values = frame[column]
    frame[column] = values.astype(object).where(values.notna(), np.nan)
phases["read+to_pandas"] = time.perf_counter() - started - sum(phases.values())
x = np.ascontiguousarray(preprocessor.transform(frame[[c for c in {features!r}]]), dtype=np.float32)
phases["sklearn transform"] = time.perf_counter() - started - sum(phases.values())
probability = np.asarray(booster.inplace_predict(x), dtype=np.float64)
phases["inplace_predict"] = time.perf_counter() - started - sum(phases.values())
intrusion = probability >= threshold
pacsv.write_csv(pa.table({{
    "row": pa.array(np.arange(len(probability), dtype=np.int64)),
    "prediction": pa.array(np.where(intrusion, -1, 0).astype(np.int8)),
    "label": pa.array(["normal", "intrusion"]).take(pa.array(intrusion.astype(np.int8))),
    "probability": pa.array(probability),
}}), {out!r})
phases["write csv"] = time.perf_counter() - started - sum(phases.values())
Path({out!r} + ".phases.json").write_text(json.dumps(phases))
"""


def _child(body: str, code_dir: Path = REPO) -> dict[str, float]:
    code = CHILD.format(repo=str(code_dir), body=body)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _predict_versions(args: argparse.Namespace, config_path: Path, data: Path, root: Path, suffix: str) -> tuple[dict[str, dict[str, float]], list[Any]]:
    """`netsec predict data` timed with this checkout and every --code tree (output `suffix`);
    the timings by tree, and the outputs, checked to agree."""
    import pandas as pd

    runs: dict[str, dict[str, float]] = {}
    outputs = []
    for number, code_dir in enumerate([REPO, *args.code]):
        out_path = root / f"preds{number}{suffix}"
        runs[str(code_dir)] = _child(CLI_BODY.format(config=str(config_path), data=str(data), out=str(out_path), extra=[]), code_dir)
        outputs.append(pd.read_parquet(out_path) if suffix == ".parquet" else pd.read_csv(out_path))
        assert len(outputs[-1]) == args.rows, len(outputs[-1])
        assert outputs[-1].equals(outputs[0]), f"{code_dir} predicts differently from {REPO}"
    return runs, outputs


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec predict vs bare inplace_predict")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", action="store_true", help="make every row different")
    parser.add_argument("--code", type=Path, action="append", default=[], help="another folder holding a netsec_cli to time")
    parser.add_argument("--explain", action="store_true", help="also time predict --explain")
    parser.add_argument("--model-type", default="xgboost", choices=["xgboost", "catboost"])
    parser.add_argument("--format", default="npy", choices=["npy", "parquet", "csv"], help="input file format (default npy)")
    parser.add_argument("--target", type=float, default=1.5, help="--format parquet/csv: PASS when netsec/baseline <= this")
    args = parser.parse_args()
    if args.format != "npy" and (args.explain or args.model_type != "xgboost"):
        parser.error("--format parquet/csv compares against an XGBoost baseline: no --explain or --model-type catboost")
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
        if args.format != "npy":
            return _tabular(args, root, config_path, artifacts, schema, test[columns], columns)
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
        runs, outputs = _predict_versions(args, config_path, data, root, ".parquet")
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


def _tabular(args: argparse.Namespace, root: Path, config_path: Path, artifacts: Path, schema, rows, columns: list[str]) -> int:
    """--format parquet/csv: the sampled rows as a file, netsec predict vs the plain pyarrow script."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from netsec_cli.artifacts import open_stage

    data = root / f"big.{args.format}"
    rng = np.random.default_rng(0)
    writer = None
    try:
        for start in range(0, args.rows, 100_000):
            stop = min(start + 100_000, args.rows)
            part = rows.iloc[rng.integers(0, len(rows), stop - start)].reset_index(drop=True)
            if args.distinct:
                bytes_ = pd.to_numeric(part["src_bytes"], errors="coerce")
                part["src_bytes"] = (bytes_ + np.arange(start, stop)).astype(part["src_bytes"].dtype if bytes_.notna().all() else "float64")
            table = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                schema_ = table.schema
                writer = pq.ParquetWriter(data, schema_) if args.format == "parquet" else pacsv.CSVWriter(data, schema_)
            writer.write_table(table.cast(schema_))
    finally:
        if writer is not None:
            writer.close()
    size_mb = data.stat().st_size / 2**20
    train = open_stage(artifacts, "train", "bench_predict")
    runs, outputs = _predict_versions(args, config_path, data, root, ".csv")
    plain_out = root / "plain.csv"
    plain = _child(
        PLAIN_BODY.format(
            numerical=list(schema.numerical),
            categorical=list(schema.categorical),
            features=list(schema.features),
            preprocessor=str(train.preprocessor),
            model=str(train.model_path("xgboost")),
            info=str(train.model_info),
            kind=args.format,
            data=str(data),
            out=str(plain_out),
        )
    )
    baseline = pd.read_csv(plain_out)
    phases = json.loads(Path(str(plain_out) + ".phases.json").read_text())
    assert len(baseline) == args.rows, len(baseline)
    gap = float(np.max(np.abs(baseline["probability"].to_numpy() - outputs[0]["probability"].to_numpy())))
    flips = int((baseline["prediction"] != outputs[0]["prediction"]).sum())
    print(f"rows: {args.rows:,} ({size_mb:,.0f} MB {args.format}, {len(columns)} columns{', distinct' if args.distinct else ''})")
    print(f"plain pyarrow + sklearn transform + inplace_predict: {plain['seconds']:.2f}s wall, {plain['cpu']:.2f}s CPU, peak RSS {plain['peak_mb']:.0f} MB")
    print("  baseline phases: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in phases.items()))
    for code, got in runs.items():
        ratio = got["seconds"] / plain["seconds"]
        print(
            f"netsec predict ({code}): {got['seconds']:.2f}s wall, {got['cpu']:.2f}s CPU, peak RSS {got['peak_mb']:.0f} MB"
            f" ({args.rows / got['seconds']:,.0f} rows/s); vs baseline {ratio:.2f}x wall, {got['cpu'] / plain['cpu']:.2f}x CPU"
            f" -> {'PASS' if ratio <= args.target else 'MISS'} (target <= {args.target}x)"
        )
    print(f"max |probability difference| vs baseline: {gap:.2e}; predictions differing: {flips:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
