"""Push: upload new and changed files, confirm each one, optionally delete remote extras.

Change detection is by content (see `netsec_cli.cloud.index`), so an unchanged tree sends
nothing; symlinks are never followed (skipped, with a warning). Every `manifest.json` goes up
after all other files, so a remote manifest never describes files that are not there yet; an
interrupted push is finished by re-running it.
"""

from __future__ import annotations

from netsec_cli.cloud.bucket import Mirror
from netsec_cli.cloud.objects import FolderMap, Outcome
from netsec_cli.cloud.plan import is_manifest_key, plan_push
from netsec_cli.progress import NO_PROGRESS, Progress


def push(
    mirror: Mirror,
    folders: list[FolderMap],
    *,
    delete: bool,
    dry_run: bool,
    progress: Progress = NO_PROGRESS,
    remote_missing: bool = False,
) -> Outcome:
    """Upload new and changed files (manifests last), confirm each, optionally delete extras.

    `remote_missing` plans against an empty bucket (a dry run of `--create-bucket`).
    """
    if not remote_missing:
        mirror.load_index()
    plan = plan_push(mirror, folders, delete=delete, remote_missing=remote_missing)
    total = sum(lf.size for _, lf in plan.uploads)
    outcome = Outcome(actions=plan.actions(), unchanged=plan.unchanged, bytes=total, skipped=plan.skipped)
    if dry_run:
        return outcome
    if plan.uploads:
        data = [u for u in plan.uploads if not is_manifest_key(u[0])]
        manifests = [u for u in plan.uploads if is_manifest_key(u[0])]
        with progress.task(f"push {len(plan.uploads)} files", total=total, unit="bytes") as task:
            for batch in (data, manifests):
                if batch:
                    outcome.transferred += len(mirror.upload_all(batch, task))
    if plan.deletes:
        mirror.delete(plan.deletes)
        outcome.deleted = len(plan.deletes)
    mirror.save_index()
    return outcome
