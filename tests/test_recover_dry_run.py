"""``recover --dry-run`` and ``transactions delete --dry-run``: the same checks and the same
report as the real command, and not one byte of the home changed (its files, its DBs'
tables, our own journals and lock, even the folders' times)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.homes import tid, tree_state
from tests.test_import import OLD, _source, _target_with_db, run
from tests.test_recovery import _crash, _dump, _files, _hostile_journal, _touch_row


def _tables(home: Path, scratch: Path) -> dict[str, list[str]]:
    """Every table of every DB of ``home``, dumped from a copy (reading it there changes
    nothing in the home, not even a -shm file)."""
    scratch.mkdir(parents=True, exist_ok=True)
    out = {}
    for db in sorted(home.glob("*.sqlite")):
        copy = scratch / db.name
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
        out[db.name] = _dump(copy)
    return out


def _state(home: Path, scratch: Path) -> tuple[dict[str, tuple[str, int, int]], dict]:
    return tree_state(home), _tables(home, scratch)


@pytest.mark.parametrize("point", ["files", "db", "appended"])
def test_recover_dry_run_after_kill_changes_nothing_and_says_what_recover_does(
    tmp_path: Path, point: str
) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    files_before, dump_before = _files(target), _dump(target / "state_5.sqlite")
    _crash(src, target, point)
    if point != "files":  # a row changed after the crash: kept, and said so by both
        _touch_row(target / "state_5.sqlite", tid(1), "Codex used it since")
    before = _state(target, tmp_path / "d0")

    code, dry_text = run("recover", "--codex-home", str(target), "--dry-run")
    assert code == 0 and "Would roll back unfinished transaction" in dry_text, dry_text
    assert "Dry run: nothing was changed." in dry_text
    code, dry_json = run("recover", "--codex-home", str(target), "--dry-run", "--json")
    assert code == 0, dry_json
    assert _state(target, tmp_path / "d1") == before  # not a byte, not a time

    dry = json.loads(dry_json)
    assert dry["dry_run"] is True and len(dry["rolled_back"]) == 1 and dry["refused"] == []
    code, real_json = run("recover", "--codex-home", str(target), "--json")
    assert code == 0, real_json
    real = json.loads(real_json)
    assert real["dry_run"] is False
    # the dry run promised exactly what the recovery did and kept
    assert dry["transactions"] == real["transactions"]
    assert dry["transactions"][0]["undone"], dry
    if point != "files":
        left = f"state_5.sqlite: threads row {tid(1)} changed since; kept"
        assert left in dry["transactions"][0]["left"]
    else:
        assert _files(target) == files_before
        assert _dump(target / "state_5.sqlite") == dump_before
    # and once recovered there is nothing left to promise
    code, out = run("recover", "--codex-home", str(target), "--dry-run")
    assert code == 0 and "Nothing to recover." in out, out


def test_recover_dry_run_refuses_as_recover_does_without_marking_the_journal(
    tmp_path: Path,
) -> None:
    target = _target_with_db(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    tx = _hostile_journal(target, "../victim.txt", victim)
    before = _state(target, tmp_path / "d0")
    code, out = run("recover", "--codex-home", str(target), "--dry-run")
    assert code == 1 and f"Would refuse transaction {tx.name}" in out, out
    code, out = run("recover", "--codex-home", str(target), "--dry-run", "--json")
    assert code == 1 and json.loads(out)["refused"] == [tx.name]
    assert _state(target, tmp_path / "d1") == before
    assert json.loads((tx / "journal.json").read_text())["state"] == "applying"
    code, out = run("recover", "--codex-home", str(target))
    assert code == 1 and f"Refused transaction {tx.name}" in out, out
    assert victim.read_bytes() == b"precious\n"


def test_recover_dry_run_stops_where_recover_would_on_a_held_lock(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    _crash(src, target, "db")
    lock = target / "migration_transactions" / "lock"
    lock.write_text(json.dumps({"pid": os.getppid(), "since": 0}))  # a live other process
    before = _state(target, tmp_path / "d0")
    for extra in (["--dry-run"], []):
        code, out = run("recover", "--codex-home", str(target), *extra)
        assert code == 4 and "another codex-migrate command" in out, out
    assert _state(target, tmp_path / "d1") == before


def test_recover_dry_run_on_a_missing_home_makes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    code, _ = run("recover", "--codex-home", str(missing), "--dry-run")
    assert code == 3 and not missing.exists()


def test_transactions_delete_dry_run(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes", "--json"
    )
    assert code == 0, out
    tx = json.loads(out)["report"]["transaction_id"]
    before = _state(target, tmp_path / "d0")
    code, out = run("transactions", "delete", tx, "--codex-home", str(target), "--dry-run")
    assert code == 0 and f"Deleting {tx} would remove" in out and "Dry run" in out, out
    assert _state(target, tmp_path / "d1") == before
    code, out = run("transactions", "delete", "no-such", "--codex-home", str(target), "--dry-run")
    assert code == 1 and "no transaction no-such" in out
    code, out = run("transactions", "delete", tx, "--codex-home", str(target))
    assert code == 0 and not (target / "migration_transactions" / tx).exists()


def test_transactions_delete_dry_run_refuses_an_unfinished_one(tmp_path: Path) -> None:
    target = _target_with_db(tmp_path)
    _crash(_source(tmp_path), target, "db")
    (tx,) = [p.name for p in (target / "migration_transactions").iterdir() if p.is_dir()]
    before = _state(target, tmp_path / "d0")
    for extra in (["--dry-run"], []):
        code, out = run("transactions", "delete", tx, "--codex-home", str(target), *extra)
        assert code == 1 and "is unfinished" in out, out
    assert _state(target, tmp_path / "d1") == before
    conn = sqlite3.connect(tmp_path / "d1" / "state_5.sqlite")
    assert conn.execute("SELECT count(*) FROM threads").fetchone()[0] > 1  # still crashed
    conn.close()


def test_rollback_and_delete_say_it_in_json_too(tmp_path: Path) -> None:
    target = _target_with_db(tmp_path)
    code, out = run("import", str(_source(tmp_path)), "--codex-home", str(target),
                    "--map", f"{OLD}=/new", "--yes", "--json")  # fmt: skip
    tx = json.loads(out)["report"]["transaction_id"]
    before = _state(target, tmp_path / "d0")
    home = ("--codex-home", str(target))
    code, out = run("transactions", "rollback", tx, *home, "--dry-run", "--json")
    dry = json.loads(out)
    assert code == 0 and dry["dry_run"] is True and dry["done"] is False
    assert any(u.startswith("remove sessions/") for u in dry["undone"]), dry
    code, out = run("transactions", "delete", tx, *home, "--dry-run", "--json")
    assert code == 0 and json.loads(out)["path"] == str(target / "migration_transactions" / tx)
    assert _state(target, tmp_path / "d1") == before
    code, out = run("transactions", "rollback", tx, *home, "--yes", "--json")
    real = json.loads(out)
    assert code == 0 and real["done"] is True and real["undone"] == dry["undone"]
    code, out = run("transactions", "delete", tx, *home, "--json")
    assert code == 0 and json.loads(out)["done"] is True
    assert not (target / "migration_transactions" / tx).exists()


HALF_WRITE = """
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA cache_size = 5")  # spill changed pages into the DB file before commit
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE threads SET title = 'half written ' || hex(randomblob(64))")
c.execute("INSERT INTO threads (id, rollout_path, cwd) VALUES ('torn', '', '')")
os._exit(9)
"""


def test_a_read_through_a_private_copy_sees_a_killed_writers_db_as_sqlite_does(
    tmp_path: Path,
) -> None:
    """A DB not in WAL mode whose writer was killed mid-transaction: its rollback journal
    is hot, and the file holds half-written pages. What every dry run reads (a private
    copy) is the committed DB, as SQLite shows the home itself, and the home is untouched."""
    import subprocess
    import sys

    from codex_migrate.statedb import connect_readonly

    db = tmp_path / "state_5.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT, cwd TEXT, title)")
    conn.executemany(
        "INSERT INTO threads VALUES (?, '', '', ?)", [(f"t{n}", "x" * 200) for n in range(3000)]
    )
    conn.commit()
    conn.close()
    subprocess.run([sys.executable, "-c", HALF_WRITE, str(db)], timeout=60)
    assert Path(f"{db}-journal").exists()  # hot: the writer is gone
    before = tree_state(tmp_path)
    with connect_readonly(db) as ro:
        got = ro.execute("SELECT count(*), count(DISTINCT title) FROM threads").fetchone()
    assert tuple(got) == (3000, 1)  # the committed rows, none half written
    assert tree_state(tmp_path) == before
