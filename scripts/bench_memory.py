"""Memory test (not part of the unit suite): every stage under 1.5 GB peak on 2M rows.

Runs scripts/bench_scale.py's pipeline with its fixed settings: `--rows` synthetic rows (default
2,000,000), `predict.chunk_size` 100,000, the local engine unless `--engine dask`; each stage in a
fresh process, its footprint being its own peak RSS (VmHWM) plus the peak summed RSS of its
descendants (Dask workers). Prints the per-stage table and `every stage under 1.5 GB: yes/no`, and
exits 1 when a stage is above 1.5 GB (1,536 MB).
Usage: scripts/bench_memory.py [--rows 2000000] [--engine local|dask] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from bench_scale import (
    add_run_arguments,
    limit_line,
    render,
    run_pipeline,
    within_limit,
)

MEMORY_LIMIT_MB = 1.5 * 1024
MEMORY_ROWS = 2_000_000
MEMORY_CHUNK_SIZE = 100_000


def main() -> int:
    parser = argparse.ArgumentParser(description="every stage under 1.5 GB peak with chunk_size 100,000")
    add_run_arguments(parser, MEMORY_ROWS, MEMORY_CHUNK_SIZE)
    args = parser.parse_args()
    result = run_pipeline(args, args.engine)
    passed = within_limit(result, MEMORY_LIMIT_MB)
    if args.json:
        print(json.dumps({**result, "limit_mb": MEMORY_LIMIT_MB, "within_limit": passed}, indent=2))
    else:
        print(render(result))
        print(limit_line(result, MEMORY_LIMIT_MB, f"every stage under {MEMORY_LIMIT_MB / 1024:g} GB"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
