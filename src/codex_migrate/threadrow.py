"""What a ``threads`` row should say for a rollout, and writing it into whatever schema exists.

The DB is an adapter: we read the target's columns at run time and write only those. Values
come from the source row when the source had one (Codex computed them), then from facts
gathered while streaming the rollout, and the fields the move changes (path, cwd, archived,
name, history mode, times) are always ours.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain, compress, groupby
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from codex_migrate import statedb
from codex_migrate.rolloutfacts import RolloutFacts, text_or_none

if TYPE_CHECKING:
    from codex_migrate.rowlog import RowLog

#: Tables of ``thread_history_1.sqlite`` keyed by thread, holding byte offsets into rollouts.
HISTORY_TABLES = (
    "thread_turns",
    "thread_items",
    "thread_realtime_items",
    "thread_history_projection_state",
)


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class RowFacts(NamedTuple):
    """What a row takes from a rollout's lines, compact: a few short strings per thread (the
    policy as its JSON text, not the parsed dict), so thousands of them cost little memory."""

    model: str | None = None
    reasoning_effort: str | None = None
    approval_mode: str | None = None
    #: ``sandbox_policy`` as written to the row (compact JSON), None when no line set one
    sandbox_policy: str | None = None
    tokens_used: int | None = None
    has_user_event: bool = False

    def shared(self) -> RowFacts:
        """These facts with their strings interned: one copy of each model and policy for
        thousands of threads, also of facts that came back from a worker process."""
        return RowFacts(
            _intern(self.model),
            _intern(self.reasoning_effort),
            _intern(self.approval_mode),
            _intern(self.sandbox_policy),
            self.tokens_used,
            self.has_user_event,
        )


def row_facts(facts: RolloutFacts) -> RowFacts:
    """The row's part of ``facts`` (resolved: call after :meth:`RolloutFacts.finish`)."""
    policy = None if facts.policy is None else json.dumps(facts.policy, separators=(",", ":"))
    return RowFacts(
        facts.model,
        facts.reasoning_effort,
        facts.approval_mode,
        policy,
        facts.tokens_used,
        facts.has_user_event,
    ).shared()


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


def build_row(
    *,
    thread_id: str,
    rollout_path: str,
    cwd: str,
    meta: dict[str, Any],
    title: str | None,
    name: str | None,
    archived: bool,
    archived_at: int | None,
    history_mode: str,
    mtime: float,
    facts: RowFacts,
    source_row: dict[str, Any] | None,
) -> dict[str, Any]:
    """The full set of values we know for a row; :func:`upsert_row` keeps those that exist."""
    row: dict[str, Any] = dict(source_row or {})
    created = _epoch(text_or_none(meta.get("timestamp"))) or mtime
    git_meta = meta.get("git")
    git: dict[str, Any] = git_meta if isinstance(git_meta, dict) else {}
    derived = {
        "source": _source(meta.get("source")),
        "model_provider": text_or_none(meta.get("model_provider")),
        "cli_version": text_or_none(meta.get("cli_version")),
        "originator": text_or_none(meta.get("originator")),
        "thread_source": text_or_none(meta.get("thread_source")),
        "model": facts.model,
        "reasoning_effort": facts.reasoning_effort,
        "approval_mode": facts.approval_mode,
        "sandbox_policy": facts.sandbox_policy,
        "tokens_used": facts.tokens_used,
        "git_sha": text_or_none(git.get("commit_hash")),
        "git_branch": text_or_none(git.get("branch")),
        "git_origin_url": text_or_none(git.get("repository_url")),
    }
    for key, value in derived.items():
        if row.get(key) in (None, "") and value is not None:
            row[key] = value
    preview = title or row.get("preview") or row.get("title") or ""
    if row.get("has_user_event") in (None, 0) and facts.has_user_event:
        row["has_user_event"] = 1
    row.update(
        {
            "id": thread_id,
            "rollout_path": rollout_path,
            "cwd": cwd,
            "title": row.get("title") or preview,
            "preview": row.get("preview") or preview,
            "first_user_message": row.get("first_user_message") or preview,
            "name": name if name else row.get("name"),
            "archived": 1 if archived else 0,
            "archived_at": archived_at if archived else None,
            "history_mode": history_mode,
            "created_at": int(created),
            "created_at_ms": int(created * 1000),
            "updated_at": int(mtime),
            "updated_at_ms": int(mtime * 1000),
            "recency_at": int(mtime),
            "recency_at_ms": int(mtime * 1000),
        }
    )
    return row


def _source(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return None


@dataclass
class ColumnInfo:
    name: str
    type: str
    notnull: bool
    default: Any


def columns(conn: statedb.Connection, table: str) -> dict[str, ColumnInfo]:
    return {
        r[1]: ColumnInfo(r[1], (r[2] or "").upper(), bool(r[3]), r[4])
        for r in conn.execute(f"PRAGMA table_info({table})")
    }


def _filler(col: ColumnInfo) -> Any:
    """A neutral value for a NOT NULL column we know nothing about (newer schemas)."""
    if "INT" in col.type or "BOOL" in col.type or "REAL" in col.type:
        return 0
    return ""


def upsert_row(
    conn: statedb.Connection, row: dict[str, Any], cols: dict[str, ColumnInfo] | None = None
) -> None:
    """Insert or replace one ``threads`` row, writing only columns this schema has
    (pass ``cols`` from :func:`columns` when writing many rows)."""
    upsert_rows(conn, [row], cols if cols is not None else columns(conn, "threads"))


#: Rows one INSERT statement takes at most (fewer where the schema allows fewer parameters).
ROWS_PER_STATEMENT = 256


def upsert_rows(
    conn: statedb.Connection, rows: Iterable[dict[str, Any]], cols: dict[str, ColumnInfo]
) -> None:
    """:func:`upsert_row` for many rows, in order: each run of rows that leave out the same
    columns (usually all of them) goes in a few hundred to a statement, ``INSERT ... VALUES
    (...), (...)``, rather than one statement a row. Same rows, rowids and triggers; what it
    saves is SQLite's per-statement work: with the ``threads`` table's triggers every statement
    keeps a statement journal of each page it changes (its ~22 indexes' pages and the table's),
    written to a temporary file, so one statement a row wrote ~40 pages of it a row (3 000
    rows: 125 000 writes, half the CPU of the inserts)."""
    layout = _Layout(cols)
    limit = statedb.variable_limit(conn)
    for gone, group in groupby(map(layout.values, rows), key=itemgetter(0)):
        values = [v for _, v in group]
        names, pick = layout.shape(gone, values)
        quoted = ", ".join(f'"{n}"' for n in names)
        marks = "(" + ", ".join("?" for _ in names) + ")"
        step = max(1, min(ROWS_PER_STATEMENT, limit // len(names)))
        for n in range(0, len(values), step):
            chunk = values[n : n + step]
            conn.execute(
                f"INSERT OR REPLACE INTO threads ({quoted}) VALUES "
                + ", ".join([marks] * len(chunk)),
                list(chain.from_iterable(map(pick, chunk))),
            )


class RowWriter:
    """``threads`` rows written into one open write (its rows journalled first, see
    :mod:`rowlog`) a few hundred at a time, as they are made: the rows of thousands of
    threads are never all in memory. Call :meth:`flush` before the write ends."""

    BATCH = 256

    def __init__(self, log: RowLog) -> None:
        self.log = log
        self.cols = columns(log.conn, "threads")
        self.pending: list[dict[str, Any]] = []

    def watch(self, ids: list[str]) -> None:
        """Journal the rows of threads ``ids`` as they are, before any is written."""
        self.log.watch_keys("threads", "id", ids)

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            upsert_rows(self.log.conn, self.pending, self.cols)
            # each thread's row is added once: its digest can be taken now (see settle)
            self.log.settle("threads", "id", [row["id"] for row in self.pending])
            self.pending = []


class _Layout:
    """How a row's values go into this schema's columns, worked out once for all rows.

    A value is written when it is not None. A None is written as NULL where the schema has
    no default, as a neutral value where the column is NOT NULL without a default (newer
    schemas), and left out where the schema has a default of its own. A column that is NULL
    in every row of a statement's run is left out of it too: leaving it out writes the same
    NULL, and each None bound costs the sqlite3 module a failed adapter look-up (about as
    much as SQLite's own work for the value)."""

    def __init__(self, cols: dict[str, ColumnInfo]) -> None:
        self.names = tuple(cols)
        self.fill = [
            (n, _filler(c)) for n, c in enumerate(cols.values()) if c.notnull and c.default is None
        ]
        self.defaulted = [n for n, c in enumerate(cols.values()) if c.default is not None]
        #: the columns that may hold NULL: left out of a run of rows where all are NULL
        self.nullable = [
            n for n, c in enumerate(cols.values()) if not c.notnull and c.default is None
        ]
        #: the columns left out -> the columns written and how to pick their values
        self._shapes: dict[tuple[int, ...], tuple[tuple[str, ...], Callable[[Any], Any]]] = {}
        # a row's values of the columns to fill, and of those with a default (C, no loop)
        self._to_fill = _picker([n for n, _ in self.fill])
        self._with_default = _picker(self.defaulted)

    def values(self, row: dict[str, Any]) -> tuple[tuple[int, ...], list[Any]]:
        """The columns ``row`` must leave out (defaulted and None), and every column's value.
        Thousands of rows: the usual row (all text ASCII, nothing to fill) takes no loop in
        Python, each of which cost more than the rest of this."""
        values = list(map(row.get, self.names))
        if not _all_ascii(values):
            for n, value in enumerate(values):
                if type(value) is str and not value.isascii():
                    values[n] = db_text(value)
        if None in self._to_fill(values):
            for n, filler in self.fill:
                if values[n] is None:
                    values[n] = filler
        gone = compress(self.defaulted, map(_is_none, self._with_default(values)))
        return tuple(gone), values

    def shape(
        self, gone: tuple[int, ...], rows: list[list[Any]]
    ) -> tuple[tuple[str, ...], Callable[[Any], Any]]:
        """The columns written for ``rows`` (which all leave out ``gone``), and how to pick
        their values from a row's."""
        count = len(rows)
        nulls = [n for n in self.nullable if [v[n] for v in rows].count(None) == count]
        if nulls:
            gone = tuple(sorted((*gone, *nulls)))
        shape = self._shapes.get(gone)
        if shape is None:  # worked out once per set of columns left out (a few)
            keep = [n for n in range(len(self.names)) if n not in gone]
            pick: Callable[[Any], Any] = itemgetter(*keep) if len(keep) > 1 else _one(keep[0])
            shape = self._shapes[gone] = (tuple(self.names[n] for n in keep), pick)
        return shape


#: A lone surrogate (a ``\\ud83d`` escape without its pair, read by Python's JSON decoder)
#: cannot be written as UTF-8, so SQLite cannot take it: a row gets U+FFFD in its place.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def db_text(value: str) -> str:
    """``value`` as a row holds it: each lone surrogate as U+FFFD (see ``_LONE_SURROGATE``);
    what a check of a written row must expect."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def _one(n: int) -> Callable[[list[Any]], tuple[Any]]:
    return lambda values: (values[n],)


def _picker(indexes: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """``lambda values: tuple(values[n] for n in indexes)``, by ``itemgetter`` where it can."""
    if len(indexes) > 1:
        return itemgetter(*indexes)
    if indexes:
        return _one(indexes[0])
    return lambda values: ()


#: ``value is None`` as a C function (for ``map``)
_is_none = partial(is_, None)


def _all_ascii(values: list[Any]) -> bool:
    """Whether every string among ``values`` is ASCII (none needs :func:`db_text`), in one
    C call: orjson writes any other character as itself and refuses a lone surrogate (and
    whatever it cannot write: then the caller looks at each value)."""
    try:
        return orjson.dumps(values).isascii()
    except TypeError:  # orjson.JSONEncodeError
        return False


def history_tables(conn: statedb.Connection) -> list[str]:
    """The projection tables of ``thread_history_1.sqlite`` this schema has, by thread id."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return [t for t in HISTORY_TABLES if t in tables and "thread_id" in columns(conn, t)]


def watch_projection(log: RowLog, thread_id: str) -> None:
    """Journal a thread's projection rows before they change (see :mod:`rowlog`)."""
    for table in history_tables(log.conn):
        log.watch(table, "thread_id = ?", (thread_id,))


def delete_projection(conn: statedb.Connection, thread_id: str) -> int:
    """Drop a thread's rows from ``thread_history_1.sqlite``: they hold byte offsets into
    the old rollout bytes. Codex projects the thread again when it is opened."""
    removed = 0
    for table in history_tables(conn):
        cur = conn.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
        removed += cur.rowcount
    return removed
