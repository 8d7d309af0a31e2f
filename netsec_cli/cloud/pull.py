"""Pull: fetch what changed, verify every file, swap stage folders in whole, optionally delete extras.

Downloads land under temporary names and are checked against their sha256 before anything
replaces a local file. A stage folder is rebuilt in a staging folder from the files its remote
manifest lists, verified against that manifest, and swapped in only after every stage has been
fetched, so an interrupted pull never mixes old and new model files.

Every target path was checked by the plan (`netsec_cli.cloud.paths`) before this module writes
anything: it stays inside its folder and goes through no symlink. A local file that is itself a
symlink is replaced by a rename, never written through.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from netsec_cli.artifacts import MANIFEST, new_staging_dir, sha256_file, swap_in
from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.index import walk_files
from netsec_cli.cloud.objects import FolderMap, Outcome, RemoteObject
from netsec_cli.cloud.paths import printable
from netsec_cli.cloud.plan import StagePull, plan_pull
from netsec_cli.errors import ServiceError
from netsec_cli.progress import NO_PROGRESS, Progress, TaskHandle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Fetch:
    """One download: lands at `temp`, must hash to `sha256`; loose files then replace `final`."""

    obj: RemoteObject
    temp: Path
    sha256: str | None
    final: Path | None = None


def pull(
    mirror: Mirror,
    folders: list[FolderMap],
    *,
    delete: bool,
    dry_run: bool,
    progress: Progress = NO_PROGRESS,
    stages: Collection[str] | None = None,
) -> Outcome:
    """Fetch changed files, verify every one, swap stage folders in whole, optionally delete extras.

    `stages`: only those stage folders (see `netsec_cli.cloud.plan`)."""
    plan = plan_pull(mirror, folders, delete=delete, stages=stages)
    outcome = Outcome(actions=plan.actions(), unchanged=plan.unchanged)
    outcome.bytes = sum(a.size for a in outcome.actions if a.action == "download")
    if dry_run:
        return outcome
    staged: list[tuple[StagePull, Path]] = []
    fetches: list[_Fetch] = []
    try:
        for stage in plan.stages:
            staging = new_staging_dir(stage.folder.local, stage.name)
            staged.append((stage, staging))
            fetches += _prepare_staging(stage, staging)
        for number, (obj, target) in enumerate(plan.files):
            temp = _mkdir(target.parent) / f".{target.name}.{os.getpid()}-{number}.part"
            fetches.append(_Fetch(obj, temp, obj.sha256, target))
        if fetches:
            with progress.task(
                f"pull {len(fetches)} files", total=sum(f.obj.size for f in fetches), unit="bytes"
            ) as task:
                _download_verified(mirror, fetches, task)
        for stage, staging in staged:
            _check_staging(mirror, stage, staging)
        for fetch in fetches:
            if fetch.final is not None:
                os.replace(fetch.temp, fetch.final)
        for stage, staging in staged:
            swap_in(staging, stage.folder.local, stage.name)
    finally:
        for _, staging in staged:
            shutil.rmtree(staging, ignore_errors=True)
        for fetch in fetches:
            if fetch.final is not None:
                fetch.temp.unlink(missing_ok=True)
    outcome.transferred = len(fetches) + len(plan.stages)  # each replaced stage's manifest too
    outcome.unchanged += sum(len(stage.local_same) for stage in plan.stages)
    for path in plan.delete_dirs:
        shutil.rmtree(path)
    for path in plan.delete_files:
        path.unlink(missing_ok=True)
    outcome.deleted = len(plan.delete_dirs) + len(plan.delete_files)
    return outcome


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prepare_staging(stage: StagePull, staging: Path) -> list[_Fetch]:
    """Copy unchanged local files and the manifest into `staging`; return the downloads it still needs."""
    for rel, source in stage.local_same.items():
        shutil.copy2(source, _mkdir((staging / rel).parent) / Path(rel).name)
    (staging / MANIFEST).write_bytes(stage.manifest_bytes)
    expected = stage.expected
    return [
        _Fetch(obj, _mkdir((staging / rel).parent) / Path(rel).name, expected[rel])
        for rel, obj in sorted(stage.files.items())
        if rel not in stage.local_same
    ]


def _download_verified(mirror: Mirror, fetches: list[_Fetch], task: TaskHandle) -> None:
    """Download every fetch in parallel, then check the size and sha256 of each."""
    with mirror.errors("download"), mirror.transfers() as manager:
        futures = [mirror.download(manager, f.obj, f.temp, task) for f in fetches]
        for future in futures:
            future.result()
    for fetch in fetches:
        if fetch.temp.stat().st_size != fetch.obj.size or (
            fetch.sha256 is not None and sha256_file(fetch.temp) != fetch.sha256
        ):
            raise ServiceError(
                f"downloaded {printable(f's3://{mirror.bucket}/{fetch.obj.key}')} does not match its expected sha256;"
                " nothing was replaced",
                hint="re-run the pull; if it persists, push again from the source machine",
            )
        if fetch.sha256 is None:
            url = printable(f"s3://{mirror.bucket}/{fetch.obj.key}")
            log.warning("%s has no sha256 metadata; checked its size only", url)


def _check_staging(mirror: Mirror, stage: StagePull, staging: Path) -> None:
    """The staged folder must hold exactly the manifest's files, each with its size and sha256."""
    present = {rel for rel, _ in walk_files(staging)}
    wanted = {*stage.expected, MANIFEST}
    bad = sorted(stage.manifest.verify(staging))
    if present != wanted or bad:
        raise ServiceError(
            f"pulled stage {stage.name} does not match {printable(f's3://{mirror.bucket}/{stage.remote_manifest.key}')}"
            f" ({printable(', '.join(bad or sorted(present ^ wanted)))}); nothing was replaced",
            hint="re-run the pull",
        )
