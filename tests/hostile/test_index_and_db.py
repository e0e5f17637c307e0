"""Hostile index files (session_index.jsonl, history.jsonl) and state databases, in the source
and in the target: nothing hangs or crashes, the file is named, the rest works, nothing changes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.homes import make_state_db, tid, write_rollout
from tests.hostile.conftest import BOUND, OLD, World, invoke

# -- index files ---------------------------------------------------------------------------------


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _deep(path: Path) -> None:
    good = json.dumps({"id": tid(2), "thread_name": "Second", "updated_at": "t"})
    path.write_text("[" * 5000 + "]" * 5000 + "\n" + good + "\n" + '{"id": ' * 3000 + "\n")


def _garbage(path: Path) -> None:
    good = json.dumps({"id": tid(2), "thread_name": "Second", "updated_at": "t"})
    path.write_bytes(b'\xff\xfe\x00garbage\n[1,2]\n"str"\n' + good.encode() + b"\n{cut")


INDEX_DAMAGE: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "deep": _deep,
    "garbage": _garbage,
}
INDEX_FILES = ("session_index.jsonl", "history.jsonl")


def _read_commands(world: World) -> list[tuple[str, ...]]:
    return [
        ("scan", str(world.src), "--json"),
        ("doctor", "--codex-home", str(world.src), "--json"),
        ("verify", "--codex-home", str(world.src)),
        ("export-md", "--codex-home", str(world.src), "--all", "-o", str(world.out)),
        ("backup", "--codex-home", str(world.src), "--output-parent", str(world.out)),
        (
            "import",
            str(world.src),
            "--codex-home",
            str(world.dst),
            "--map",
            f"{OLD}={world.tmp}",
            "--no-codex",
            "--yes",
        ),
    ]


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "command", range(6), ids=["scan", "doctor", "verify", "export-md", "backup", "import"]
)
@pytest.mark.parametrize("damage", list(INDEX_DAMAGE))
@pytest.mark.parametrize("name", INDEX_FILES)
def test_hostile_index_in_source(world: World, name: str, damage: str, command: int) -> None:
    path = world.src / name
    INDEX_DAMAGE[damage](path)
    before = world.snapshot()["src"]
    args = _read_commands(world)[command]
    out = invoke(*args)
    assert out.code in (0, 1), out.text
    if damage == "fifo" and args[0] in ("scan", "import", "backup"):
        assert name in out.text, out.text
    assert world.snapshot()["src"] == before
    if args[0] == "import":
        assert len(list((world.dst / "sessions").rglob("rollout-*"))) == 2
        if damage != "fifo" and name == "session_index.jsonl":
            # the readable line still names its thread in the target
            assert "Second" in (world.dst / name).read_text()


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("name", INDEX_FILES)
def test_fifo_index_in_target_refuses_before_writing(world: World, name: str) -> None:
    _fifo(world.dst / name)
    before = world.snapshot()["dst"]
    out = invoke(
        "import",
        world.src,
        "--codex-home",
        world.dst,
        "--map",
        f"{OLD}={world.tmp}",
        "--no-codex",
        "--yes",
    )
    assert out.code != 0, out.text
    assert name in out.text, out.text
    assert world.snapshot()["dst"] == before


# -- databases -----------------------------------------------------------------------------------


def _rows(home: Path) -> list[dict[str, str]]:
    folder = home / "sessions" / "2026" / "03" / "04"
    if not folder.is_dir():
        return []
    return [
        {
            "id": tid(n),
            "rollout_path": str(next(folder.glob(f"*{tid(n)}.jsonl"))),
            "cwd": f"{OLD}/app",
        }
        for n in (1, 2)
    ]


def db_garbage(home: Path) -> None:
    (home / "state_5.sqlite").write_bytes(b"this is not a database" * 100)


def db_truncated(home: Path) -> None:
    db = make_state_db(home, _rows(home))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 7])


def db_header_only(home: Path) -> None:
    (home / "state_5.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)


def db_fifo(home: Path) -> None:
    os.mkfifo(home / "state_5.sqlite")


def db_folder(home: Path) -> None:
    (home / "state_5.sqlite").mkdir()


def db_newer_schema(home: Path) -> None:
    db = home / "state_9.sqlite"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT, cwd TEXT, title TEXT,"
        " future_column BLOB NOT NULL DEFAULT x'00', archived INTEGER)"
    )
    for row in _rows(home):
        conn.execute(
            "INSERT INTO threads (id, rollout_path, cwd, title) VALUES (?,?,?,?)",
            (row["id"], row["rollout_path"], row["cwd"], "t"),
        )
    conn.commit()
    conn.close()


def db_no_threads_table(home: Path) -> None:
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()


def db_wrong_types(home: Path) -> None:
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.execute("CREATE TABLE threads (id, rollout_path, cwd, title, archived, name)")
    conn.execute("INSERT INTO threads VALUES (1, x'ff00', 3.5, NULL, 'yes', x'00')")
    conn.execute(f"INSERT INTO threads VALUES ('{tid(1)}', 42, NULL, NULL, NULL, NULL)")
    conn.commit()
    conn.close()


DB_DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": db_garbage,
    "truncated": db_truncated,
    "header-only": db_header_only,
    "fifo": db_fifo,
    "folder": db_folder,
    "newer-schema": db_newer_schema,
    "no-threads-table": db_no_threads_table,
    "wrong-types": db_wrong_types,
}


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "command", range(6), ids=["scan", "doctor", "verify", "export-md", "backup", "import"]
)
@pytest.mark.parametrize("damage", list(DB_DAMAGE))
def test_hostile_db_in_source(world: World, damage: str, command: int) -> None:
    DB_DAMAGE[damage](world.src)
    before = world.snapshot()["src"]
    args = _read_commands(world)[command]
    out = invoke(*args)
    assert out.code in (0, 1), out.text
    assert world.snapshot()["src"] == before
    if args[0] == "import":
        assert len(list((world.dst / "sessions").rglob("rollout-*"))) == 2
    if args[0] == "scan":
        assert len(out.json()["threads"]) == 3


def _files(state: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in state.items() if k != "migration_transactions"}


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``db`` from another connection (as a crashed writer would)."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("damage", ["garbage", "truncated", "fifo", "folder", "no-threads-table"])
def test_hostile_db_in_target_refuses_before_writing(world: World, damage: str) -> None:
    (world.dst / "sessions").mkdir()
    DB_DAMAGE[damage](world.dst)
    before = world.snapshot()["dst"]
    out = invoke(
        "import",
        world.src,
        "--codex-home",
        world.dst,
        "--map",
        f"{OLD}={world.tmp}",
        "--no-codex",
        "--yes",
    )
    assert out.code != 0, out.text
    assert "state_5.sqlite" in out.text, out.text
    # The home lock's folder may stay (empty); no file may appear or change.
    assert _files(world.snapshot()["dst"]) == _files(before)


@pytest.mark.timeout(BOUND)
def test_locked_target_db_refuses_without_waiting_forever(world: World) -> None:
    write = __import__("tests.homes", fromlist=["write_rollout"]).write_rollout
    write(world.dst, 7, cwd="/mine")
    db = make_state_db(world.dst, [])
    with _locked(db):
        before = world.snapshot()["dst"]
        out = invoke(
            "import",
            world.src,
            "--codex-home",
            world.dst,
            "--map",
            f"{OLD}={world.tmp}",
            "--no-codex",
            "--yes",
        )
    assert out.code != 0, out.text
    assert "state_5.sqlite" in out.text or "locked" in out.text or "busy" in out.text, out.text
    after = world.snapshot()["dst"]
    assert {k: v for k, v in after.items() if not k.startswith("migration_transactions")} == {
        k: v for k, v in before.items() if not k.startswith("migration_transactions")
    }


@pytest.mark.timeout(BOUND)
def test_locked_source_db_still_scans(world: World) -> None:
    db = make_state_db(world.src, _rows(world.src))
    with _locked(db):
        out = invoke("scan", world.src, "--json")
    assert out.code == 0, out.text
    assert len(out.json()["threads"]) == 3


@pytest.mark.timeout(BOUND)
def test_a_lone_surrogate_in_the_first_message_is_imported_into_a_db(world: World) -> None:
    """A lone surrogate (a \\ud83d escape) in the first user message would be the row's
    title, which SQLite cannot take (no UTF-8 for it): the row gets U+FFFD there, the
    rollout is imported byte for byte."""
    path = write_rollout(world.src, 4, cwd=f"{OLD}/app", turns=[("lone XSURR x", "ok")])
    path.write_text(path.read_text().replace("XSURR", "\\ud83d"))
    make_state_db(world.dst, [])
    # the real command line: its streams escape what they cannot encode (CliRunner's do not)
    command = [sys.executable, "-m", "codex_migrate", "import", str(world.src)]
    command += ["--codex-home", str(world.dst), "--map", f"{OLD}={world.tmp}", "--yes", "--json"]
    out = subprocess.run(
        command,
        capture_output=True,
        timeout=BOUND,
    )
    assert out.returncode == 0, out.stderr
    titles = [t["title"] for t in json.loads(out.stdout)["plan"]["threads"]]
    assert "lone \ud83d x" in titles  # the JSON escape: the same string as in the rollout
    conn = sqlite3.connect(world.dst / "state_5.sqlite")
    try:
        titles = [r[0] for r in conn.execute("SELECT title FROM threads")]
    finally:
        conn.close()
    assert any("lone \ufffd x" in t for t in titles), titles
    written = next(world.dst.glob("sessions/**/" + path.name))
    assert b"lone \\ud83d x" in written.read_bytes()


@pytest.mark.timeout(BOUND)
def test_a_lone_surrogate_in_a_cwd_is_imported_into_a_db(world: World) -> None:
    """A cwd from a ``\\ud800`` escape: its row holds U+FFFD there (SQLite takes only UTF-8)
    and the import's own check expects just that, instead of failing the whole import with
    "row cwd ..., expected ..."; the rollout is imported byte for byte, mapped."""
    path = write_rollout(world.src, 4, cwd=f"{OLD}/appXSURR")
    path.write_text(path.read_text().replace("XSURR", "\\ud800"))
    make_state_db(world.dst, [])
    command = [sys.executable, "-m", "codex_migrate", "import", str(world.src)]
    command += ["--codex-home", str(world.dst), "--map", f"{OLD}=/n", "--yes", "--json"]
    out = subprocess.run(command, capture_output=True, timeout=BOUND)
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(world.dst / "state_5.sqlite")
    try:
        cwds = [r[0] for r in conn.execute("SELECT cwd FROM threads")]
    finally:
        conn.close()
    assert "/n/app\ufffd" in cwds, cwds
    written = next(world.dst.glob("sessions/**/" + path.name))
    assert b'"cwd":"/n/app\\ud800"' in written.read_bytes()
