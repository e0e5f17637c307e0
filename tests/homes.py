"""Small hand-made Codex homes for fast unit tests (real-Codex homes come from the harness)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from codex_migrate.demo import bare_rollout, legacy_rollout, paginated_rollout

START = datetime(2026, 3, 4, 10, 20, 30, tzinfo=UTC)
WRITERS = {"paginated": paginated_rollout, "legacy": legacy_rollout, "bare": bare_rollout}


def tid(n: int) -> str:
    return f"019b0000-0000-7000-8000-{n:012x}"


def rollout_name(thread_id: str) -> str:
    return f"rollout-2026-03-04T10-20-30-{thread_id}.jsonl"


def write_rollout(
    home: Path,
    n: int,
    *,
    era: str = "paginated",
    cwd: str = "/Users/alex/Projects/app",
    archived: bool = False,
    turns: list[tuple[str, str]] | None = None,
    text: str | None = None,
) -> Path:
    """Write one rollout into ``home`` and return its path."""
    thread_id = tid(n)
    if text is None:
        text = WRITERS[era](thread_id, cwd, START, turns or [("Hello", "Hi there")])
    folder = home / "archived_sessions" if archived else home / "sessions" / "2026" / "03" / "04"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / rollout_name(thread_id)
    path.write_text(text, encoding="utf-8")
    return path


def tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and folder under root with its content hash, mode and mtime."""
    state: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            digest = ""
            if p.is_file() and not p.is_symlink():
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            state[str(p.relative_to(root))] = (digest, st.st_mode, st.st_mtime_ns)
    return state


def make_state_db(home: Path, rows: list[dict]) -> Path:
    """A small state DB in the 0.169 shape (a subset of its columns), in WAL mode."""
    db = home / "state_5.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, cwd TEXT NOT NULL,"
        " title TEXT NOT NULL DEFAULT '', name TEXT, archived INTEGER NOT NULL DEFAULT 0,"
        " history_mode TEXT NOT NULL DEFAULT 'legacy')"
    )
    conn.execute("CREATE TABLE backfill_state (id INTEGER PRIMARY KEY, status TEXT)")
    conn.execute("INSERT INTO backfill_state VALUES (1, 'complete')")
    for row in rows:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO threads ({cols}) VALUES ({marks})", list(row.values()))
    conn.commit()
    conn.close()
    return db
