"""Writing many ``threads`` rows at once writes what writing them one by one always did:
only this schema's columns, a schema default where we know nothing, a neutral value for a
NOT NULL column we know nothing about, and rows in the order given."""

from __future__ import annotations

from pathlib import Path

from codex_migrate import statedb
from codex_migrate.threadrow import columns, upsert_rows


def test_rows_written_in_one_go_keep_defaults_fillers_and_order(tmp_path: Path) -> None:
    conn = statedb.connect(tmp_path / "t.sqlite")
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, cwd TEXT, mode TEXT NOT NULL DEFAULT 'x',"
        " n INTEGER NOT NULL, label TEXT NOT NULL, note TEXT DEFAULT 'kept')"
    )
    rows = [
        {"id": "a", "cwd": "/a", "mode": "m", "n": 1, "label": "A", "note": "n", "extra": 1},
        {"id": "b", "cwd": None, "mode": None, "n": None, "label": None, "note": None},
        {"id": "c", "cwd": "/c"},
        {"id": "a", "cwd": "/a2", "mode": "m2", "n": 2, "label": "A2", "note": None},
    ]
    upsert_rows(conn, iter(rows), columns(conn, "threads"))
    got = conn.execute("SELECT rowid, * FROM threads ORDER BY rowid").fetchall()
    assert got == [
        (2, "b", None, "x", 0, "", "kept"),
        (3, "c", "/c", "x", 0, "", "kept"),
        (4, "a", "/a2", "m2", 2, "A2", "kept"),  # replaced last, as in the order given
    ]
