"""SQLite snapshots via the online backup API from a read-only connection (WAL included)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.statedb import StateDBError, private_copy

# -- SQLite snapshots ---------------------------------------------------------------------------


def _db_mtime_ns(db: Path) -> int:
    """The newest of the DB and its WAL: the snapshot holds what the WAL holds."""
    mtimes = [db.stat().st_mtime_ns]
    with contextlib.suppress(OSError):
        mtimes.append(Path(str(db) + "-wal").stat().st_mtime_ns)
    return max(mtimes)


def snapshot_sqlite(src: Path, dest: Path) -> dict[str, Any]:
    """A consistent single-file copy of a (possibly live) DB, through SQLite's backup API.

    * A ``-wal`` (or ``-journal``) beside the DB means a Codex may be writing, or content is
      still in the WAL: the source is opened read-only (``mode=ro``) and copied with the
      backup API, which reads the WAL and cannot tear. SQLite never writes the DB or the WAL
      then; it may refresh the ``-shm`` index, as every reader does.
    * No side file means the DB is at rest and the file alone is the whole DB: it is copied
      privately first (checked unchanged meanwhile) so that not even a ``-shm`` appears in
      the user's home; a change during the copy falls back to the read-only way.

    The copy is switched to rollback-journal mode, one self-contained file (Codex switches
    it back to WAL when it opens it).
    """
    at_rest = not any(Path(str(src) + s).exists() for s in ("-wal", "-journal"))
    if at_rest:
        try:
            with private_copy(src, attempts=2) as copy:
                if not Path(str(copy) + "-wal").exists():
                    info = _backup_from(str(copy), dest, uri=False)
                    return {"method": "sqlite-backup-api", "scope": "whole", **info}
        except StateDBError:
            pass  # it changed while copied: someone writes, so read it the live way
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
    method = "sqlite-backup-api"
    try:
        info = _backup_from(src.resolve().as_uri() + "?mode=ro", dest, uri=True)
    except statedb.OperationalError:
        # A read-only open can fail where the -shm cannot be created (read-only media).
        method = "sqlite-backup-api (from a private copy)"
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        with private_copy(src) as copy:
            info = _backup_from(str(copy), dest, uri=False)
    return {"method": method, "scope": "whole", **info}


def _backup_from(source: str, dest: Path, *, uri: bool) -> dict[str, Any]:
    src = statedb.connect(source, uri=uri, timeout=30.0)
    try:
        dst = statedb.connect(dest)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            tables = [
                r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            threads = None
            if "threads" in tables:
                threads = dst.execute("SELECT count(*) FROM threads").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    with open(dest, "rb+") as f:
        os.fsync(f.fileno())
    return {"threads": threads, "tables": len(tables)}
