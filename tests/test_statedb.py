"""statedb's one write transaction: what its caller sees when SQLite gave up under it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codex_migrate.statedb import write_transaction


def test_a_full_disk_that_sqlite_rolled_back_itself_is_the_error_raised(tmp_path: Path) -> None:
    """On SQLITE_FULL SQLite may roll the whole transaction back itself; the ROLLBACK after
    it then fails ("cannot rollback - no transaction is active") and hid the full disk (seen
    importing into a full file system). The block's own error is what the caller gets."""
    db = tmp_path / "state.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    conn.commit()
    conn.close()
    full = pytest.raises(sqlite3.OperationalError, match="database or disk is full")
    with full, write_transaction(db) as conn:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 10}")
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (randomblob(50000))")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.close()
