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


def test_many_rows_a_few_hundred_to_a_statement_as_one_by_one(tmp_path: Path) -> None:
    """Rows in statements of many rows each (the columns NULL in all of a run left out) are
    the rows, rowids and trigger effects of one INSERT OR REPLACE a row naming every column,
    also where the schema allows few parameters to a statement."""
    import random
    import sqlite3

    schema = (
        "CREATE TABLE threads (id TEXT PRIMARY KEY, cwd TEXT NOT NULL, git TEXT, n INTEGER,"
        " at_ms INTEGER, name TEXT DEFAULT 'd');"
        "CREATE INDEX i_cwd ON threads(cwd, at_ms);"
        "CREATE TRIGGER t AFTER INSERT ON threads WHEN NEW.at_ms IS NULL"
        " BEGIN UPDATE threads SET at_ms = NEW.n * 1000 WHERE id = NEW.id; END;"
    )
    rng = random.Random(13)
    rows = []
    for k in range(700):
        rows.append(
            {
                "id": f"t{rng.randrange(650):04d}",  # some ids twice: replaced in order
                "cwd": rng.choice(["/a", "/b", "/ü"]),
                "git": rng.choice([None, "abc"]) if k > 300 else None,  # NULL in a whole run
                "n": rng.choice([None, k]),
                "at_ms": rng.choice([None, k * 7]),
                "name": rng.choice([None, "x"]) if 100 < k < 400 else None,
            }
        )
    dumps = []
    for limit in (None, 20):
        conn = statedb.connect(tmp_path / f"{limit}.sqlite")
        conn.executescript(schema)
        if limit:
            conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
        upsert_rows(conn, iter(rows), columns(conn, "threads"))
        dumps.append(conn.execute("SELECT rowid, * FROM threads ORDER BY rowid").fetchall())
    conn = statedb.connect(tmp_path / "one.sqlite")
    conn.executescript(schema)
    for row in rows:
        names = [k for k in row if not (k == "name" and row[k] is None)]
        conn.execute(
            f"INSERT OR REPLACE INTO threads ({', '.join(names)})"
            f" VALUES ({', '.join('?' for _ in names)})",
            [row[k] for k in names],
        )
    one = conn.execute("SELECT rowid, * FROM threads ORDER BY rowid").fetchall()
    assert len(one) > 400
    assert dumps == [one, one]


def test_an_imported_rows_times_are_its_installed_files_mtime(tmp_path: Path) -> None:
    """The row's times come from the staged file's time as the file system keeps it (read
    back by the staging worker, not by a ``stat`` of the installed file): the same values for
    sub-second, half-millisecond, pre-1970 and far-future modification times (ext4 keeps
    the year 3000 as 2446: the row has the time the file has)."""
    import os
    import shutil
    import sqlite3

    from click.testing import CliRunner

    from codex_migrate.cli import cli
    from tests.homes import tid, write_rollout

    src = tmp_path / "src"
    times = [1772600000.5, 1709164800.9995, -86400.25, 32503680000.123457, 0.0004, 951868799.0]
    for n, mtime in enumerate(times, 1):
        os.utime(write_rollout(src, n, archived=n == 3), (mtime, mtime))
    target = tmp_path / "target"
    home = Path(__file__).parent / "fixtures" / "codex-0.169.0" / "home"
    shutil.copytree(home, target, ignore=shutil.ignore_patterns("migration_transactions"))
    args = ["import", str(src), "--codex-home", str(target), "--history-only", "/Users/alex"]
    result = CliRunner().invoke(cli, [*args, "--yes", "--no-codex", "--json"])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(target / "state_5.sqlite")
    for n in range(1, len(times) + 1):
        path, *got = conn.execute(
            "SELECT rollout_path, updated_at, updated_at_ms, recency_at, recency_at_ms"
            " FROM threads WHERE id = ?",
            (tid(n),),
        ).fetchone()
        mtime = os.stat(path).st_mtime  # (a file system may clamp a far-future time)
        assert got == [int(mtime), int(mtime * 1000), int(mtime), int(mtime * 1000)]
    conn.close()
