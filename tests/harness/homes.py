"""Helpers for Codex homes on disk: self-contained copies, finding and reading rollouts."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any


def copy_home(src: Path, dest: Path) -> Path:
    """Copy a home that no Codex process has open, so that the copy is self-contained.

    A plain copy is not enough for 0.169: ``threads.rollout_path`` in the state DB is absolute,
    so the copy's rows would still name the original's rollouts, and Codex then reads and
    appends to *those* (measured: ``codex exec resume`` in a plain copy grew the original's
    rollout). Rows whose path starts with the source home are re-pointed at the copy, exactly as
    if Codex had built the home at ``dest``; any other path (for instance a wrong one written by
    a migration under test) is left as it is.
    """
    src = Path(src).resolve()
    dest = Path(dest)
    shutil.copytree(src, dest, symlinks=True)
    dest = dest.resolve()
    repoint_rollout_paths(dest, str(src))
    return dest


def state_dbs(home: Path) -> list[Path]:
    """The thread-index DBs of a home (``state_N.sqlite``, also under ``sqlite/``)."""
    return sorted([*home.glob("state_*.sqlite"), *home.glob("sqlite/state_*.sqlite")])


def repoint_rollout_paths(home: Path, old_home: str) -> int:
    """Rewrite ``rollout_path`` values under ``old_home`` to the same place under ``home``.

    Touches every table with a ``rollout_path`` column in the home's state DBs; returns the
    number of rows changed.
    """
    new_home = str(Path(home).resolve())
    changed = 0
    for db in state_dbs(Path(home)):
        con = sqlite3.connect(db)
        try:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                columns = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
                if "rollout_path" not in columns:
                    continue
                for sep in ("/", "\\"):
                    cur = con.execute(
                        f'UPDATE "{table}" SET rollout_path = ? || substr(rollout_path, ?) '
                        "WHERE substr(rollout_path, 1, ?) = ?",
                        (new_home + sep, len(old_home) + 2, len(old_home) + 1, old_home + sep),
                    )
                    changed += cur.rowcount
            con.commit()
        finally:
            con.close()
    return changed


def find_rollout(home: Path, thread_id: str) -> Path:
    """The rollout file of a thread, live or archived (docs/STORAGE.md §1 layout)."""
    candidates = [
        *home.glob(f"sessions/*/*/*/rollout-*-{thread_id}.jsonl"),
        *home.glob(f"archived_sessions/rollout-*-{thread_id}.jsonl"),
    ]
    if len(candidates) != 1:
        raise FileNotFoundError(f"expected one rollout for {thread_id} in {home}: {candidates}")
    return candidates[0]


def read_rollout(path: Path) -> list[dict[str, Any]]:
    """Every JSON line of a rollout, in order (read-only; never re-dumped)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def response_items(records: list[dict[str, Any]], item_type: str) -> list[dict[str, Any]]:
    """Payloads of ``response_item`` lines of one type (``function_call``, ``message`` …)."""
    return [
        r["payload"]
        for r in records
        if r.get("type") == "response_item" and (r.get("payload") or {}).get("type") == item_type
    ]


def input_images(records: list[dict[str, Any]]) -> list[str]:
    """``image_url`` values of ``input_image`` parts in user messages."""
    urls = []
    for msg in response_items(records, "message"):
        if msg.get("role") != "user":
            continue
        for part in msg.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "input_image":
                urls.append(part.get("image_url") or "")
    return urls


def count_user_turns(records: list[dict[str, Any]]) -> int:
    """Turns in a rollout: ``task_started`` events (0.169) or ``user_message`` events (0.80)."""
    events = [(r.get("payload") or {}).get("type") for r in records if r.get("type") == "event_msg"]
    started = events.count("task_started")
    return started if started else events.count("user_message")
