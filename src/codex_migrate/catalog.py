"""The catalog: one record per thread (:mod:`catalog_thread`), as the real Codex would list
it, grouped into projects, with the DB rows that have no rollout and the files that could not
be read. Rows and rollouts are both kept; where they disagree is flagged (:mod:`rowcheck`), so
later stages (import, rebind, doctor) can explain and repair.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.catalog_thread import Thread, read_or_why, shown, str_or_none
from codex_migrate.home import CodexHome, RolloutRef
from codex_migrate.readahead import reading_ahead
from codex_migrate.rowcheck import check_row
from codex_migrate.session_names import read_session_index
from codex_migrate.statedb import StateDBError, ThreadRows, read_thread_rows

#: ``progress(stage, done, total)``; the engine reports, the face (CLI, UI) draws.
ProgressFn = Callable[[str, int, int], None]
#: ``read_all(home, refs)``: one thread (or why not) per ref, in order; see catalog_cache.
ReadAll = Callable[[CodexHome, list[RolloutRef]], Iterator["Thread | str"]]


@dataclass
class Project:
    """The threads Codex shows under one cwd."""

    cwd: str
    exists: bool
    thread_ids: list[str] = field(default_factory=list)
    archived: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cwd": self.cwd,
            "exists": self.exists,
            "thread_ids": list(self.thread_ids),
            "archived": self.archived,
        }


@dataclass
class OrphanRow:
    """A DB row whose rollout is not in this home: Codex hides it (measured)."""

    id: str
    rollout_path: str
    cwd: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rollout_path": self.rollout_path,
            "cwd": self.cwd,
            "reason": self.reason,
        }


@dataclass
class Catalog:
    """Every thread of a home with its DB row, grouped into projects (see :func:`build_catalog`)."""

    home: CodexHome
    threads: list[Thread] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    orphan_rows: list[OrphanRow] = field(default_factory=list)
    db: ThreadRows | None = None
    db_error: str | None = None
    unreadable: list[dict[str, str]] = field(default_factory=list)
    _by_id: tuple[int, dict[str, Thread]] | None = field(default=None, repr=False, compare=False)

    def thread(self, thread_id: str) -> Thread | None:
        """The thread with this id; an index by id, rebuilt when the list changed size
        (a plan asks once per thread: a scan of the list each time is quadratic)."""
        if self._by_id is None or self._by_id[0] != len(self.threads):
            # reversed: with a repeated id, the first one wins, as a scan of the list finds
            self._by_id = (len(self.threads), {t.id: t for t in reversed(self.threads)})
        return self._by_id[1].get(thread_id.lower())

    @property
    def problem_count(self) -> int:
        return (
            sum(1 for t in self.threads if t.problems)
            + len(self.orphan_rows)
            + len(self.unreadable)
            + (1 if self.db_error else 0)
        )

    def to_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """``lazy``: threads as an iterator of dicts, made one at a time as they are written
        (a listing of 30 000 threads then never holds them all as dicts)."""
        home = self.home
        threads = (t.to_dict() for t in self.threads)
        return {
            "home": str(home.root),
            "kind": home.kind,
            "state_db": str(home.state_db) if home.state_db else None,
            "state_db_version": home.state_version,
            "backfill_status": self.db.backfill_status if self.db else None,
            "db_error": self.db_error,
            "found": list(home.found),
            "missing": list(home.missing),
            "threads": threads if lazy else list(threads),
            "projects": [p.to_dict() for p in self.projects],
            "orphan_rows": [r.to_dict() for r in self.orphan_rows],
            "unreadable": list(self.unreadable),
        }


def cwd_exists(cwd: str) -> bool:
    try:
        return os.path.isdir(cwd)
    except (OSError, ValueError):
        return False


def _read_all(home: CodexHome, refs: list[RolloutRef]) -> Iterator[Thread | str]:
    """Heads are read in this one process: a process pool measured dearer (its results come
    back pickled: about what reading a head costs). The kernel reads the next files meanwhile."""
    root = sys.intern(str(home.root))
    return (read_or_why(home, ref, root) for ref in reading_ahead(refs))


def build_catalog(
    home: CodexHome, progress: ProgressFn | None = None, read_all: ReadAll | None = None
) -> Catalog:
    """Read every rollout head, the DB rows and the name index into one catalog;
    ``read_all``: another reader of the heads (the listing cache), default read them all."""
    catalog = Catalog(home=home)
    refs = list(home.rollouts())
    names = read_session_index(home.session_index)
    catalog.unreadable.extend(home.unusable)
    catalog.unreadable.extend(home.unreadable_dirs)
    if home.state_db is not None:
        try:
            catalog.db = read_thread_rows(home.state_db)
        except StateDBError as exc:
            catalog.db_error = exc.message
    rows = catalog.db.rows if catalog.db else {}
    seen: dict[str, Thread] = {}  # by id: then the catalog's index (a set of ids was 2 MB)
    total = len(refs)
    results = (read_all or _read_all)(home, refs)
    for done, (ref, result) in enumerate(zip(refs, results, strict=True), 1):
        if ref.thread_id in seen:
            catalog.unreadable.append(
                {"path": ref.text, "reason": "a second rollout with the same thread id"}
            )
            continue
        if isinstance(result, str):
            catalog.unreadable.append({"path": ref.text, "reason": result})
            continue
        thread = result
        seen[ref.thread_id] = thread
        thread.index_name = names.get(thread.id)
        thread.row = rows.get(thread.id)
        check_row(home, thread, catalog)
        catalog.threads.append(thread)
        if progress and (done % 200 == 0 or done == total):
            progress("scan", done, total)
    for tid, row in rows.items():
        if tid not in seen:
            catalog.orphan_rows.append(
                OrphanRow(
                    id=tid,
                    rollout_path=str(row.get("rollout_path") or ""),
                    cwd=str_or_none(row.get("cwd")),
                    reason="no rollout file for this row in this home: Codex hides it",
                )
            )
    catalog.threads.sort(key=lambda t: t.mtime, reverse=True)
    catalog._by_id = (len(catalog.threads), seen)  # see Catalog.thread
    catalog.projects = group_projects(catalog.threads)
    return catalog


def group_projects(threads: list[Thread]) -> list[Project]:
    """Threads grouped by the cwd Codex shows, most threads first."""
    by_cwd: dict[str, Project] = {}
    for t in threads:
        _, _, cwd, _, archived = shown(t)
        cwd = cwd or ""
        project = by_cwd.get(cwd)
        if project is None:
            project = by_cwd[cwd] = Project(cwd=cwd, exists=bool(cwd) and cwd_exists(cwd))
        project.thread_ids.append(t.id)
        project.archived += int(archived)
    return sorted(by_cwd.values(), key=lambda p: (-len(p.thread_ids), p.cwd))
