"""Write a sample of flows as a unicode 2-D .npy (schema column order, no target) for `netsec predict`.

Rows come from artifacts/etl/test.parquet when it exists, else from the synthetic generator.
Usage: scripts/make_sample.py --rows 2000 --output demo/sample_flows.npy [--config config/config.yaml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from netsec_cli.artifacts import EtlFiles, atomic_path, stage_dir
    from netsec_cli.config import load_config
    from netsec_cli.schema import Schema, shipped_schema

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    etl = EtlFiles(stage_dir(config.artifacts_dir, "etl"))
    if etl.test.is_file():
        schema = etl.load_schema()
        frame = etl.read("test")
    else:
        from netsec_cli.sources.synthetic import generate_flows

        schema = Schema.load(shipped_schema("nsl_kdd"))
        frame = generate_flows(max(args.rows, 100), seed=args.seed)
    frame = frame.sample(n=args.rows, replace=len(frame) < args.rows, random_state=args.seed)
    columns = [c for c in schema.columns if c != schema.target and c in frame.columns]
    array = frame[columns].astype(str).to_numpy(dtype=str)
    with atomic_path(args.output) as tmp:
        np.save(tmp, array, allow_pickle=False)
    print(f"wrote {args.output}: {array.shape[0]} rows x {array.shape[1]} columns ({array.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
