"""Stage fingerprints: a stage whose inputs have not changed since it last published is skipped.

A stage's fingerprint is the sha256 of the canonical JSON of what its outputs are computed from:
the stage, the netsec version, the published folders it reads (`runner.reads.READS`; each by the paths and
sha256s in its manifest, not its `created` time), the config it reads (`CONFIG_READS`) and what
the stage adds itself (`extra`: etl's source content or collection stats, schema and overrides;
train's tune request). Settings that change how fast a stage runs but not what it writes are left
out: `predict.chunk_size`, `compute.*`, `agents.data_ingestion_agent.*`, mongo timeouts.

`run_stage(..., fingerprint=extra)` writes `fingerprint.json` (the inputs, their digest and
`run.record`, what the stage reported) into the staging folder, so the manifest covers it.
`runner.unchanged`, called by a stage before `run_stage`, holds the artifacts lock while it
compares: the published folder must have a manifest that lists an intact `fingerprint.json` with
the same digest, and every file its manifest and its inputs' manifests list must be present with
its recorded size (sizes only, so a skip costs milliseconds; a stage that later reads a folder
still checks its hashes through `open_stage`). A skipped stage publishes nothing and logs one
line, `<stage>: skipped (unchanged)`; with `--sync` (or `aws.sync_after_stage`) it still mirrors
its folder. `RunOptions.force` never skips. With an `s3://` artifacts root the local copy may be
older than the root, so stages there always run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    Manifest,
    StageFiles,
    sha256_file,
    stage_dir,
    write_text_atomic,
)
from netsec_cli.errors import InputError
from netsec_cli.runner.reads import READS

if TYPE_CHECKING:
    from netsec_cli.config import Config


# The config each fingerprinted stage's outputs depend on: whole sections or dotted keys.
CONFIG_READS: dict[str, tuple[str, ...]] = {
    "etl": ("data", "split", "input"),
    "validate": (
        "validation",
        "split.seed",
        "agents.drift_detection_agent.threshold",
        "agents.retraining_agent.trigger_drift_threshold",
    ),
    "transform": ("transform", "split.seed"),
    "train": ("model", "predict.threshold", "tracking", "agents.drift_detection_agent.reference_rows"),
}


@dataclass(frozen=True)
class Fingerprint:
    """What a stage is computed from (`inputs`) and the sha256 of their canonical JSON."""

    inputs: dict[str, Any]
    digest: str


@functools.cache
def netsec_version() -> str:
    """The installed netsec-cli version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("netsec-cli")
    except PackageNotFoundError:
        from netsec_cli import __version__

        return __version__


def fingerprint(config: Config, stage: str, extra: dict[str, Any]) -> Fingerprint:
    """The fingerprint of `stage` now; the caller holds the artifacts lock (it reads manifests)."""
    inputs = {
        "stage": stage,
        "netsec": netsec_version(),
        "upstream": {name: upstream_digest(config.artifacts_dir, name) for name in READS.get(stage, ())},
        "config": {key: config_value(config, key) for key in CONFIG_READS.get(stage, ())},
        **plain(extra),
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return Fingerprint(inputs, hashlib.sha256(text.encode()).hexdigest())


def upstream_digest(artifacts: Path, stage: str) -> str | None:
    """The sha256 of a published folder's files as its manifest lists them (None: not published)."""
    folder = stage_dir(artifacts, stage)
    manifest = _manifest(folder)
    if manifest is None:
        return None
    name = StageFiles(folder).fingerprint.name
    entries = sorted(f"{e.path}\0{e.sha256}" for e in manifest.files if e.path != name)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def config_value(config: Config, dotted: str) -> Any:
    """The JSON value of a config section or dotted key."""
    node: Any = config
    for part in dotted.split("."):
        node = getattr(node, part)
    return plain(node)


def plain(value: Any) -> Any:
    """`value` as plain JSON data: pydantic models, dataclasses, paths and numpy scalars converted."""
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def write_fingerprint(config: Config, stage: str, extra: dict[str, Any], staging: Path, record: dict[str, Any] | None) -> None:
    """Write `fingerprint.json` into `staging`: the inputs, their digest and what the stage reported."""
    if record is None:
        raise RuntimeError(f"stage {stage} is fingerprinted but set no run.record")
    current = fingerprint(config, stage, extra)
    document = {"sha256": current.digest, "inputs": current.inputs, "result": plain(record)}
    write_text_atomic(StageFiles(staging).fingerprint, json.dumps(document, indent=2) + "\n")


def matching_record(artifacts: Path, stage: str, current: Fingerprint) -> dict[str, Any] | None:
    """The recorded result of the published `stage` when its fingerprint is `current` and it and
    its inputs look intact (every listed file present with its size), else None."""
    folder = stage_dir(artifacts, stage)
    files = StageFiles(folder)
    manifest = _manifest(folder)
    entry = manifest.entry(files.fingerprint.name) if manifest else None
    if entry is None or not all(_intact(stage_dir(artifacts, name)) for name in (stage, *READS.get(stage, ()))):
        return None
    try:
        if sha256_file(files.fingerprint) != entry.sha256:
            return None
        document = json.loads(files.fingerprint.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("sha256") != current.digest:
        _log_changes(stage, document.get("inputs") if isinstance(document, dict) else None, current.inputs)
        return None
    result = document.get("result")
    return result if isinstance(result, dict) else None


def _manifest(folder: Path) -> Manifest | None:
    try:
        return Manifest.read(folder)
    except InputError:
        return None


def _intact(folder: Path) -> bool:
    """The folder has a manifest and every file it lists is there with its recorded size."""
    manifest = _manifest(folder)
    if manifest is None:
        return False
    for entry in manifest.files:
        file = folder / entry.path
        if file.is_symlink() or not file.is_file() or file.stat().st_size != entry.size:
            return False
    return True


def _log_changes(stage: str, before: Any, now: dict[str, Any]) -> None:
    """Log which inputs differ from the published fingerprint's (why the stage runs)."""
    if not isinstance(before, dict):
        return
    keys = sorted(set(before) | set(now))
    changed = [f"{key}.{sub}" if sub else key for key in keys for sub in _differing(before.get(key), now.get(key))]
    if changed:
        logging.getLogger(f"netsec_cli.stages.{stage}").info("%s: inputs changed (%s)", stage, ", ".join(changed))


def _differing(before: Any, now: Any) -> list[str]:
    """The keys of two dicts whose values differ ([""] for two different non-dicts, [] when equal)."""
    if before == now:
        return []
    if isinstance(before, dict) and isinstance(now, dict):
        return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    return [""]
