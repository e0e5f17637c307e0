"""``sync``, as both faces run it: the setup of a folder, its status and preview, and a run.

The CLI's ``sync`` and the web UI's Sync screen call these and only format what they return.
:func:`sync_digest` is what a preview promises: a face that showed a preview passes a
``confirm`` that refuses to write when the run's own plan no longer has the same digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.sync.engine import SyncOptions, SyncReport, open_context, run_sync
from codex_migrate.sync.pull import MachinePull
from codex_migrate.sync.status import machine_overview, preview

__all__ = [
    "MachinePull",
    "SyncOptions",
    "SyncReport",
    "SyncSetup",
    "run_sync",
    "sync_digest",
    "sync_machines",
    "sync_preview",
    "sync_setup",
]


@dataclass
class SyncSetup:
    """How this home stands in a shared folder before anything is planned (cheap to read)."""

    folder: Path
    machine: str
    #: this machine's path per root name (given, recorded in the config or in its manifest)
    roots: dict[str, str]
    #: every root name known in the folder -> machine -> path (this machine's included)
    all_roots: dict[str, dict[str, str]] = field(default_factory=dict)
    machines: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sync_setup(opts: SyncOptions) -> SyncSetup:
    """This home's machine name and roots in ``opts.folder``, and the machines there.

    Raises the same clear errors as a run (folder missing, overlapping the home, a machine
    name taken, a root that is not an absolute path); writes nothing."""
    ctx = open_context(opts)
    table: dict[str, dict[str, str]] = {}
    for other, roots in ctx.their_roots.items():
        for name, path in roots.items():
            table.setdefault(name, {})[other] = path
    for name, path in ctx.my_roots.items():
        table.setdefault(name, {})[ctx.machine] = path
    return SyncSetup(
        ctx.folder,
        ctx.machine,
        dict(ctx.my_roots),
        dict(sorted(table.items())),
        machine_overview(ctx.folder),
        list(ctx.warnings),
    )


def sync_preview(opts: SyncOptions, progress: Any = None) -> SyncReport:
    """``sync --dry-run``: what would go out and come in; writes nothing."""
    return preview(opts, progress)


def sync_machines(folder: Path) -> list[dict[str, Any]]:
    """``sync --status``'s per-machine part: last push, threads published, conflicts."""
    return machine_overview(folder)


def sync_digest(report: SyncReport) -> str:
    """A fingerprint of what a run would do: the same for a preview and for the plan a run
    makes just before writing, unless the home or the folder changed in between."""
    data = {
        "machine": report.machine,
        "roots": report.roots,
        "push": [i.to_dict() for i in report.push.items],
        "side": sorted(report.push.side),
        "bind": [b.to_dict() for b in report.binds],
        "pulls": [
            {
                "machine": p.machine,
                "error": p.error,
                "summary": p.summary,
                "threads": [
                    (i.id, i.action, i.new_cwd, i.target_rel, i.thread.size, i.archived)
                    for i in (p.plan.items if p.plan else [])
                ],
                "conflicts": sorted(str(c["thread"]) for c in p.conflicts),
                "history_only": p.history_only,
            }
            for p in report.pulls
        ],
    }
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:32]
