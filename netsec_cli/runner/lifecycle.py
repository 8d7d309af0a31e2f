"""The one stage lifecycle: lock, logs, staging folder, publish, manifest, optional S3 mirror.

Every stage body runs inside `run_stage`:

    with run_stage(config, "transform", options, source=etl.folder) as run:
        ...                          # the stage's own work, writing into run.staging
        run.summary.update(rows=n)   # logged with the duration when the stage ends

Lock scope (the same for every stage): a stage that publishes into the artifacts folder holds
the artifacts lock from before it reads its inputs until its folder is published and, when
asked, mirrored, so it reads a consistent set of earlier outputs and no other run interleaves.
A run that writes nothing under artifacts/ (`predict --output elsewhere`, `sync-s3 --dry-run`)
takes no lock: published folders are swapped in whole, so reading them is always safe. Another
run holding the lock is `LockBusy` (exit 5) after `options.lock_wait` seconds.

On an exception the staging folder is removed and the previous published folder stays. After a
successful publish (still under the lock), the `.staging-<name>-*` and `.previous-<name>` folders
that killed runs of this stage left behind are removed (`artifacts.remove_stale_staging`): with
the lock held no other netsec process can be publishing, so any such folder is stale.

With an `s3://` artifacts root (`netsec_cli.runner.remote_root`) the S3 location is the source of
truth: a stage that publishes or reads earlier outputs connects to it when it starts, pulls the
folders it reads (under the lock, which a stage that otherwise takes none holds just for the
pull), and pushes its own folder right after publishing; `--sync` adds nothing then.

A stage that publishes calls `unchanged` first: when its inputs match those
recorded in its published `fingerprint.json`, it returns the recorded result without running
(`RunOptions.force` always runs); else its `run_stage(..., fingerprint=...)` publishes a new one.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsec_cli.artifacts import (
    new_staging_dir,
    pipeline_lock,
    publish,
    remove_stale_staging,
    stage_dir,
)
from netsec_cli.logging_setup import stage_log
from netsec_cli.progress import NO_PROGRESS, Progress
from netsec_cli.runner.fingerprint import fingerprint as stage_fingerprint
from netsec_cli.runner.fingerprint import matching_record, write_fingerprint
from netsec_cli.runner.reads import READS

if TYPE_CHECKING:
    from netsec_cli.cloud.bucket import Mirror
    from netsec_cli.config import Config


@dataclass(frozen=True)
class RunOptions:
    """How to run a stage, as opposed to what it computes."""

    progress: Progress = NO_PROGRESS
    sync: bool = False  # mirror the published folder to S3 (also when aws.sync_after_stage)
    lock_wait: float = 0.0  # seconds to wait for another run's lock before LockBusy (exit 5)
    force: bool = False  # run even when the stage's fingerprint matches its published folder


@dataclass
class StageRun:
    """One running stage: where it writes, what it reports, how long it has run."""

    name: str
    staging: Path | None
    summary: dict[str, Any] = field(default_factory=dict)
    published: Path | None = None
    started: float = field(default_factory=time.perf_counter)
    record: dict[str, Any] | None = None  # what a fingerprinted stage reported (in fingerprint.json)

    def elapsed(self) -> float:
        """Seconds since the stage started, rounded to milliseconds."""
        return round(time.perf_counter() - self.started, 3)

    @property
    def folder(self) -> Path:
        """The staging folder (only for a stage that publishes)."""
        if self.staging is None:
            raise RuntimeError(f"stage {self.name} publishes nothing")
        return self.staging


@dataclass(frozen=True)
class Recorded:
    """A published stage whose fingerprint matches: its folder, what it reported, the check's seconds."""

    folder: Path
    result: dict[str, Any]
    seconds: float


def unchanged(config: Config, name: str, options: RunOptions, extra: dict[str, Any] | None = None) -> Recorded | None:
    """The published stage `name` when its fingerprint (`runner.fingerprint`, with the stage's own
    inputs `extra`) matches its inputs now, else None: always with `options.force` or an `s3://`
    artifacts root. A skip is logged and, with `--sync` or `aws.sync_after_stage`, mirrored."""
    if options.force or config.artifacts_remote is not None:
        return None
    started = time.perf_counter()
    with pipeline_lock(config.artifacts_dir, wait=options.lock_wait):
        result = matching_record(config.artifacts_dir, name, stage_fingerprint(config, name, extra or {}))
        if result is None:
            return None
        logging.getLogger(f"netsec_cli.stages.{name}").info("%s: skipped (unchanged)", name)
        remove_stale_staging(config.artifacts_dir, name)  # as after a publish: the lock is held
        if options.sync or config.aws.sync_after_stage:
            from netsec_cli.runner.mirror import push_stage

            push_stage(config, name, options.progress)
    return Recorded(stage_dir(config.artifacts_dir, name), result, round(time.perf_counter() - started, 3))


@contextlib.contextmanager
def run_stage(
    config: Config,
    name: str,
    options: RunOptions = RunOptions(),
    *,
    publishes: bool = True,
    locks: bool | None = None,
    fingerprint: dict[str, Any] | None = None,
    **inputs: Any,
) -> Iterator[StageRun]:
    """Run one stage's body under the lifecycle described in the module docstring.

    `publishes`: the body fills `run.staging`, published as artifacts/<name>. `locks` (default:
    as `publishes`) holds the artifacts lock, e.g. for `netsec run`, whose stages publish.
    `fingerprint`: the stage's own inputs (`runner.fingerprint`); `fingerprint.json` is then
    published with `run.record`, which the body sets."""
    artifacts = config.artifacts_dir
    locked = publishes if locks is None else locks
    lock = pipeline_lock(artifacts, wait=options.lock_wait) if locked else contextlib.nullcontext()
    with lock:
        with stage_log(name, **inputs) as summary:
            root = _open_root(config, name, options, publishes=publishes)
            run = StageRun(name, new_staging_dir(artifacts, name) if publishes else None, summary)
            try:
                yield run
                if run.staging is not None:
                    if fingerprint is not None:
                        write_fingerprint(config, name, fingerprint, run.staging, run.record)
                    run.published = publish(run.staging, artifacts, name)
                    if locked:
                        remove_stale_staging(artifacts, name)
            finally:
                if run.staging is not None:
                    shutil.rmtree(run.staging, ignore_errors=True)
        if run.published is not None and root is not None:
            from netsec_cli.runner.remote_root import push_published

            push_published(config, root, name, options.progress)
        elif run.published is not None and (options.sync or config.aws.sync_after_stage):
            from netsec_cli.runner.mirror import push_stage

            push_stage(config, name, options.progress)


def _open_root(config: Config, name: str, options: RunOptions, *, publishes: bool) -> Mirror | None:
    """With an `s3://` artifacts root, for a stage that publishes or reads: connect, pull what it reads."""
    if config.artifacts_remote is None:
        return None
    from netsec_cli.runner.remote_root import pull_for

    if not publishes and name not in READS:
        return None
    return pull_for(config, name, options.progress, options.lock_wait)
