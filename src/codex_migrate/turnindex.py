"""Carrying Codex's own turn index (``thread_history_1.sqlite``) with an imported thread.

Measured (docs/STORAGE.md §5): a paginated thread with no rows in this DB is listed but shows no
turns through ``thread/read`` or ``thread/turns/list`` until Codex projects it. The source home
already holds that projection, keyed by byte offsets into the rollout. Our rewrite is
line-local, so each old line start maps to exactly one new line start (staging records the
map): the rows are copied with their offsets translated and the paths in their items mapped,
and the thread opens at once, with no Codex binary needed. A thread whose rows hold an offset
that is not a known line start, or that has no complete projection, is left to Codex.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_migrate import safejson, statedb
from codex_migrate.errors import CodexMigrateError
from codex_migrate.merge import raw_lines
from codex_migrate.pathmap import PathMapper, Status
from codex_migrate.paths import from_file_url, parse, to_file_url
from codex_migrate.rewrite import rewrite_line
from codex_migrate.statedb import connect_readonly, table_columns

if TYPE_CHECKING:
    from codex_migrate.plan import ImportPlan, PlanItem

#: The tables of the projection, each keyed by ``thread_id`` (docs/STORAGE.md §5).
TABLES = (
    "thread_turns",
    "thread_items",
    "thread_realtime_items",
    "thread_history_projection_state",
)
#: Byte-offset columns, per table.
OFFSET_COLUMNS = {
    "thread_turns": ("rollout_byte_offset", "rollout_end_byte_offset"),
    "thread_history_projection_state": ("next_rollout_byte_offset",),
}
#: Columns holding an item as JSON (paths inside are mapped like the rollout's).
JSON_COLUMNS = {"thread_items": "item_json", "thread_realtime_items": "item_json"}
STATE_TABLE = "thread_history_projection_state"


@dataclass
class ThreadIndex:
    """One thread's rows, per table: the column names and the row values."""

    thread_id: str
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.tables.get("thread_turns", ([], []))[1])


def read_indexes(db: Path, thread_ids: Iterable[str]) -> dict[str, ThreadIndex]:
    """The complete projections (those with a projection state row) of these threads in
    ``db``, read from a private copy so the source home is never touched. Keys are lower-case
    ids. An unreadable DB gives nothing: those threads fall back to Codex."""
    wanted = {t.lower() for t in thread_ids}
    if not wanted:
        return {}
    out: dict[str, ThreadIndex] = {}
    try:
        with connect_readonly(db) as conn:
            present = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if STATE_TABLE not in present:
                return {}
            for (tid,) in conn.execute(f"SELECT thread_id FROM {STATE_TABLE}"):
                if str(tid).lower() in wanted:
                    out[str(tid).lower()] = ThreadIndex(str(tid))
            for table in TABLES:
                if table not in present:
                    continue
                cols = table_columns(conn, table)
                if "thread_id" not in cols:
                    continue
                for index in out.values():
                    rows = [
                        tuple(r)
                        for r in conn.execute(
                            f"SELECT * FROM {table} WHERE thread_id = ?", (index.thread_id,)
                        )
                    ]
                    index.tables[table] = (cols, rows)
    except (statedb.DatabaseError, OSError, CodexMigrateError):
        return {}  # an adapter: a DB we cannot read means "not carried", Codex projects
    return out


def _map_value(value: str, mapper: PathMapper) -> str | None:
    if value[:5].lower() == "file:":
        try:
            path = from_file_url(value)
        except ValueError:
            return None
        res = mapper.resolve(path)
        if res.status is not Status.MAPPED or res.new_path is None:
            return None
        new = to_file_url(parse(res.new_path), localhost=value[5:17].lower() == "//localhost/")
        return None if new == value else new
    res = mapper.resolve(value)
    if res.status is Status.MAPPED and res.new_path and res.new_path != value:
        return res.new_path
    return None


def _map_json(node: Any, mapper: PathMapper) -> bool:
    """Map every ``cwd`` value (path or file URL) in place; whether anything changed."""
    changed = False
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key, value in cur.items():
                if key == "cwd" and isinstance(value, str):
                    new = _map_value(value, mapper)
                    if new is not None:
                        cur[key] = new
                        changed = True
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(cur, list):
            stack.extend(v for v in cur if isinstance(v, (dict, list)))
    return changed


def map_item_json(text: str, mapper: PathMapper) -> str:
    """``text`` with the paths of a stored item mapped; unchanged when none is (or unreadable)."""
    if not mapper.rules or "cwd" not in text:
        return text
    try:
        obj = safejson.loads(text)
    except ValueError:
        return text
    if not _map_json(obj, mapper):
        return text
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def translate(
    index: ThreadIndex, offsets: dict[int, int] | None, mapper: PathMapper | None
) -> ThreadIndex | None:
    """The rows with each byte offset moved to the same line's new start (``offsets`` None:
    the file was copied byte for byte) and item paths mapped; None when an offset is not a
    line start we know, so nothing is guessed."""
    out = ThreadIndex(index.thread_id)
    for table, (cols, rows) in index.tables.items():
        offset_pos = [cols.index(c) for c in OFFSET_COLUMNS.get(table, ()) if c in cols]
        json_col = JSON_COLUMNS.get(table)
        json_pos = cols.index(json_col) if json_col in cols else None
        new_rows = []
        for row in rows:
            values = list(row)
            for pos in offset_pos:
                old = values[pos]
                if old is None or offsets is None:
                    continue
                if old not in offsets:
                    return None
                values[pos] = offsets[old]
            if json_pos is not None and mapper is not None and isinstance(values[json_pos], str):
                values[json_pos] = map_item_json(values[json_pos], mapper)
            new_rows.append(tuple(values))
        out.tables[table] = (cols, new_rows)
    return out


def map_items_in_place(conn: statedb.Connection, thread_id: str, mapper: PathMapper) -> int:
    """Map the paths inside one thread's stored items (rebind); returns rows changed."""
    changed = 0
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, col in JSON_COLUMNS.items():
        if table not in tables or col not in table_columns(conn, table):
            continue
        rows = conn.execute(
            f"SELECT rowid, {col} FROM {table} WHERE thread_id = ?", (thread_id,)
        ).fetchall()
        for rowid, text in rows:
            if not isinstance(text, str):
                continue
            new = map_item_json(text, mapper)
            if new != text:
                conn.execute(f"UPDATE {table} SET {col} = ? WHERE rowid = ?", (new, rowid))
                changed += 1
    return changed


def write_indexes(conn: statedb.Connection, indexes: Iterable[ThreadIndex]) -> int:
    """Insert the rows (replacing any this thread had) into the target's tables, writing only
    the columns both schemas have; returns how many threads were written. Runs inside the
    caller's write transaction."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if STATE_TABLE not in present:
        return 0
    target_cols = {t: set(table_columns(conn, t)) for t in TABLES if t in present}
    written = 0
    for index in indexes:
        # The state row last: deleting it first fires Codex's cleanup trigger.
        conn.execute(f"DELETE FROM {STATE_TABLE} WHERE thread_id = ?", (index.thread_id,))
        for table in TABLES:
            if table in target_cols:
                conn.execute(f"DELETE FROM {table} WHERE thread_id = ?", (index.thread_id,))
        for table in TABLES:
            if table not in index.tables or table not in target_cols:
                continue
            cols, rows = index.tables[table]
            keep = [i for i, c in enumerate(cols) if c in target_cols[table]]
            names = ", ".join(f'"{cols[i]}"' for i in keep)
            marks = ", ".join("?" for _ in keep)
            conn.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                [tuple(row[i] for i in keep) for row in rows],
            )
        written += 1
    return written


def target_can_hold(db: Path | None) -> bool:
    """Whether the target has a turn index we can write to (we never create Codex's DB:
    its migrations table must match the Codex that runs there)."""
    if db is None or not db.is_file():
        return False
    try:
        conn = statedb.connect(db, timeout=5)  # a read-only open would add -wal/-shm
    except statedb.DBError:
        return False
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except statedb.DBError:
        return False
    finally:
        conn.close()
    return STATE_TABLE in names and "thread_turns" in names


def projected_ids(db: Path | None) -> set[str]:
    """Threads that already have a turn index in this (target) DB, lower-case."""
    if db is None or not db.is_file():
        return set()
    try:
        conn = statedb.connect(db, timeout=5)
        try:
            rows = conn.execute(f"SELECT thread_id FROM {STATE_TABLE}").fetchall()
        finally:
            conn.close()
    except statedb.DBError:
        return set()
    return {str(r[0]).lower() for r in rows}


def rewritten_offsets(path: Path, mapper: PathMapper, rewrite_text: bool) -> dict[int, int]:
    """Old line start -> the same line's start in the file as the import writes it (for a
    thread skipped as identical: its target copy has exactly those bytes)."""
    out: dict[int, int] = {}
    old = new = 0
    for raw in raw_lines(path):
        out[old] = new
        old += len(raw)
        new += len(rewrite_line(raw, mapper, rewrite_text=rewrite_text))
    out[old] = new
    return out


def indexes_to_carry(plan: ImportPlan) -> tuple[dict[str, ThreadIndex], list[PlanItem]]:
    """The source's turn indexes of the paginated threads an import writes, and of those it
    skips as identical whose target copy has none yet (e.g. imported earlier without one);
    the second value lists those skipped items. Empty when the target cannot hold them."""
    source_db = plan.source.home.history_db
    target_db = plan.target.home.history_db
    if source_db is None or not target_can_hold(target_db):
        return {}, []
    paginated = [i for i in plan.writes if i.thread.history_mode == "paginated"]
    skipped = [i for i in plan.items if i.action == "skip" and i.thread.history_mode == "paginated"]
    if skipped:
        have = projected_ids(target_db)
        skipped = [i for i in skipped if i.id not in have]
    if not paginated and not skipped:
        return {}, []
    indexes = read_indexes(source_db, [i.id for i in paginated + skipped])
    return indexes, [i for i in skipped if i.id in indexes]
