"""The catalog: one record per thread, as the real Codex would list it, grouped into projects.

Rollouts are the truth about what exists; a DB row, when there is one, is what Codex shows
(measured: the row's cwd, name and archived flag win). We keep both and flag where they
disagree, so later stages (import, rebind, doctor) can explain and repair.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate import keptmeta
from codex_migrate.home import CodexHome, RolloutRef, check_inside
from codex_migrate.isotime import utc_iso
from codex_migrate.problem import Problem
from codex_migrate.readahead import reading_ahead
from codex_migrate.rollout import LineIssues
from codex_migrate.rollout_head import read_head
from codex_migrate.rowcheck import check_row
from codex_migrate.session_names import read_session_index
from codex_migrate.statedb import StateDBError, ThreadRows, read_thread_rows

#: ``progress(stage, done, total)``; the engine reports, the face (CLI, UI) draws.
ProgressFn = Callable[[str, int, int], None]
#: ``read_all(home, refs)``: one thread (or why not) per ref, in order; see catalog_cache.
ReadAll = Callable[[CodexHome, list[RolloutRef]], Iterator["Thread | str"]]

TITLE_MAX = 200
#: The session_meta keys a DB row takes values from; the rest (e.g. 20 KB of base
#: instructions, the id and cwd the record has already) is not kept for thousands of threads.
META_KEYS: tuple[str, ...] = ("timestamp", "source", "model_provider", "cli_version")
META_KEYS += ("originator", "thread_source", "git")
#: Values most threads of a home repeat (CLI version, provider, git branch and remote): kept
#: once, not once per thread (at 30 000 threads that is megabytes).
SHARED_KEYS = frozenset(META_KEYS) - {"timestamp", "git"}
SHARED_GIT_KEYS = frozenset({"branch", "repository_url"})
NO_ISSUES = LineIssues()  #: shared by threads without unreadable lines (read only)


def _shared(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) and len(value) < 4096 else value


@dataclass(slots=True)
class Thread:
    """One conversation, with the rollout's and (when present) the DB row's view of it.
    Small (30 000 of them in a long history): no Path, no empty records of its own."""

    id: str
    home_root: str  #: one string shared by all threads of the home; the file is root/rel
    rel_path: str
    archived_on_disk: bool
    compressed: bool
    size: int
    mtime: float
    era: str = "unknown"
    history_mode: str = "legacy"
    rollout_cwd: str | None = None
    title: str | None = None
    created_at: str | None = None
    source: str | None = None
    model_provider: str | None = None
    cli_version: str | None = None
    index_name: str | None = None
    row: dict[str, Any] | None = None
    kept_meta: tuple[Any, ...] | None = None  #: the values of META_KEYS: see :attr:`kept`
    line_issues: LineIssues | None = None  #: None: no unreadable line
    #: a tuple: nearly every thread has none and shares the one empty tuple (an empty list
    #: of its own is 56 bytes a thread); :meth:`add_problem` adds one
    problems: tuple[Problem, ...] = ()

    def add_problem(self, problem: Problem) -> None:
        self.problems = (*self.problems, problem)

    @property
    def rollout_path(self) -> Path:
        """The rollout file (made on demand: a path kept per thread costs ~0.5 KB)."""
        return Path(self.home_root, self.rel_path)

    @property
    def meta(self) -> dict[str, Any]:
        """The session_meta values of :data:`META_KEYS` this rollout has (not null)."""
        kept = self.kept or ()
        return {k: v for k, v in zip(META_KEYS, kept, strict=False) if v is not None}

    @property
    def kept(self) -> tuple[Any, ...] | None:
        """The values of :data:`META_KEYS` (None: absent), the timestamp first; ``kept_meta``
        holds them compactly (see :mod:`keptmeta`)."""
        kept = self.kept_meta
        return None if kept is None else keptmeta.full(kept, self.created_at, len(META_KEYS))

    @property
    def issues(self) -> LineIssues:  # read only
        return self.line_issues or NO_ISSUES

    @property
    def row_cwd(self) -> str | None:
        return _str_or_none(self.row.get("cwd")) if self.row else None

    @property
    def row_name(self) -> str | None:
        return _str_or_none(self.row.get("name")) if self.row else None

    @property
    def cwd(self) -> str | None:
        """What Codex shows: the row's cwd when a row exists, else the rollout's."""
        return self.row_cwd or self.rollout_cwd

    @property
    def name(self) -> str | None:
        return self.row_name or self.index_name

    @property
    def archived(self) -> bool:
        if self.row is not None and "archived" in self.row:
            return bool(self.row["archived"])
        return self.archived_on_disk

    @property
    def updated_at(self) -> str:
        return utc_iso(self.mtime)

    def to_dict(self) -> dict[str, Any]:
        row = self.row  # each property once, the row's without a call (thousands of threads)
        row_cwd = _str_or_none(row.get("cwd")) if row else None
        return {
            "id": self.id,
            "cwd": row_cwd or self.rollout_cwd,
            "rollout_cwd": self.rollout_cwd,
            "row_cwd": row_cwd,
            "archived": self.archived,
            "name": self.name,
            "title": self.title,
            "rollout_path": self.rel_path,
            "era": self.era,
            "history_mode": self.history_mode,
            "compressed": self.compressed,
            "created_at": self.created_at,
            "updated_at": utc_iso(self.mtime),
            "source": self.source,
            "model_provider": self.model_provider,
            "cli_version": self.cli_version,
            "size": self.size,
            "has_db_row": row is not None,
            "bad_lines": self.line_issues.to_dict() if self.line_issues is not None else {},
            "problems": list(self.problems),
        }


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


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _title_of(text: str | None) -> str | None:
    if not text:
        return None
    line = " ".join(text.split())
    return line[:TITLE_MAX]


def _rel(text: str, root: Path, root_text: str) -> str:
    """``Path(text).relative_to(root).as_posix()``, by their texts on POSIX."""
    prefix = root_text.rstrip("/") + "/"
    if os.sep == "/" and text.startswith(prefix):
        return text[len(prefix) :]
    return Path(text).relative_to(root).as_posix()


def read_thread(home: CodexHome, ref: RolloutRef, root: str | None = None) -> Thread:
    """Build one thread record from its rollout; bad lines are counted, not raised. ``root``:
    ``str(home.root)`` interned, when known (a catalog makes it once, not per thread)."""
    check_inside(home, text := ref.text, ref.link)
    root = root or sys.intern(str(home.root))
    head = read_head(text, ref.thread_id)
    meta, bad_lines = head.meta or {}, head.issues.total
    kept = []  # a tuple, not a dict: a third of the memory
    for k in META_KEYS:
        value = meta.get(k)
        if k in SHARED_KEYS and value.__class__ is str and len(value) < 4096:
            value = sys.intern(value)  # see SHARED_KEYS
        elif k == "git" and value.__class__ is dict:
            value = {g: _shared(v) if g in SHARED_GIT_KEYS else v for g, v in value.items()}
        kept.append(value)
    created = _str_or_none(kept[0]) or head.first_timestamp
    thread = Thread(  # positional, in the fields' order (tests pin it): keywords cost 2 µs
        ref.thread_id,  # id
        root,  # home_root
        _rel(text, home.root, root),  # rel_path
        ref.archived,  # archived_on_disk
        ref.compressed,
        head.size,
        head.mtime,
        head.era,
        head.history_mode,
        _shared(head.cwd),  # rollout_cwd
        _title_of(head.first_user_message),  # title
        created,  # created_at (META_KEYS' order)
        _source_of(kept[1]),  # source
        _str_or_none(kept[2]),  # model_provider
        _str_or_none(kept[3]),  # cli_version
        None,  # index_name
        None,  # row
        keptmeta.compact(tuple(kept), created) if kept.count(None) < len(kept) else None,
        head.issues if bad_lines else None,  # line_issues
        (),  # problems
    )
    add = thread.add_problem
    if head.empty:
        add(Problem("empty-file", "empty file"))
    elif head.meta is None:
        add(Problem("no-session-meta", "no session_meta record: Codex cannot list this file"))
    elif head.meta_id and head.meta_id != ref.thread_id and head.era != "bare":
        add(
            Problem(
                "meta-id-mismatch",
                f"session_meta id {head.meta_id} differs from the file name's id {ref.thread_id}",
            )
        )
    if head.era == "bare":
        add(
            Problem(
                "bare-era",
                "bare-era (2025) rollout: current Codex does not list it until converted "
                "(import does it; in place: rebind --upgrade-bare)",
            )
        )
    if head.first_user_message is None and not head.empty:
        add(Problem("no-user-message", "no user message near the head: Codex hides this thread"))
    if bad_lines:
        add(Problem("unreadable-lines", f"{bad_lines} unreadable line(s) near the head"))
    return thread


def _source_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value:
        # Newer builds write e.g. {"subagent": {...}}: keep the kind.
        return str(next(iter(value)))
    return None


def cwd_exists(cwd: str) -> bool:
    try:
        return os.path.isdir(cwd)
    except (OSError, ValueError):
        return False


def _read_one(home: CodexHome, ref: RolloutRef, root: str) -> Thread | str:
    """A thread, or the reason it could not be read (never raises for one file)."""
    try:
        return read_thread(home, ref, root)
    except OSError as exc:
        return exc.strerror or str(exc)


def _read_all(home: CodexHome, refs: list[RolloutRef]) -> Iterator[Thread | str]:
    """Heads are read in this one process: a process pool measured dearer (its results come
    back pickled: about what reading a head costs). The kernel reads the next files meanwhile."""
    root = sys.intern(str(home.root))
    return (_read_one(home, ref, root) for ref in reading_ahead(refs))


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
                    cwd=_str_or_none(row.get("cwd")),
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
        cwd = t.cwd or ""
        project = by_cwd.get(cwd)
        if project is None:
            project = by_cwd[cwd] = Project(cwd=cwd, exists=bool(cwd) and cwd_exists(cwd))
        project.thread_ids.append(t.id)
        project.archived += int(t.archived)
    return sorted(by_cwd.values(), key=lambda p: (-len(p.thread_ids), p.cwd))
