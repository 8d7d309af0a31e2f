"""Every stage at scale: wall time, rows/s and peak RSS of etl, validate, transform, train, predict.

Writes a temporary project (the repository's config.yaml with tracking off, `data.synthetic_rows:
N`, `compute.engine`, for dask `compute.local_workers`, and `predict.chunk_size` when given) and
runs each stage as `netsec <stage>` in a fresh child process (the CLI in-process there, imports
included), in pipeline order. Per stage it reads the child's own peak RSS (VmHWM) and polls the
child's process tree every 0.2 s with psutil for the peak RSS of its descendants (the Dask
workers of a LocalCluster the stage starts): the largest one and the peak of their summed RSS.
A stage's footprint is the process peak plus that sum; the 3 GB target (3,072 MB) applies to it.
`validate` exiting 3 (drift) counts as completed and is shown.

Rows per stage: etl and predict N, validate and transform both splits (N), train its training
split. Predict's input: the feature columns (no target, no dropped columns) of the ETL test split,
repeated in order until it has N rows, as Parquet (an unlabelled batch of flows drawn like the
test split; within a chunk the rows are as distinct as the test split's), scored into a Parquet
file outside artifacts/.

--compare-engines runs the pipeline with the local engine, then with dask (--workers local
workers), on the same N, and prints each stage's dask/local time ratio and the end-to-end one
against the 1.5x target. --json prints the figures as JSON instead of tables.
Usage: scripts/bench_scale.py --rows N [--engine local|dask] [--chunk-size C] [--workers W]
                              [--threads T] [--compare-engines] [--json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from stage_bench import REPO, stage_config, watched_run

STAGES = ("etl", "validate", "transform", "train", "predict")
SCALE_LIMIT_MB = 3 * 1024
ENGINE_RATIO_TARGET = 1.5
DRIFT_EXIT = 3


def project_config(root: Path, rows: int, engine: str, chunk_size: int | None, workers: int, threads: int | None) -> Path:
    """The temporary project's config/config.yaml for `rows` synthetic rows on `engine`."""
    compute = {"engine": engine, "local_workers": workers if engine == "dask" else None, "threads": threads}
    return stage_config(REPO, root, "config.yaml", rows, {"predict": {"chunk_size": chunk_size}, "compute": compute})


def split_rows(root: Path) -> dict[str, int]:
    """Rows of the ETL train and test splits, from their Parquet footers."""
    import pyarrow.parquet as pq

    etl = root / "artifacts" / "etl"
    return {name: pq.ParquetFile(etl / f"{name}.parquet").metadata.num_rows for name in ("train", "test")}


def predict_input(root: Path, config: Path, rows: int) -> Path:
    """`rows` unlabelled flows as Parquet: the test split's feature columns, repeated in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    data = yaml.safe_load(config.read_text())["data"]
    dropped = {data["target"], *(data.get("drop_columns") or [])}
    source = pq.ParquetFile(root / "artifacts" / "etl" / "test.parquet")
    columns = [name for name in source.schema_arrow.names if name not in dropped]
    schema = pa.schema([source.schema_arrow.field(name) for name in columns])
    path = root / "predict_input.parquet"
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        while written < rows:
            for batch in source.iter_batches(batch_size=100_000, columns=columns):
                part = batch.slice(0, rows - written)
                writer.write_table(pa.Table.from_batches([part], schema=schema))
                written += part.num_rows
                if written >= rows:
                    break
    return path


def _stage_args(stage: str, root: Path) -> list[str]:
    """The netsec command line of one stage in the temporary project."""
    if stage == "etl":
        return ["etl", "--source", "synthetic"]
    if stage == "predict":
        return ["predict", str(root / "predict_input.parquet"), "-o", str(root / "predictions.parquet")]
    return [stage]


def _stage_rows(stage: str, rows: int, splits: dict[str, int]) -> int:
    """The rows one stage works through: train its training split, validate and transform both."""
    if stage == "train":
        return splits["train"]
    if stage in ("validate", "transform"):
        return splits["train"] + splits["test"]
    return rows


def run_pipeline(args: argparse.Namespace, engine: str) -> dict[str, Any]:
    """Every stage on `args.rows` synthetic rows with `engine`, each in a fresh process; its figures."""
    rows, chunk_size, workers = args.rows, args.chunk_size, args.workers
    stages: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"netsec-bench-scale-{engine}-", dir=args.workdir) as tmp:
        root = Path(tmp)
        config = project_config(root, rows, engine, chunk_size, workers, args.threads)
        splits: dict[str, int] = {}
        for stage in STAGES:
            if stage == "predict":
                predict_input(root, config, rows)
            got = watched_run(REPO, config, *_stage_args(stage, root), ok_exits=(0, DRIFT_EXIT) if stage == "validate" else (0,))
            if stage == "etl":
                splits = split_rows(root)
            stage_rows = _stage_rows(stage, rows, splits)
            figures = {"stage": stage, "rows": stage_rows, **got, "rows_per_s": stage_rows / got["seconds"]}
            figures["footprint_mb"] = got["peak_mb"] + got["workers_sum_mb"]
            stages.append(figures)
            print(f"[{engine}] {stage}: {got['seconds']:.1f}s, peak {figures['footprint_mb']:,.0f} MB", file=sys.stderr, flush=True)
    return {
        "rows": rows,
        "engine": engine,
        "workers": workers if engine == "dask" else None,
        "chunk_size": chunk_size,
        "threads": args.threads,
        "load_average": [load_before, os.getloadavg()[0]],
        "splits": splits,
        "stages": stages,
        "total_seconds": sum(s["seconds"] for s in stages),
        "max_footprint_mb": max(s["footprint_mb"] for s in stages),
    }


def within_limit(result: dict[str, Any], limit_mb: float) -> bool:
    """Whether every stage's footprint (process peak + workers' summed peak) stays at or under `limit_mb`."""
    return all(stage["footprint_mb"] <= limit_mb for stage in result["stages"])


def render(result: dict[str, Any]) -> str:
    """The per-stage table of one pipeline run."""
    dask = result["engine"] == "dask" or any(s["workers"] for s in result["stages"])
    head = f"{'stage':<10}{'rows':>12}{'seconds':>10}{'CPU s':>8}{'rows/s':>12}{'peak MB':>10}"
    head += f"{'procs':>7}{'wk max MB':>11}{'wk sum MB':>11}" if dask else ""
    before, after = result["load_average"]
    splits, engine = result["splits"], result["engine"] + (f" ({result['workers']} workers)" if result["workers"] else "")
    settings = (
        f"{result['rows']:,} synthetic rows ({splits['train']:,} train + {splits['test']:,} test), engine {engine}, "
        f"chunk size {result['chunk_size'] or 'config default'}, threads {result['threads'] or 'config default'}; "
        f"1-min load average {before:.1f} before, {after:.1f} after"
    )
    legend = (
        "peak MB: the stage process's VmHWM; procs, wk: its descendant processes (Dask workers and helpers), "
        "the largest one's peak and the peak of their summed RSS (polled every 0.2 s); CPU s: process + descendants"
    )
    lines = [settings, legend, head]
    for s in result["stages"]:
        cpu = s["cpu"] + s["workers_cpu"]
        line = f"{s['stage']:<10}{s['rows']:>12,}{s['seconds']:>10.1f}{cpu:>8.1f}{s['rows_per_s']:>12,.0f}{s['peak_mb']:>10,.0f}"
        line += f"{s['workers']:>7}{s['workers_max_mb']:>11,.0f}{s['workers_sum_mb']:>11,.0f}" if dask else ""
        lines.append(line + (f"  (exit {s['exit']}: drift)" if s["exit"] == DRIFT_EXIT else ""))
    total = result["total_seconds"]
    cpu = sum(s["cpu"] + s["workers_cpu"] for s in result["stages"])
    worst = {key: max(s[key] for s in result["stages"]) for key in ("peak_mb", "workers", "workers_max_mb", "workers_sum_mb")}
    line = f"{'end to end':<10}{result['rows']:>12,}{total:>10.1f}{cpu:>8.1f}{result['rows'] / total:>12,.0f}{worst['peak_mb']:>10,.0f}"
    line += f"{worst['workers']:>7}{worst['workers_max_mb']:>11,.0f}{worst['workers_sum_mb']:>11,.0f}" if dask else ""
    lines.append(line)
    return "\n".join(lines)


def compare(local: dict[str, Any], dask: dict[str, Any]) -> dict[str, Any]:
    """Dask's time over the local engine's, per stage and end to end."""
    ratios = {a["stage"]: b["seconds"] / a["seconds"] for a, b in zip(local["stages"], dask["stages"])}
    end_to_end = dask["total_seconds"] / local["total_seconds"]
    return {"ratios": ratios, "end_to_end": end_to_end, "within_target": end_to_end <= ENGINE_RATIO_TARGET}


def render_comparison(local: dict[str, Any], dask: dict[str, Any], ratios: dict[str, Any]) -> str:
    """The dask/local table and the 1.5x line."""
    lines = [f"{'stage':<10}{'local s':>10}{'dask s':>10}{'dask/local':>12}"]
    for a, b in zip(local["stages"], dask["stages"]):
        lines.append(f"{a['stage']:<10}{a['seconds']:>10.1f}{b['seconds']:>10.1f}{ratios['ratios'][a['stage']]:>11.2f}x")
    lines.append(f"{'end to end':<10}{local['total_seconds']:>10.1f}{dask['total_seconds']:>10.1f}{ratios['end_to_end']:>11.2f}x")
    lines.append(f"dask within {ENGINE_RATIO_TARGET}x of local end to end: {'yes' if ratios['within_target'] else 'no'}")
    return "\n".join(lines)


def limit_line(result: dict[str, Any], limit_mb: float, label: str) -> str:
    """`<label>: yes/no` with the largest stage footprint."""
    worst = max(result["stages"], key=lambda s: s["footprint_mb"])
    verdict = "yes" if within_limit(result, limit_mb) else "no"
    return f"{label}: {verdict} (largest: {worst['stage']} {worst['footprint_mb']:,.0f} MB of {limit_mb:,.0f} MB, process + workers)"


def add_run_arguments(parser: argparse.ArgumentParser, rows: int, chunk_size: int | None) -> None:
    """--rows, --engine, --chunk-size, --workers, --threads, --workdir and --json."""
    parser.add_argument("--rows", type=int, default=rows, help="synthetic rows generated by etl (train + test)")
    parser.add_argument("--engine", choices=["local", "dask"], default="local", help="compute.engine")
    parser.add_argument("--chunk-size", type=int, default=chunk_size, help="predict.chunk_size (default: the config's)")
    parser.add_argument("--workers", type=int, default=2, help="compute.local_workers with dask (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="compute.threads (default: the config's, auto)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary project goes (default: the system temp folder)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec at scale: every stage's time, rows/s and peak RSS")
    add_run_arguments(parser, 1_000_000, None)
    parser.add_argument("--compare-engines", action="store_true", help="run local then dask and print dask/local per stage")
    args = parser.parse_args()
    label = f"no stage above {SCALE_LIMIT_MB / 1024:g} GB"
    if args.compare_engines:
        local = run_pipeline(args, "local")
        dask = run_pipeline(args, "dask")
        ratios = compare(local, dask)
        if args.json:
            print(json.dumps({"local": local, "dask": dask, "comparison": ratios, "limit_mb": SCALE_LIMIT_MB}, indent=2))
        else:
            print("\n\n".join([render(local), render(dask), render_comparison(local, dask, ratios)]))
            print(limit_line(local, SCALE_LIMIT_MB, f"local: {label}"))
            print(limit_line(dask, SCALE_LIMIT_MB, f"dask: {label}"))
        return 0
    result = run_pipeline(args, args.engine)
    if args.json:
        print(json.dumps({**result, "limit_mb": SCALE_LIMIT_MB, "within_limit": within_limit(result, SCALE_LIMIT_MB)}, indent=2))
    else:
        print(render(result))
        print(limit_line(result, SCALE_LIMIT_MB, label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
