"""After an import's write, with the home still open: let Codex register what came in.

Shared by ``import`` (through the service) and ``sync``'s pulls, so both leave a home Codex
lists the same way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.home import open_target
from codex_migrate.importer import ImportReport, row_for
from codex_migrate.plan import ImportPlan
from codex_migrate.statedb import write_transaction
from codex_migrate.threadrow import columns
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


def restore_times(writer: HomeWriter, plan: ImportPlan, thread_ids: list[str]) -> None:
    """Put back the times a Codex round trip changed (unarchive/archive touches the file
    and its row): history keeps its own times, so the recent-first order stays true.
    Runs with the home open for writing (``writer``), in one SQLite transaction."""
    home = plan.target.home
    if writer.home.root != home.root:
        raise ValueError("restore_times needs the target home open for writing")
    items = {i.id: i for i in plan.items}
    rows: list[dict[str, Any]] = []
    for tid in thread_ids:
        item = items[tid]
        path = home.root / item.target_rel
        if not path.exists():
            continue
        mtime = item.thread.mtime
        os.utime(path, (mtime, mtime))
        rows.append(row_for(item, home.root, None))
    # Codex may have built the state DB just now (a target that had none): look again.
    state_db = home.state_db or open_target(home.root).state_db
    if state_db is None or not rows:
        return
    with write_transaction(state_db) as conn:
        cols = set(columns(conn, "threads"))
        keys = [k for k in TIME_COLUMNS if k in cols]
        if keys:
            sets = ", ".join(f"{k} = ?" for k in keys)
            for row in rows:
                conn.execute(
                    f"UPDATE threads SET {sets} WHERE id = ?", [row[k] for k in keys] + [row["id"]]
                )


#: The row times a Codex round trip rewrites and :func:`restore_times` puts back.
TIME_COLUMNS = ("updated_at", "updated_at_ms", "recency_at", "recency_at_ms", "archived_at")
