"""The DB side of a rebind: ``threads`` rows made to agree with the rollouts, and the byte
offsets of Codex's turn index moved to the rewritten lines. Every change goes through the
transaction's row log, so recovery can undo it row by row."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from codex_migrate.pathmap import PathMapper
from codex_migrate.staging import StagedFile
from codex_migrate.threadrow import (
    RowFacts,
    build_row,
    columns,
    delete_projection,
    upsert_row,
    watch_projection,
)
from codex_migrate.transaction import Transaction
from codex_migrate.turnindex import OFFSET_COLUMNS, map_items_in_place

if TYPE_CHECKING:  # types only: rebind imports this module
    from codex_migrate.rebind import RebindItem, RebindPlan


def fix_rows(tx: Transaction, plan: RebindPlan, staged: dict[str, StagedFile]) -> tuple[int, int]:
    db = plan.catalog.home.state_db
    assert db is not None
    rows = 0
    with tx.db_write(db) as log:
        conn = log.conn
        cols = columns(conn, "threads")
        for item in plan.items:
            if not item.row_action:
                continue
            t = item.thread
            log.watch("threads", "id = ?", (t.id,))
            upsert_row(
                conn,
                build_row(
                    thread_id=t.id,
                    rollout_path=str(t.rollout_path),
                    cwd=item.new_cwd or t.cwd or "",
                    meta=t.meta,
                    title=t.title,
                    name=t.name,
                    archived=t.archived,
                    archived_at=(t.row or {}).get("archived_at")
                    or (int(t.mtime) if t.archived else None),
                    history_mode=t.history_mode,
                    mtime=t.mtime,
                    facts=staged[t.id].facts if t.id in staged else RowFacts(),
                    source_row=t.row,
                ),
                cols,
            )
            rows += 1
        for tid in plan.drop_rows:
            log.watch("threads", "id = ?", (tid,))
            conn.execute("DELETE FROM threads WHERE id = ?", (tid,))
        if plan.reset_backfill:
            log.watch("backfill_state", "1")
            # Codex treats 'running' as a lease; 'pending' makes the next start rescan.
            bf_cols = {r[1] for r in conn.execute("PRAGMA table_info(backfill_state)")}
            extra = ", updated_at = 0" if "updated_at" in bf_cols else ""
            conn.execute(f"UPDATE backfill_state SET status = 'pending'{extra}")
    return rows, len(plan.drop_rows)


def translate_offsets(
    tx: Transaction,
    db: Path,
    items: list[RebindItem],
    staged: dict[str, StagedFile],
    mapper: PathMapper,
) -> tuple[int, int]:
    """Move every stored byte offset of a rewritten thread to the same line's new start.
    An offset that is not a line start we know is not guessed: that thread's projection is
    dropped and Codex rebuilds it when the thread is opened."""
    translated = dropped = 0
    with tx.db_write(db) as log:
        conn = log.conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for item in items:
            watch_projection(log, item.id)
            mapping = staged[item.id].offsets
            updates: list[tuple[str, str, int, int]] = []
            clean = True
            for table, cols in OFFSET_COLUMNS.items():
                if table not in tables:
                    continue
                present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                for col in cols:
                    if col not in present:
                        continue
                    for (value,) in conn.execute(
                        f"SELECT DISTINCT {col} FROM {table} WHERE thread_id = ?", (item.id,)
                    ):
                        if value is None:
                            continue
                        if value not in mapping:
                            clean = False
                        elif mapping[value] != value:
                            updates.append((table, col, value, mapping[value]))
            if not clean:
                delete_projection(conn, item.id)
                dropped += 1
                continue
            # Two passes through negative values, so a new offset never collides with an
            # old one still waiting in the same column.
            for table, col, old, new in updates:
                conn.execute(
                    f"UPDATE {table} SET {col} = ? WHERE thread_id = ? AND {col} = ?",
                    (-new - 1, item.id, old),
                )
            for table, col, _old, new in updates:
                conn.execute(
                    f"UPDATE {table} SET {col} = ? WHERE thread_id = ? AND {col} = ?",
                    (new, item.id, -new - 1),
                )
            translated += len(updates)
            map_items_in_place(conn, item.id, mapper)  # e.g. a command's cwd, as in the file
    return translated, dropped
