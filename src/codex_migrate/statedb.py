"""Codex's SQLite state DB as an adapter: the schema is inspected at run time.

A read must never change the source home, not even its ``-shm`` file, and must include what
is still in the ``-wal`` file. So we read a private copy of the DB and its WAL, taken while
neither changes; SQLite replays the WAL into the copy when it opens it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_migrate.errors import CodexMigrateError

#: Columns without which a ``threads`` table cannot be used at all.
REQUIRED_THREAD_COLUMNS = ("id", "rollout_path")


#: The SQLite types other modules name (so that this module is the only one importing sqlite3),
#: as sqlite3 names them: loaded on first use (see :func:`__getattr__`).
_SQLITE_NAMES = {"Connection": "Connection", "Cursor": "Cursor", "Row": "Row"}
_SQLITE_NAMES |= {"DBError": "Error", "DatabaseError": "DatabaseError"}
_SQLITE_NAMES |= {"OperationalError": "OperationalError"}
if TYPE_CHECKING:
    import sqlite3

    Connection = sqlite3.Connection
    Cursor = sqlite3.Cursor
    Row = sqlite3.Row
    DBError = sqlite3.Error
    DatabaseError = sqlite3.DatabaseError
    OperationalError = sqlite3.OperationalError


def __getattr__(name: str) -> Any:
    """sqlite3's types, its module loaded when first named: a scan of a home without a state
    DB never loads it (~1 % of that scan's instructions)."""
    attr = _SQLITE_NAMES.get(name)
    if attr is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import sqlite3

    value = globals()[name] = getattr(sqlite3, attr)
    return value


def connect(db: Path | str, **kwargs: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` for the modules that need a connection of their own (the home lock
    held, or a private copy): the one door to SQLite, so its use is visible in one place."""
    import sqlite3

    return sqlite3.connect(db, **kwargs)


class StateDBError(CodexMigrateError):
    """The state DB could not be read; rollouts can still be."""

    code = "db-unreadable"


@dataclass
class ThreadRows:
    """What the DB says about threads, keyed by lower-case thread id."""

    columns: list[str] = field(default_factory=list)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    backfill_status: str | None = None
    tables: list[str] = field(default_factory=list)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


@contextlib.contextmanager
def private_copy(db: Path, attempts: int = 5) -> Iterator[Path]:
    """A consistent copy of ``db`` (+ ``-wal``, + ``-journal``) in a temp folder, removed
    afterwards. The rollback journal goes too: a DB not in WAL mode whose writer was killed
    mid-transaction holds half-written pages until SQLite rolls that journal back, which it
    does in the copy as it would in the home (without it, the copy reads a torn DB)."""
    import shutil  # here, like tempfile: a home without a state DB does not load them
    import tempfile

    sidecars = [db.with_name(db.name + suffix) for suffix in ("-wal", "-journal")]
    with tempfile.TemporaryDirectory(prefix="codex-migrate-db-") as tmp:
        target = Path(tmp) / db.name
        for _ in range(attempts):
            before = [_signature(p) for p in (db, *sidecars)]
            shutil.copyfile(db, target)
            for side, sig in zip(sidecars, before[1:], strict=True):
                copy = Path(tmp) / side.name
                copy.unlink(missing_ok=True)  # a try before may have copied one since gone
                if sig is not None:
                    with contextlib.suppress(FileNotFoundError):  # gone: the check repeats
                        shutil.copyfile(side, copy)
            if [_signature(p) for p in (db, *sidecars)] == before:
                break
        else:
            raise StateDBError(
                f"{db} kept changing while it was read.",
                hint="Close Codex and try again.",
                code="db-changing",
                params={"db": str(db)},
            )
        yield target


@contextlib.contextmanager
def connect_readonly(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the DB: reads see the WAL, the source is untouched."""
    import sqlite3

    try:
        with private_copy(db) as copy:
            conn = sqlite3.connect(copy, timeout=1.0)
            try:
                conn.row_factory = sqlite3.Row
                yield conn
            finally:
                conn.close()
    except OSError as exc:
        raise StateDBError(
            f"cannot read {db}: {exc.strerror or exc}", params={"db": str(db)}
        ) from exc


@contextlib.contextmanager
def write_transaction(db: Path, timeout: float = 5.0) -> Iterator[sqlite3.Connection]:
    """One SQLite write transaction (``BEGIN IMMEDIATE``) on a DB we hold the home lock for:
    committed when the block ends, rolled back on any error, the connection always closed."""
    import sqlite3

    conn = sqlite3.connect(db, timeout=timeout, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            # SQLite may have rolled it back itself (SQLITE_FULL): a ROLLBACK would then fail
            # and hide the error the caller must see (the disk is full)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def is_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL): for a DB what ENOSPC is for a file."""
    import sqlite3

    return isinstance(exc, sqlite3.Error) and exc.sqlite_errorcode == sqlite3.SQLITE_FULL


def variable_limit(conn: sqlite3.Connection) -> int:
    """How many ``?`` parameters one statement may hold on this connection."""
    import sqlite3

    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def read_thread_rows(db: Path) -> ThreadRows:
    """Every ``threads`` row as a dict of the columns this schema has."""
    import sqlite3

    out = ThreadRows()
    try:
        with connect_readonly(db) as conn:
            out.tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            if "threads" not in out.tables:
                raise StateDBError(
                    f"{db} has no threads table: a schema this version does not know.",
                    hint="Rollouts were still read; the DB was left as it is.",
                    code="db-schema-unknown",
                    params={"db": str(db)},
                )
            out.columns = table_columns(conn, "threads")
            missing = [c for c in REQUIRED_THREAD_COLUMNS if c not in out.columns]
            if missing:
                raise StateDBError(
                    f"{db}: the threads table lacks {', '.join(missing)}; "
                    "a schema this version does not know.",
                    code="db-schema-unknown",
                    params={"db": str(db)},
                )
            for row in conn.execute("SELECT * FROM threads"):
                record = dict(row)
                out.rows[str(record["id"]).lower()] = record
            if "backfill_state" in out.tables:
                cols = table_columns(conn, "backfill_state")
                if "status" in cols:
                    got = conn.execute("SELECT status FROM backfill_state LIMIT 1").fetchone()
                    out.backfill_status = got[0] if got else None
    except sqlite3.DatabaseError as exc:
        raise StateDBError(
            f"{db} cannot be read: {exc}.",
            hint="Rollouts were still read. Codex rebuilds a deleted state DB from them.",
            params={"db": str(db)},
        ) from exc
    return out


def is_inside(path: str, root: Path) -> bool:
    """Whether an absolute path string lies inside ``root`` (no filesystem access)."""
    if not os.path.isabs(path):
        return False
    # String comparison of normalised paths: the same answer as ``Path.relative_to`` at a
    # fraction of the cost (a catalog asks once per DB row).
    inner, outer = os.path.normpath(path), os.path.normpath(str(root))
    if os.name == "nt":
        inner, outer = os.path.normcase(inner), os.path.normcase(outer)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)
