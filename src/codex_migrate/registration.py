"""After an import's write, with the home still open: let Codex register what came in.

Shared by ``import`` (through the service) and ``sync``'s pulls, so both leave a home Codex
lists the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.importer import ImportReport, restore_times
from codex_migrate.plan import ImportPlan
from codex_migrate.writing import HomeWriter

if TYPE_CHECKING:
    from codex_migrate.codexbin import FoundCodex


@dataclass
class Registration:
    """What Codex was asked to do after the write, and how it went (never raised)."""

    codex: str | None = None
    found_in: str | None = None
    #: paginated threads whose history Codex was asked to project, and those it did
    paginated: list[str] = field(default_factory=list)
    threads: int = 0
    failed: list[str] = field(default_factory=list)
    index_carried: int = 0
    names: int = 0
    #: time Codex took, apart from the import's own
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "codex": self.codex,
            "found_in": self.found_in,
            "threads": self.threads,
            "failed": self.failed,
            "index_carried": self.index_carried,
            "names": self.names,
            "seconds": round(self.seconds, 3),
        }


def register_import(
    writer: HomeWriter,
    plan: ImportPlan,
    report: ImportReport,
    found: FoundCodex | None,
    progress: ProgressFn | None = None,
) -> Registration:
    """After the write, with the home still open: let Codex project the paginated history
    the turn index did not come with (archived ones too), set names through Codex when the
    target has no state DB (Codex's rebuild does not read ``session_index.jsonl``), then put
    back the times that round trip changed (measured: it moves the rollout's mtime and so the
    row's ``updated_at``, though not a byte of the file)."""
    home = plan.target.home
    carried = set(report.index_carried)
    out = Registration(index_carried=len(carried))
    out.paginated = [
        i.id for i in plan.writes if i.thread.history_mode == "paginated" and i.id not in carried
    ]
    archived = frozenset(i.id for i in plan.writes if i.archived)
    names = (
        {i.id: i.thread.name for i in plan.items if i.thread.name and i.action != "keep"}
        if home.state_db is None
        else {}
    )
    if not report.transaction_id or not (out.paginated or names) or found is None:
        return out
    # loaded only when Codex is asked: an import with --no-codex never starts a process
    from codex_migrate.codex_app import CodexAppError, project_threads

    out.codex, out.found_in = str(found.path), found.where
    started = time.monotonic()
    tick = (lambda done, total: progress("register", done, total)) if progress else None
    try:
        out.failed = project_threads(
            found.path, home.root, out.paginated, archived, names=names, progress=tick
        )
    except (OSError, CodexAppError) as exc:
        out.failed = [str(exc)]
    out.seconds = time.monotonic() - started
    out.threads = len(out.paginated) - len(out.failed)
    out.names = len(names)
    # Every thread Codex opened (projected, named, unarchived and archived again) gets its
    # file and row times back, so the recent-first order is the source's.
    restore_times(writer, plan, sorted({*out.paginated, *names}))
    return out
