"""A row an import replaced (an upsert over it) or deleted comes back from a rollback or a
recovery exactly as it was: the same rowid, the same values, the same types, in every table
of every DB the import touched (the real 0.169 schema: ``threads`` and the turn index of
``thread_history_1.sqlite``), on a DB whose rowids have gaps."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from tests.homes import tid, write_rollout
from tests.test_import import OLD, _source, run
from tests.test_recovery import _crash

FIXTURE = Path(__file__).parent / "fixtures" / "codex-0.169.0" / "home"
DBS = ("state_5.sqlite", "thread_history_1.sqlite")


def _dump(db: Path, scratch: Path) -> str:
    """Every table in rowid order: rowid, then each value as SQL text with its type."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / db.name
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
    conn = sqlite3.connect(copy)
    try:
        lines = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            picks = ", ".join(f'quote("{c}"), typeof("{c}")' for c in cols)
            lines.append(f"-- {table} ({', '.join(cols)})")
            for row in conn.execute(f'SELECT rowid, {picks} FROM "{table}" ORDER BY rowid'):
                lines.append(" | ".join(map(str, row)))
        return "\n".join(lines)
    finally:
        conn.close()


def _dumps(home: Path, scratch: Path) -> dict[str, str]:
    return {name: _dump(home / name, scratch) for name in DBS}


def _copy_row(conn: sqlite3.Connection, table: str, rowid: int, new_rowid: int, **values: object):
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,)).fetchone())
    conn.row_factory = None
    row.update(values)
    cols = ", ".join(["rowid", *row])
    marks = ", ".join("?" for _ in range(len(row) + 1))
    conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", [new_rowid, *row.values()])


def _target(tmp_path: Path) -> Path:
    """The real 0.169 home, with thread 1 of :func:`_source` in it as a shorter copy (the
    import replaces it), its row at rowid 10 of 1-6, 10, 30 (odd types in it), and its turn
    index at rowids with gaps."""
    target = tmp_path / "target"
    shutil.copytree(FIXTURE, target)
    scratch = tmp_path / "scratch"
    longer = write_rollout(scratch, 1, cwd="/new/app", turns=[("First question", "First answer")])
    mine = target / longer.relative_to(scratch)
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_bytes(b"".join(longer.read_bytes().splitlines(keepends=True)[:2]))
    conn = sqlite3.connect(target / "state_5.sqlite")
    _copy_row(conn, "threads", 1, 10, id=tid(1), rollout_path=str(mine), cwd="/new/app",
              git_sha=b"\x00\xff", tokens_used=2.5, title="42")  # fmt: skip
    _copy_row(conn, "threads", 2, 30, id=tid(77))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(target / "thread_history_1.sqlite")
    for table, new_rowids in (
        ("thread_turns", (40, 44)),
        ("thread_items", (50, 57)),
        ("thread_history_projection_state", (60,)),
    ):
        for n, new_rowid in enumerate(new_rowids):
            values = {"thread_id": tid(1)}
            if table == "thread_turns":
                values["turn_id"] = f"turn-{n}"
                values["rollout_ordinal"] = 1000 + n
            if table == "thread_items":
                values["item_id"] = f"item-{n}"
                values["rollout_ordinal"] = 1000 + n
            _copy_row(conn, table, 1, new_rowid, **values)
    conn.commit()
    conn.close()
    return target


def _import(src: Path, target: Path) -> dict:
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new",
                    "--yes", "--no-codex", "--json")  # fmt: skip
    assert code == 0, out
    return json.loads(out)


def _rowid_of(db: Path, thread_id: str) -> int | None:
    conn = sqlite3.connect(db)
    try:
        got = conn.execute("SELECT rowid FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return got[0] if got else None
    finally:
        conn.close()


def test_rollback_puts_replaced_rows_back_under_their_rowids(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target(tmp_path)
    before = _dumps(target, tmp_path / "d0")
    assert "10 | '019b" in before["state_5.sqlite"] and "X'00FF' | blob" in before["state_5.sqlite"]
    report = _import(src, target)
    assert _rowid_of(target / "state_5.sqlite", tid(1)) != 10  # the upsert gave it up
    imported = _dumps(target, tmp_path / "d1")
    for name in DBS:  # both changed: the row replaced, its turn index dropped
        assert imported[name] != before[name], name
    tx = report["report"]["transaction_id"]
    code, out = run("transactions", "rollback", tx, "--codex-home", str(target), "--yes")
    assert code == 0, out
    after = _dumps(target, tmp_path / "d2")
    for name in DBS:
        assert after[name] == before[name], name


def test_recovery_after_kill_puts_replaced_rows_back_under_their_rowids(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target(tmp_path)
    before = _dumps(target, tmp_path / "d0")
    _crash(src, target, "appended")  # every DB write done, not committed
    assert _rowid_of(target / "state_5.sqlite", tid(1)) != 10
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    after = _dumps(target, tmp_path / "d1")
    for name in DBS:
        assert after[name] == before[name], name


def test_a_rowid_taken_since_is_left_to_its_row_and_said(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target(tmp_path)
    db = target / "state_5.sqlite"
    tx = _import(src, target)["report"]["transaction_id"]
    conn = sqlite3.connect(db)
    _copy_row(conn, "threads", 3, 10, id=tid(88))  # Codex wrote a thread there since
    conn.commit()
    conn.close()
    taken = f"threads row {tid(1)} comes back under a new rowid (another row holds its rowid 10"
    code, dry = run("transactions", "rollback", tx, "--codex-home", str(target), "--dry-run")
    assert code == 0 and taken in dry, dry
    code, out = run("transactions", "rollback", tx, "--codex-home", str(target), "--yes")
    assert code == 0, out
    assert _rowid_of(db, tid(88)) == 10  # theirs kept where it is
    conn = sqlite3.connect(db)
    got = conn.execute(
        "SELECT typeof(git_sha), git_sha, typeof(tokens_used), tokens_used, title FROM threads"
        " WHERE id = ?",
        (tid(1),),
    ).fetchone()
    conn.close()
    assert got == ("blob", b"\x00\xff", "real", 2.5, "42")  # ours back, values and types
    assert _rowid_of(db, tid(1)) not in (None, 10)


def test_rebind_rolled_back_puts_its_rows_back_under_their_rowids(tmp_path: Path) -> None:
    """rebind upserts rows, drops one without a file and resets the backfill: the rollback
    brings each back where it was."""
    from tests.test_rebind import _home

    home, _ = _home(tmp_path)
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.execute("UPDATE threads SET rowid = 20 WHERE id = ?", (tid(1),))
    conn.execute("UPDATE threads SET rowid = 7 WHERE id = ?", (tid(8),))
    conn.commit()
    conn.close()
    before = _dump(home / "state_5.sqlite", tmp_path / "d0")
    code, out = run("rebind", "--codex-home", str(home), "--map",
                    f"/Users/alex/Projects={tmp_path}/new", "--yes", "--json")  # fmt: skip
    assert code == 0, out
    assert _rowid_of(home / "state_5.sqlite", tid(8)) is None  # dropped: no file
    tx = json.loads(out)["report"]["transaction_id"]
    code, out = run("transactions", "rollback", tx, "--codex-home", str(home), "--yes")
    assert code == 0, out
    assert _dump(home / "state_5.sqlite", tmp_path / "d1") == before
