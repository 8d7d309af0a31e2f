"""What differs between the local folders and the remote copy: the push plan and the pull plan.

Layout: a local folder (an `aws.sync_folders` entry, e.g. `artifacts`) maps to
`<prefix>/<folder key>/`; files keep their relative paths. Hidden files and folders (the
pipeline lock, staging folders, temporary files) are never mirrored.

A stage folder is a top-level folder with a `manifest.json`. A pull plans it from its remote
manifest (`netsec_cli.artifacts.Manifest`): exactly the files that manifest lists, reusing the
local copies whose sha256 already matches. A pull of named `stages` only (what a stage reads from
an `s3://` artifacts root) lists just those stage folders and fetches no loose file; its `delete`
removes only the local ones among them that are not published remotely.

Nothing from the bucket is trusted to name a local path. A pull plan first reads every remote
listing and stage manifest and checks each key and each manifest path (`netsec_cli.cloud.paths`:
a plain relative path that stays inside its local folder, through no symlink); one offending
object refuses the whole pull (exit 2) before anything local is looked at or changed. A push
never follows a symlink (`index.walk_files`): each one met is logged and counted as skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from netsec_cli.artifacts import MANIFEST, Manifest, published_dir
from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.index import local_files
from netsec_cli.cloud.objects import Action, FolderMap, LocalFile, RemoteObject, hidden
from netsec_cli.cloud.paths import UnsafePath, inside, printable, refusal, safe_relative
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
    skipped: int = 0  # symlinks and special files, never followed

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
        skipped: list[Path] = []
        local = {mirror.key(folder.key, rel): lf for rel, lf in local_files(folder.local, skipped=skipped).items()}
        for path in skipped:
            log.warning("skipped %s: not a regular file (symlinks are never followed)", printable(str(path)))
        plan.skipped += len(skipped)
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
                raise refuse_delete_all(f"{folder.local} is empty", f"s3://{mirror.bucket}/{mirror.base(folder.key)}")
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


@dataclass
class _Remote:
    """One folder's checked remote side: every object by relative path, its stages and loose files."""

    folder: FolderMap
    objects: dict[str, RemoteObject]
    stages: list[StagePull]
    loose: dict[str, Path]  # relative path → local target


def plan_pull(
    mirror: Mirror, folders: list[FolderMap], *, delete: bool, stages: Collection[str] | None = None
) -> PullPlan:
    """Decide what to fetch, keep and delete so that `folders` (or only their `stages`) equal the remote copy.

    Every remote path of every folder is checked before any local file is compared or changed.
    """
    mirror.load_index()
    remotes = [_check_remote(mirror, folder, stages) for folder in folders]
    plan = PullPlan()
    for remote in remotes:
        if stages is None:
            _plan_folder(mirror, plan, remote, delete=delete)
        else:
            _plan_stages(plan, remote, stages, delete=delete)
    return plan


def _listing(mirror: Mirror, folder: FolderMap, stages: Collection[str] | None) -> dict[str, RemoteObject]:
    """Every object under `folder`, or under its `stages` folders only."""
    if stages is None:
        return mirror.list(folder.key)
    return {key: obj for name in sorted(stages) for key, obj in mirror.list(f"{folder.key}/{name}").items()}


def _check_remote(mirror: Mirror, folder: FolderMap, stages: Collection[str] | None = None) -> _Remote:
    """List `folder`'s objects and read its stage manifests, refusing any key or path that could leave it."""
    base = mirror.base(folder.key)
    objects: dict[str, RemoteObject] = {}
    for key, obj in _listing(mirror, folder, stages).items():
        rel = key[len(base) :]
        marker = obj.size == 0 and (rel == "" or rel.endswith("/"))  # an empty "folder" object (S3 consoles)
        rel = rel[:-1] if marker and rel else rel
        if marker and not rel:
            continue
        try:
            safe_relative(rel, allow_hidden=True)
        except UnsafePath as exc:
            raise refusal(f"s3://{mirror.bucket}/{key}", f"its path {exc.reason}", folder.key) from None
        if not marker and not hidden(rel):
            objects[rel] = obj
    names = _stage_names(objects)
    loose = {
        rel: _inside(mirror, folder, rel, obj)
        for rel, obj in objects.items()
        if stages is None and rel.split("/")[0] not in names
    }
    mirror.fill_shas([*(objects[rel] for rel in loose), *(objects[f"{name}/{MANIFEST}"] for name in names)])
    return _Remote(folder, objects, [_remote_stage(mirror, folder, name, objects) for name in sorted(names)], loose)


def _inside(mirror: Mirror, folder: FolderMap, rel: str, obj: RemoteObject) -> Path:
    """The local path `obj` lands on, refusing the pull when it would go through a symlink."""
    try:
        return inside(folder.local, PurePosixPath(rel))
    except UnsafePath as exc:
        raise refusal(f"s3://{mirror.bucket}/{obj.key}", f"its path {exc.reason}", folder.key) from None


def _remote_stage(mirror: Mirror, folder: FolderMap, name: str, objects: dict[str, RemoteObject]) -> StagePull:
    """One stage from its remote manifest, every path it lists checked (`local_same` still empty)."""
    manifest_obj = objects[f"{name}/{MANIFEST}"]
    origin = f"s3://{mirror.bucket}/{manifest_obj.key}"
    body = mirror.get_manifest(manifest_obj)
    corrupt = InputError(
        f"remote manifest {printable(origin)} is corrupt",
        hint="re-run the stage and push again from the machine that has it",
    )
    try:
        manifest = Manifest.parse(body, origin)
    except (InputError, RecursionError):
        raise corrupt from None
    paths = [entry.path for entry in manifest.files]
    for path in paths:
        try:
            safe_relative(path)
        except UnsafePath as exc:
            raise refusal(origin, f"its entry '{printable(path)}' {exc.reason}", folder.key) from None
    folders = {str(parent) for path in paths for parent in PurePosixPath(path).parents}
    if MANIFEST in paths or len(set(paths)) < len(paths) or folders & set(paths):
        raise corrupt  # lists itself, a path twice, or a path both as a file and as a folder
    files: dict[str, RemoteObject] = {}
    for path in paths:
        obj = objects.get(f"{name}/{path}")
        if obj is None:
            raise InputError(
                f"remote stage {name} is incomplete: {printable(manifest_obj.key[: -len(MANIFEST)] + path)}"
                " is listed in its manifest but missing",
                hint="re-run `netsec sync-s3` on the machine that produced it",
            )
        files[path] = obj
        _inside(mirror, folder, f"{name}/{path}", obj)
    return StagePull(folder, name, manifest_obj, body, manifest, files)


def _plan_folder(mirror: Mirror, plan: PullPlan, remote: _Remote, *, delete: bool) -> None:
    """Compare one checked folder with the local copy: stages to rebuild, files to fetch, extras to delete."""
    folder = remote.folder
    _plan_remote_stages(plan, remote)
    local = local_files(folder.local)
    for rel, target in sorted(remote.loose.items()):
        obj = remote.objects[rel]
        have = local.get(rel)
        if have is not None and obj.sha256 is not None and have.sha256 == obj.sha256:
            plan.unchanged += 1
        else:
            plan.files.append((obj, target))
    if delete:
        if local and not remote.objects:
            base = mirror.base(folder.key)
            raise refuse_delete_all(f"s3://{mirror.bucket}/{base} is empty", str(folder.local))
        _plan_local_deletes(plan, folder, local, set(remote.loose), _stage_names(remote.objects))


def _plan_stages(plan: PullPlan, remote: _Remote, stages: Collection[str], *, delete: bool) -> None:
    """The remote `stages` to rebuild; with `delete`, the local ones among them published nowhere remotely."""
    _plan_remote_stages(plan, remote)
    if delete:
        published = {stage.name for stage in remote.stages}
        local = remote.folder.local
        plan.delete_dirs += [
            local / name for name in sorted(set(stages) - published) if published_dir(local, name).is_dir()
        ]


def _plan_remote_stages(plan: PullPlan, remote: _Remote) -> None:
    """Each remote stage whose local copy differs is rebuilt; the others count as unchanged."""
    folder = remote.folder
    for stage in remote.stages:
        expected = stage.expected
        local = local_files(published_dir(folder.local, stage.name))
        stage.local_same = {rel: lf.path for rel, lf in local.items() if expected.get(rel) == lf.sha256}
        body_sha = hashlib.sha256(stage.manifest_bytes).hexdigest()
        same_manifest = MANIFEST in local and local[MANIFEST].sha256 == body_sha
        if same_manifest and set(local) == {*expected, MANIFEST} and len(stage.local_same) == len(expected):
            plan.unchanged += sum(1 for rel in remote.objects if rel.startswith(stage.name + "/"))
        else:
            plan.stages.append(stage)


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
