"""One thread of the catalog: the record kept of it, what Codex shows of it, and how it is
read from its rollout's head.

Rollouts are the truth about what exists; a DB row, when there is one, is what Codex shows
(measured: the row's cwd, name and archived flag win: :func:`shown`). A thread keeps both, so
later stages (import, rebind, doctor) can explain and repair where they disagree.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_migrate import keptmeta
from codex_migrate.home import CodexHome, RolloutRef, check_inside
from codex_migrate.isotime import utc_iso
from codex_migrate.problem import Problem
from codex_migrate.rollout import LineIssues
from codex_migrate.rollout_head import read_head

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
        return shown(self)[0]

    @property
    def row_name(self) -> str | None:
        return shown(self)[1]

    @property
    def cwd(self) -> str | None:
        """What Codex shows: the row's cwd when a row exists, else the rollout's."""
        return shown(self)[2]

    @property
    def name(self) -> str | None:
        return shown(self)[3]

    @property
    def archived(self) -> bool:
        return shown(self)[4]

    @property
    def updated_at(self) -> str:
        return utc_iso(self.mtime)

    def to_dict(self) -> dict[str, Any]:
        row_cwd, _, cwd, name, archived = shown(self)  # one call (thousands of threads)
        return {
            "id": self.id,
            "cwd": cwd,
            "rollout_cwd": self.rollout_cwd,
            "row_cwd": row_cwd,
            "archived": archived,
            "name": name,
            "title": self.title,
            "rollout_path": self.rel_path,
            "era": self.era,
            "history_mode": self.history_mode,
            "compressed": self.compressed,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "source": self.source,
            "model_provider": self.model_provider,
            "cli_version": self.cli_version,
            "size": self.size,
            "has_db_row": self.row is not None,
            "bad_lines": self.line_issues.to_dict() if self.line_issues is not None else {},
            "problems": list(self.problems),
        }


def shown(thread: Thread) -> tuple[str | None, str | None, str | None, str | None, bool]:
    """What Codex shows of a thread, the one rule behind :class:`Thread`'s properties and
    every listing: (row_cwd, row_name, cwd, name, archived). The DB row's cwd, name and
    archived flag win where the row has them (measured), else the rollout's cwd, the name
    index's name, and whether the file lies among the archived sessions. One call for all
    five: a listing asks them of thousands of threads."""
    row = thread.row
    if not row:  # none, or one without a value (then it has no archived flag either)
        return None, None, thread.rollout_cwd, thread.index_name, thread.archived_on_disk
    row_cwd, row_name = str_or_none(row.get("cwd")), str_or_none(row.get("name"))
    archived = bool(row["archived"]) if "archived" in row else thread.archived_on_disk
    return (
        row_cwd,
        row_name,
        row_cwd or thread.rollout_cwd,
        row_name or thread.index_name,
        archived,
    )


def str_or_none(value: Any) -> str | None:
    """A value read from a row or a record, when it is text and not empty."""
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
    created = str_or_none(kept[0]) or head.first_timestamp
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
        str_or_none(kept[2]),  # model_provider
        str_or_none(kept[3]),  # cli_version
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


def read_or_why(home: CodexHome, ref: RolloutRef, root: str) -> Thread | str:
    """A thread, or the reason it could not be read (never raises for one file)."""
    try:
        return read_thread(home, ref, root)
    except OSError as exc:
        return exc.strerror or str(exc)
