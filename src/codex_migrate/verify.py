"""Checking that what we wrote is what we planned, and that a home's DB agrees with its files.

Used at the end of every transaction (a failed check rolls the transaction back) and by the
``verify`` command on any home.
"""

from __future__ import annotations

import os
import stat
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from codex_migrate import statedb
from codex_migrate.catalog import Catalog
from codex_migrate.fsutil import sha256_file
from codex_migrate.home import CodexHome
from codex_migrate.statedb import StateDBError, connect_readonly, is_inside
from codex_migrate.threadrow import db_text

if TYPE_CHECKING:
    from codex_migrate.doctor.rules import Rule


class _RowTarget(Protocol):
    @property
    def id(self) -> str: ...

    target_rel: str
    new_cwd: str | None


def integrity_problems(db: Path, *, private: bool = False) -> list[str]:
    """``PRAGMA integrity_check``; ``private`` reads a copy so the home stays untouched."""
    try:
        if private:
            with connect_readonly(db) as conn:
                result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        else:
            conn = statedb.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            finally:
                conn.close()
    except (statedb.DatabaseError, StateDBError) as exc:
        return [f"{db.name}: {exc}"]
    return [] if result == ["ok"] else [f"{db.name}: {r}" for r in result]


class Identities:
    """The inode and size of each file as staged and hashed, in the order the files are
    added (the order they go into the journal's ``written``): a rename keeps the inode, so the
    same inode and size is the same file, and it need not be read back. Packed: 24 bytes a
    file (its rel is the caller's string), where a dict of tuples took ~0.19 KB (30 000
    files: 5 MB at the import's peak)."""

    __slots__ = ("numbers", "rels")

    def __init__(self) -> None:
        self.rels: list[str] = []
        self.numbers = array("Q")  # inode, size of each file in turn

    def add(self, rel: str, inode: int, size: int) -> None:
        self.rels.append(rel)
        self.numbers.append(inode)
        self.numbers.append(size)

    def in_order(self) -> Callable[[str], tuple[int, int] | None]:
        """A look-up to call with each rel of ``written`` in turn: the identity of that rel
        when it is the next one added, else None (the file is then read back and hashed)."""
        at = 0

        def known(rel: str) -> tuple[int, int] | None:
            nonlocal at
            if at < len(self.rels) and self.rels[at] == rel:
                at += 1
                return self.numbers[2 * at - 2], self.numbers[2 * at - 1]
            return None

        return known


def verify_written(
    home: CodexHome,
    written: dict[str, str],
    rows: Iterable[_RowTarget],
    root: Path,
    identities: Identities | None = None,
    *,
    placed: _Background[_Found] | None = None,
) -> list[str]:
    """Files hash as planned; each row points at its file in this home with the mapped cwd.

    ``identities`` (inode, size of each file as staged and hashed) stand in for reading a
    file back (see :class:`Identities`).
    ``placed``: the check of the files under way already (see :func:`files_meanwhile`)."""
    items = list(rows)
    if home.state_db is None or not items:
        return _files_and_rows(home, written, items, root, identities, placed)
    # SQLite checks the whole DB without holding the GIL: on another core, meanwhile
    checked = _Background(integrity_problems, home.state_db)
    try:
        problems = _files_and_rows(home, written, items, root, identities, placed)
    except BaseException:
        checked.join()  # still waited for (the rollback next needs the DB), never raised over
        raise
    return problems + checked.result()


def files_meanwhile(
    written: dict[str, str], root: Path, identities: Identities | None = None
) -> _Background[_Found]:
    """The files' half of :func:`verify_written` started on a thread as soon as they are in
    place: an import flushes, journals and commits its rows meanwhile (mostly waiting for the
    disk). Nothing it checks may change meanwhile."""
    return _Background(_files, written, root, identities)


def verify_meanwhile(
    home: CodexHome,
    written: dict[str, str],
    rows: Iterable[_RowTarget],
    root: Path,
    placed: _Background[_Found],
) -> _Background[list[str]]:
    """:func:`verify_written` of the rows committed, the files' check ``placed`` (see
    :func:`files_meanwhile`) taken, on a thread: an import's last steps wait for the disk
    (journal saves, appends) meanwhile. Its :meth:`~_Background.result` waits for the
    problems; nothing it checks may change meanwhile."""
    return _Background(partial(verify_written, placed=placed), home, written, rows, root)


#: What the files' check found: its problems, and the written files not found in place (by
#: their rel; nearly always none: a set of those found would be 1 MB at 30 000 files): the
#: rows of the others need no second look.
_Found = tuple[list[str], set[str]]
_T = TypeVar("_T")


class _Background(threading.Thread, Generic[_T]):
    """``fn(*args)`` run on a thread; :meth:`result` waits for it and returns its value or
    raises its exception."""

    def __init__(self, fn: Callable[..., _T], *args: Any) -> None:
        super().__init__()
        self._run = lambda: fn(*args)
        self._value: _T | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._run()
        except BaseException as exc:  # raised again by result(), in the caller's thread
            self._error = exc

    def result(self) -> _T:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was


def _files_and_rows(
    home: CodexHome,
    written: dict[str, str],
    items: list[_RowTarget],
    root: Path,
    identities: Identities | None,
    placed: _Background[_Found] | None = None,
) -> list[str]:
    """:func:`verify_written` but the DB's integrity."""
    found = placed.result() if placed is not None else _files(written, root, identities)
    return _rows(home, items, root, written, found)


def _files(written: dict[str, str], root: Path, identities: Identities | None) -> _Found:
    """Each written file in place, as written (see :data:`_Found`)."""
    problems = []
    missing: set[str] = set()
    known_at = identities.in_order() if identities is not None else lambda rel: None
    for rel, digest in written.items():
        p = os.path.join(root, rel.replace("/", os.sep))
        known = known_at(rel)
        try:
            st = os.stat(p)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            problems.append(f"{rel} is missing after the move")
            missing.add(rel)
            continue
        if known is not None:
            if (st.st_ino, st.st_size) != known:
                problems.append(f"{rel} is not the file that was written and hashed")
        elif sha256_file(p) != digest:
            problems.append(f"{rel} does not read back with the planned content")
    return problems, missing


def _rows(
    home: CodexHome, items: list[_RowTarget], root: Path, written: dict[str, str], found: _Found
) -> list[str]:
    """The files' problems (``found``), then each row's: it points at its file in this home,
    with the mapped cwd."""
    problems, missing = list(found[0]), found[1]
    if home.state_db is not None and items:
        conn = statedb.connect(f"file:{home.state_db}?mode=ro", uri=True, timeout=5)
        try:
            for item, got in _row_facts(conn, items):
                if got is None:
                    problems.append(f"{item.id}: no DB row")
                    continue
                path, cwd = got
                rel = item.target_rel
                want = os.path.join(root, rel.replace("/", os.sep))
                # (path == want: path is in place when rel was found so)
                in_place = rel in written and rel not in missing
                if path != want or (not in_place and not os.path.isfile(path)):
                    problems.append(f"{item.id}: row points at {path}")
                if cwd != db_text(item.new_cwd or ""):  # as the row holds it
                    problems.append(f"{item.id}: row cwd {cwd!r}, expected {item.new_cwd!r}")
        finally:
            conn.close()
    return problems


def _row_facts(
    conn: statedb.Connection, items: list[_RowTarget]
) -> Iterator[tuple[_RowTarget, tuple[str, str] | None]]:
    """Each item with ``(rollout_path, cwd)`` of its row (None: no row), read a few hundred
    ids to a query; an id the batch did not find as written is asked alone, as ``id = ?``
    (whatever collation the schema gives the column)."""
    for n in range(0, len(items), 500):
        chunk = items[n : n + 500]
        marks = ", ".join("?" for _ in chunk)
        found = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                f"SELECT id, rollout_path, cwd FROM threads WHERE id IN ({marks})",
                [i.id for i in chunk],
            )
        }
        for item in chunk:
            got = found.get(item.id)
            if got is None:
                one = conn.execute(
                    "SELECT rollout_path, cwd FROM threads WHERE id = ?", (item.id,)
                ).fetchone()
                got = None if one is None else (one[0], one[1])
            yield item, got


@dataclass(frozen=True)
class Check:
    """One structured finding of :func:`verify_findings`: a doctor rule ``code`` (so every
    surface names and counts it the same way), the thread it is about, the message and its
    parameters. Faces format it; none parses the message."""

    code: str
    thread: str | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return f"{self.thread}: {self.message}" if self.thread else self.message

    @property
    def severity(self) -> str:
        return _rule(self.code).severity

    @property
    def fix(self) -> str:
        return _rule(self.code).fix

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "thread": self.thread,
            "severity": self.severity,
            "message": self.message,
            "params": self.params,
            "fix": self.fix,
        }


def _rule(code: str) -> Rule:
    """The doctor's rule ``code``: the doctor loaded when a finding is told, not by every
    import (whose own check at its end names no rule)."""
    from codex_migrate.doctor.rules import RULES

    return RULES[code]


def verify_findings(catalog: Catalog) -> list[Check]:
    """A home's rollouts against its DB, as structured findings (read-only)."""
    home = catalog.home
    out: list[Check] = []
    for t in catalog.threads:
        row = t.row
        if row is None:
            continue
        path = str(row.get("rollout_path") or "")
        if not os.path.isabs(path) or not is_inside(path, home.root):
            out.append(
                Check(
                    "row-path-outside-home",
                    t.id,
                    f"row rollout_path {path!r} is not inside this home",
                    {"rollout_path": path},
                )
            )
        elif os.path.normpath(path) != os.path.normpath(str(t.rollout_path)):
            out.append(
                Check(
                    "row-path-other-file",
                    t.id,
                    f"row points at {path}, the file is {t.rollout_path}",
                    {"rollout_path": path, "file": str(t.rollout_path)},
                )
            )
        if t.row_cwd and t.rollout_cwd and t.row_cwd != t.rollout_cwd:
            out.append(
                Check(
                    "cwd-mismatch",
                    t.id,
                    f"row cwd {t.row_cwd!r} but rollout {t.rollout_cwd!r}",
                    {"row_cwd": t.row_cwd, "rollout_cwd": t.rollout_cwd},
                )
            )
        if t.issues.total:
            out.append(
                Check(
                    "unreadable-lines",
                    t.id,
                    f"{t.issues.total} unreadable line(s)",
                    {"lines": t.issues.total},
                )
            )
    for orphan in catalog.orphan_rows:
        out.append(
            Check(
                "row-without-file",
                orphan.id,
                f"row without a rollout file ({orphan.rollout_path})",
                {"rollout_path": str(orphan.rollout_path)},
            )
        )
    if catalog.db_error:
        out.append(Check("db-unreadable", None, catalog.db_error))
    elif home.state_db is not None:
        out += [
            Check("db-integrity", None, p) for p in integrity_problems(home.state_db, private=True)
        ]
    return out


def verify_home(catalog: Catalog) -> dict[str, Any]:
    """What ``codex-migrate verify`` reports: the findings, and each as one line of text."""
    checks = verify_findings(catalog)
    return {
        "home": str(catalog.home.root),
        "threads": len(catalog.threads),
        "problems": [c.text for c in checks],
        "findings": [c.to_dict() for c in checks],
    }
