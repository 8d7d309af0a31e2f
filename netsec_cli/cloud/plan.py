"""What differs between the local folders and the remote copy: the push plan and the pull plan.

Layout: a local folder (an `aws.sync_folders` entry, e.g. `artifacts`) maps to
`<prefix>/<folder key>/`; files keep their relative paths. Hidden files and folders (the
pipeline lock, staging folders, temporary files) are never mirrored.

A stage folder is a top-level folder with a `manifest.json`. A pull plans it from its remote
manifest (`netsec_cli.artifacts.Manifest`): exactly the files that manifest lists, reusing the
local copies whose sha256 already matches.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from netsec_cli.artifacts import MANIFEST, Manifest, published_dir
from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.index import local_files
from netsec_cli.cloud.objects import Action, FolderMap, LocalFile, RemoteObject, hidden
from netsec_cli.errors import InputError

log = logging.getLogger(__name__)


def is_manifest_key(key: str) -> bool:
    """True for the key (or relative path) of a stage manifest."""
    return key.endswith("/" + MANIFEST)


@dataclass
class PushPlan:
    """Uploads (manifests last), remote keys to delete, and how many files are already there."""

    uploads: list[tuple[str, LocalFile]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged: int = 0

    def actions(self) -> list[Action]:
        """The plan as the actions a dry run lists."""
        actions = [Action("upload", key, str(lf.path), lf.size) for key, lf in self.uploads]
        return actions + [Action("delete-remote", key, "") for key in self.deletes]


def plan_push(mirror: Mirror, folders: list[FolderMap], *, delete: bool, remote_missing: bool = False) -> PushPlan:
    """What to upload and delete to mirror `folders` to S3 (`remote_missing`: against an empty bucket)."""
    plan = PushPlan()
    for folder in folders:
        if not folder.local.is_dir():
            log.warning("sync folder %s does not exist; skipped", folder.local)
            continue
        local = {mirror.key(folder.key, rel): lf for rel, lf in local_files(folder.local).items()}
        remote = {} if remote_missing else mirror.list(folder.key)
        mirror.fill_shas([remote[k] for k in local if k in remote])
        for key, lf in local.items():
            obj = remote.get(key)
            if obj is not None and obj.size == lf.size and obj.sha256 == lf.sha256:
                plan.unchanged += 1
            else:
                plan.uploads.append((key, lf))
        if delete:
            if remote and not local:
                raise refuse_delete_all(f"{folder.local} is empty", f"s3://{mirror.bucket}/{mirror.key(folder.key)}/")
            plan.deletes.extend(k for k in sorted(remote) if k not in local)
    # Manifests last: a remote manifest must never describe files that are not uploaded yet.
    plan.uploads.sort(key=lambda item: is_manifest_key(item[0]))
    return plan


@dataclass
class StagePull:
    """One remote stage folder to rebuild locally from its manifest."""

    folder: FolderMap
    name: str
    remote_manifest: RemoteObject
    manifest_bytes: bytes
    manifest: Manifest
    files: dict[str, RemoteObject]  # path inside the stage → object
    local_same: dict[str, Path] = field(default_factory=dict)  # unchanged local copies to reuse

    @property
    def expected(self) -> dict[str, str]:
        """Path inside the stage → sha256, from the manifest."""
        return {e.path: e.sha256 for e in self.manifest.files}


@dataclass
class PullPlan:
    """Stages to rebuild, loose files to fetch, local files and folders to delete."""

    stages: list[StagePull] = field(default_factory=list)
    files: list[tuple[RemoteObject, Path]] = field(default_factory=list)
    delete_files: list[Path] = field(default_factory=list)
    delete_dirs: list[Path] = field(default_factory=list)
    unchanged: int = 0

    def actions(self) -> list[Action]:
        """The plan as the actions a dry run lists."""
        actions = []
        for stage in self.stages:
            target = stage.folder.local / stage.name
            for rel, obj in sorted(stage.files.items()):
                if rel not in stage.local_same:
                    actions.append(Action("download", obj.key, str(target / rel), obj.size))
            actions.append(Action("replace-stage", stage.remote_manifest.key, str(target)))
        actions += [Action("download", obj.key, str(path), obj.size) for obj, path in self.files]
        actions += [Action("delete-local", "", str(path)) for path in [*self.delete_dirs, *self.delete_files]]
        return actions


def _stage_pull(mirror: Mirror, folder: FolderMap, name: str, objects: dict[str, RemoteObject]) -> StagePull | None:
    """Plan one stage from its remote manifest: None when the local copy already equals it."""
    prefix = mirror.key(folder.key, name) + "/"
    manifest_obj = objects[prefix + MANIFEST]
    body = mirror.get_bytes(manifest_obj)
    origin = f"s3://{mirror.bucket}/{manifest_obj.key}"
    try:
        manifest = Manifest.parse(body, origin)
    except InputError:
        raise InputError(
            f"remote manifest {origin} is corrupt",
            hint="re-run the stage and push again from the machine that has it",
        ) from None
    files = {}
    for entry in manifest.files:
        obj = objects.get(prefix + entry.path)
        if obj is None or hidden(entry.path) or entry.path == MANIFEST:
            raise InputError(
                f"remote stage {name} is incomplete: {prefix + entry.path} is listed in its manifest but missing",
                hint="re-run `netsec sync-s3` on the machine that produced it",
            )
        files[entry.path] = obj
    plan = StagePull(folder, name, manifest_obj, body, manifest, files)
    expected = plan.expected
    local = local_files(published_dir(folder.local, name))
    plan.local_same = {rel: lf.path for rel, lf in local.items() if expected.get(rel) == lf.sha256}
    same_manifest = MANIFEST in local and local[MANIFEST].sha256 == hashlib.sha256(body).hexdigest()
    if same_manifest and set(local) == {*expected, MANIFEST} and len(plan.local_same) == len(expected):
        return None
    return plan


def plan_pull(mirror: Mirror, folders: list[FolderMap], *, delete: bool) -> PullPlan:
    """Decide what to fetch, keep and delete so that `folders` equal the remote copy."""
    mirror.load_index()
    plan = PullPlan()
    for folder in folders:
        base = mirror.key(folder.key) + "/"
        remote = {k[len(base) :]: o for k, o in mirror.list(folder.key).items() if not hidden(k[len(base) :])}
        stages = _stage_names(remote)
        loose = {rel: o for rel, o in remote.items() if rel.split("/")[0] not in stages}
        mirror.fill_shas([*loose.values(), *(remote[f"{name}/{MANIFEST}"] for name in stages)])
        objects = {base + rel: o for rel, o in remote.items()}
        for name in sorted(stages):
            stage = _stage_pull(mirror, folder, name, objects)
            if stage is None:
                plan.unchanged += sum(1 for rel in remote if rel.startswith(name + "/"))
            else:
                plan.stages.append(stage)
        local = local_files(folder.local)
        for rel, obj in sorted(loose.items()):
            have = local.get(rel)
            if have is not None and obj.sha256 is not None and have.sha256 == obj.sha256:
                plan.unchanged += 1
            else:
                plan.files.append((obj, folder.local / rel))
        if delete:
            if local and not remote:
                raise refuse_delete_all(f"s3://{mirror.bucket}/{base} is empty", str(folder.local))
            _plan_local_deletes(plan, folder, local, set(loose), stages)
    return plan


def _stage_names(paths: Iterable[str]) -> set[str]:
    """The top-level folders among relative `paths` that hold a manifest."""
    return {rel.split("/")[0] for rel in paths if rel.count("/") == 1 and is_manifest_key(rel)}


def refuse_delete_all(empty: str, victim: str) -> InputError:
    """--delete against an empty side would wipe the other one: almost always a wrong prefix or path."""
    return InputError(
        f"{empty}: refusing --delete, which would remove every file under {victim}",
        hint="check aws.bucket_name, aws.prefix and aws.sync_folders; run without --delete",
    )


def _plan_local_deletes(
    plan: PullPlan, folder: FolderMap, local: dict[str, LocalFile], loose: set[str], stages: set[str]
) -> None:
    """Local stage folders the remote lacks go whole; other local files not on the remote go one by one."""
    local_stages = _stage_names(local)
    plan.delete_dirs += [folder.local / name for name in sorted(local_stages - stages)]
    for rel, lf in sorted(local.items()):
        top = rel.split("/")[0]
        if rel not in loose and top not in stages and top not in local_stages:
            plan.delete_files.append(lf.path)
