"""Transform throughput and peak memory: `netsec transform` now vs the code before chunking.

Builds a temporary project (the repository config, tracking off, `data.synthetic_rows: N`),
runs `netsec etl --source synthetic` once, then times `netsec transform` in a fresh child
process per run (the CLI in-process there, imports included) and reads the child's own peak RSS
(VmHWM from /proc/self/status just before it exits: ru_maxrss of a child would carry the
parent's peak over fork). Each version uses its own config/config.yaml with the same overrides.
The baseline is the tree of commit `--base-commit` (default a6877bb, the last one before the
chunked transform) exported with `git archive` into `--base-dir` (made only when absent; the
repository itself is not changed). `--repeat` runs old and new back to back that many times.
It also says whether both versions wrote byte-identical X/y arrays (expected while the training
split has at most `transform.fit_max_rows` rows, so both fit on the same rows).
Usage: scripts/bench_transform.py --rows N [--chunk-size C] [--repeat K] [--no-base]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from stage_bench import (
    REPO,
    add_common_arguments,
    alternate_runs,
    child_run,
    code_versions,
    stage_config,
)


def _digest(folder: Path) -> str:
    """One sha256 over the four arrays' files."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("X_train", "y_train", "X_test", "y_test"):
        with (folder / f"{name}.npy").open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec transform: chunked (this checkout) vs the previous code")
    add_common_arguments(parser, "rows per transform chunk")
    args = parser.parse_args()
    versions = code_versions(args)
    with tempfile.TemporaryDirectory(prefix="netsec-bench-transform-") as tmp:
        root = Path(tmp)
        configs = {name: stage_config(code, root, f"{name}.yaml", args.rows, {"predict": {"chunk_size": args.chunk_size}}) for name, code in versions.items()}
        etl = child_run(REPO, configs["new"], "etl", "--source", "synthetic")
        print(f"etl of {args.rows:,} synthetic rows: {etl['seconds']:.1f}s (not part of the figures below)", flush=True)
        digests: dict[str, str] = {}

        def keep_digest(name: str) -> None:
            digests[name] = _digest(root / "artifacts" / "transform")

        best = alternate_runs(versions, configs, "transform", args.rows, args.repeat, keep_digest)
        shape = json.loads((root / "artifacts" / "transform" / "transform.json").read_text())
    print(f"rows: {args.rows:,} ({shape['train_rows']:,} train + {shape['test_rows']:,} test), chunk size {args.chunk_size or 'config default'}")
    if "old" in digests:
        same = digests["old"] == digests["new"]
        print(f"X/y arrays old vs new: {'byte-identical' if same else 'different'} (identical expected when train rows <= transform.fit_max_rows)")
    if "old" in best:
        ratio = best["old"]["seconds"] / best["new"]["seconds"]
        print(f"per-row speed-up (old s / new s): {ratio:.1f}x; peak RSS {best['old']['peak_mb']:,.0f} -> {best['new']['peak_mb']:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
