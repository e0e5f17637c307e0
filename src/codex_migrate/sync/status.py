"""``sync --status`` and ``--dry-run``: how each machine stands and what a run would do.

Reads only: the home, the shared folder, and private snapshots of the files it compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.manifest import ManifestError
from codex_migrate.sync.engine import SyncOptions, SyncReport, open_context, plan_all, scratch_dir
from codex_migrate.sync.layout import (
    machine_dir,
    other_machines,
    read_manifest,
    read_state,
    sync_info,
)


def preview(opts: SyncOptions, progress: ProgressFn | None = None) -> SyncReport:
    """What a sync would do, and how each machine stands; writes nothing."""
    ctx = open_context(opts)
    with scratch_dir() as scratch:
        return plan_all(ctx, scratch, progress)


def machine_overview(folder: Path) -> list[dict[str, Any]]:
    """Per machine: last push, threads published, and the conflicts it reported."""
    folder = folder.expanduser().absolute()
    out = []
    for name in other_machines(folder, ""):
        mdir = machine_dir(folder, name)
        entry: dict[str, Any] = {"machine": name, "last_push": None, "threads": 0}
        try:
            manifest = read_manifest(mdir)
        except ManifestError as exc:
            entry["error"] = exc.message
            manifest = None
        if manifest is not None:
            info = sync_info(manifest)
            entry["last_push"] = info.get("pushed_at") or manifest.created_at
            entry["hostname"] = info.get("hostname")
            entry["threads"] = sum(1 for f in manifest.files if f.role.endswith("rollout"))
        entry["conflicts"] = read_state(mdir).conflicts
        out.append(entry)
    return out
