"""Validate time and peak memory: `netsec validate` now (one streaming pass) vs the whole-frame code.

Builds a temporary project (the repository config, tracking off, `data.synthetic_rows: N`),
runs `netsec etl --source synthetic` once, then times `netsec validate` in a fresh child process
per run (the CLI in-process there, imports included) and reads the child's own peak RSS (VmHWM
from /proc/self/status just before it exits). Each version uses its own config/config.yaml with
the same overrides. The baseline is the tree of commit `--base-commit` (default a6877bb, whose
validate stage read both splits whole) exported with `git archive` into `--base-dir` (made only
when absent; the repository is not changed). It also says whether both reports agree (every key
but `created`, `settings` and `sampling`): expected while each split has at most
`validation.sample_rows` rows; above it the KS figures come from the sample and differ slightly.
Usage: scripts/bench_validate.py --rows N [--chunk-size C] [--sample-rows S] [--repeat K] [--no-base]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from stage_bench import (
    REPO,
    add_common_arguments,
    alternate_runs,
    child_run,
    code_versions,
    stage_config,
)


def _report(root: Path) -> dict[str, Any]:
    """The validate report without the keys that differ by design (time, settings, sampling)."""
    report: dict[str, Any] = json.loads((root / "artifacts" / "validate" / "report.json").read_text())
    return {k: v for k, v in report.items() if k not in {"created", "settings", "sampling"}}


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec validate: streaming (this checkout) vs the previous code")
    parser.add_argument("--sample-rows", type=int, default=None, help="validation.sample_rows (this checkout only)")
    add_common_arguments(parser, "rows per batch read")
    args = parser.parse_args()
    versions = code_versions(args)
    with tempfile.TemporaryDirectory(prefix="netsec-bench-validate-") as tmp:
        root = Path(tmp)
        configs = {name: stage_config(code, root, f"{name}.yaml", args.rows, {"predict": {"chunk_size": args.chunk_size}, "validation": {"sample_rows": args.sample_rows}}) for name, code in versions.items()}
        etl = child_run(REPO, configs["new"], "etl", "--source", "synthetic")
        print(f"etl of {args.rows:,} synthetic rows: {etl['seconds']:.1f}s (not part of the figures below)", flush=True)
        reports: dict[str, dict[str, Any]] = {}
        sampling: dict[str, Any] = {}

        def keep_report(name: str) -> None:
            reports[name] = _report(root)
            if name == "new":
                sampling.update(json.loads((root / "artifacts" / "validate" / "report.json").read_text())["sampling"])

        best = alternate_runs(versions, configs, "validate", args.rows, args.repeat, keep_report)
    new = reports["new"]
    print(f"rows: {args.rows:,} ({new['train_rows']:,} train + {new['test_rows']:,} test), chunk size {args.chunk_size or 'config default'}")
    print(f"sampling (this checkout): {sampling}")
    if "old" in reports:
        same = reports["old"] == reports["new"]
        print(f"reports old vs new: {'identical' if same else 'different'} (identical expected when no split is sampled)")
        if not same:
            for row_old, row_new in zip(reports["old"]["drift"], reports["new"]["drift"]):
                if row_old != row_new:
                    print(f"  {row_old['column']}: p {row_old['p_value']:.4g} -> {row_new['p_value']:.4g}, statistic {row_old['statistic']} -> {row_new['statistic']}")
        ratio = best["old"]["seconds"] / best["new"]["seconds"]
        print(f"speed-up (old s / new s): {ratio:.1f}x; peak RSS {best['old']['peak_mb']:,.0f} -> {best['new']['peak_mb']:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
