"""What a ``threads`` row should say for a rollout, and writing it into whatever schema exists.

The DB is an adapter: we read the target's columns at run time and write only those. Values
come from the source row when the source had one (Codex computed them), then from facts
gathered while streaming the rollout, and the fields the move changes (path, cwd, archived,
name, history mode, times) are always ours.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any, NamedTuple

from codex_migrate import safejson, statedb
from codex_migrate.rollout import HEAD_MAX_RECORDS

if TYPE_CHECKING:
    from codex_migrate.rowlog import RowLog

#: Tables of ``thread_history_1.sqlite`` keyed by thread, holding byte offsets into rollouts.
HISTORY_TABLES = (
    "thread_turns",
    "thread_items",
    "thread_realtime_items",
    "thread_history_projection_state",
)


@dataclass
class RolloutFacts:
    """Facts for a row, gathered from the lines of a rollout as they stream past."""

    model: str | None = None
    reasoning_effort: str | None = None
    approval_mode: str | None = None
    policy: Any = None
    tokens_used: int | None = None
    has_user_event: bool = False
    records: int = 0
    git: dict[str, Any] = field(default_factory=dict)
    #: Lines past the head that :meth:`feed` would parse, kept unparsed (most recent last)
    #: until :meth:`finish`: only the last ones that set a fact matter.
    _contexts: deque[bytes] = field(default_factory=lambda: deque(maxlen=_KEEP), repr=False)
    _tokens: deque[bytes] = field(default_factory=lambda: deque(maxlen=_KEEP), repr=False)
    _dropped: bool = field(default=False, repr=False)

    def feed(self, raw: bytes) -> None:
        """Look only at the few record kinds that carry row facts; parse nothing else."""
        self.records += 1
        head = raw[:160]
        if b"turn_context" in head:
            obj = _loads(raw)
            payload = obj.get("payload") if isinstance(obj, dict) else None
            if isinstance(payload, dict):
                self.model = _s(payload.get("model")) or self.model
                self.reasoning_effort = _s(payload.get("effort")) or self.reasoning_effort
                self.approval_mode = _s(payload.get("approval_policy")) or self.approval_mode
                policy = payload.get("permission_profile") or payload.get("sandbox_policy")
                if policy is not None:
                    self.policy = policy
        elif b"token_count" in raw[:400] and b'"total_token_usage"' in raw:
            tokens = _total_tokens(raw)
            if tokens is not None:
                self.tokens_used = tokens
        elif (
            not self.has_user_event
            and self.records <= HEAD_MAX_RECORDS
            and (b'"user_message"' in raw or b'"UserMessage"' in raw)
        ):
            self.has_user_event = True

    def feed_block(self, block: bytes) -> None:
        """:meth:`feed` for a buffer of whole lines (the last may lack its newline, at the end
        of a file), without looking at every line: only lines marked ``turn_context``,
        ``token_count`` or a user message can set a fact, and of the first two kinds only the
        last that do count, so those are parsed in :meth:`finish`, newest first."""
        size = len(block)
        if not size:
            return
        head_end = 0  # lines before this offset are within the head (user events count)
        if self.records < HEAD_MAX_RECORDS and not self.has_user_event:
            for _ in range(HEAD_MAX_RECORDS - self.records):
                head_end = block.find(b"\n", head_end) + 1
                if not head_end:
                    head_end = size
                    break
        self.records += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        starts: set[int] = set()
        for mark, limit in _FACT_MARKS:
            stop = size if limit is None else head_end
            pos = block.find(mark, 0, stop)
            while pos >= 0:
                starts.add(block.rfind(b"\n", 0, pos) + 1)
                end = block.find(b"\n", pos)
                if end < 0:
                    break
                pos = block.find(mark, end + 1, stop)
        for start in sorted(starts):
            end = block.find(b"\n", start)
            raw = block[start : size if end < 0 else end + 1]
            if b"turn_context" in raw[:160]:
                queue = self._contexts
            elif b"token_count" in raw[:400] and b'"total_token_usage"' in raw:
                queue = self._tokens
            else:
                if start < head_end and (b'"user_message"' in raw or b'"UserMessage"' in raw):
                    self.has_user_event = True
                continue
            self._dropped = self._dropped or len(queue) == _KEEP
            queue.append(raw)

    def finish(self) -> bool:
        """Resolve what :meth:`feed_block` kept; False when a fact may sit in a line that was
        dropped (more than ``_KEEP`` such lines, none of the kept ones setting it): the caller
        then feeds the file again line by line."""
        wanted = {"model", "reasoning_effort", "approval_mode", "policy"}
        for raw in reversed(self._contexts):
            if not wanted:
                break
            payload = _payload(raw)
            if payload is None:
                continue
            found = {
                "model": _s(payload.get("model")),
                "reasoning_effort": _s(payload.get("effort")),
                "approval_mode": _s(payload.get("approval_policy")),
                "policy": payload.get("permission_profile") or payload.get("sandbox_policy"),
            }
            for key in list(wanted):
                if found[key] is not None:
                    setattr(self, key, found[key])
                    wanted.discard(key)
        tokens_found = False
        for raw in reversed(self._tokens):
            tokens = _total_tokens(raw)
            if tokens is not None:
                self.tokens_used = tokens
                tokens_found = True
                break
        dropped = self._dropped and (bool(wanted) or not tokens_found)
        self._contexts.clear()
        self._tokens.clear()
        self._dropped = False
        return not dropped


_KEEP = 64
#: (mark, None: anywhere | "head": only in the first HEAD_MAX_RECORDS lines)
_FACT_MARKS = (
    (b"turn_context", None),
    (b"token_count", None),
    (b'"user_message"', "head"),
    (b'"UserMessage"', "head"),
)


def _total_tokens(raw: bytes) -> int | None:
    payload = _payload(raw)
    info = payload.get("info") if payload is not None else None
    total = info.get("total_token_usage") if isinstance(info, dict) else None
    tokens = total.get("total_tokens") if isinstance(total, dict) else None
    return tokens if isinstance(tokens, int) else None


def _payload(raw: bytes) -> dict[str, Any] | None:
    obj = _loads(raw)
    payload = obj.get("payload") if isinstance(obj, dict) else None
    return payload if isinstance(payload, dict) else None


def _loads(raw: bytes) -> Any:
    try:
        return safejson.loads(raw)
    except ValueError:
        return None


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


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


def row_facts(facts: RolloutFacts) -> RowFacts:
    """The row's part of ``facts`` (resolved: call after :meth:`RolloutFacts.finish`). The
    strings are interned: thousands of threads share a few models and policies."""
    policy = None if facts.policy is None else json.dumps(facts.policy, separators=(",", ":"))
    return RowFacts(
        _intern(facts.model),
        _intern(facts.reasoning_effort),
        _intern(facts.approval_mode),
        _intern(policy),
        facts.tokens_used,
        facts.has_user_event,
    )


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
    created = _epoch(_s(meta.get("timestamp"))) or mtime
    git_meta = meta.get("git")
    git: dict[str, Any] = git_meta if isinstance(git_meta, dict) else {}
    derived = {
        "source": _source(meta.get("source")),
        "model_provider": _s(meta.get("model_provider")),
        "cli_version": _s(meta.get("cli_version")),
        "originator": _s(meta.get("originator")),
        "thread_source": _s(meta.get("thread_source")),
        "model": facts.model,
        "reasoning_effort": facts.reasoning_effort,
        "approval_mode": facts.approval_mode,
        "sandbox_policy": facts.sandbox_policy,
        "tokens_used": facts.tokens_used,
        "git_sha": _s(git.get("commit_hash")),
        "git_branch": _s(git.get("branch")),
        "git_origin_url": _s(git.get("repository_url")),
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


def upsert_rows(
    conn: statedb.Connection, rows: Iterable[dict[str, Any]], cols: dict[str, ColumnInfo]
) -> None:
    """:func:`upsert_row` for many rows, in order: one prepared statement run over each run
    of rows that fill the same columns (usually all of them), instead of one per row."""
    for names, group in groupby((_values(row, cols) for row in rows), key=lambda nv: nv[0]):
        quoted = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        conn.executemany(
            f"INSERT OR REPLACE INTO threads ({quoted}) VALUES ({marks})",
            (values for _, values in group),
        )


def _values(row: dict[str, Any], cols: dict[str, ColumnInfo]) -> tuple[tuple[str, ...], list[Any]]:
    """The columns of this schema that ``row`` fills (NOT NULL ones we know nothing about get
    a neutral value), and their values."""
    names: list[str] = []
    values: list[Any] = []
    for name, col in cols.items():
        value = row.get(name)
        if value is not None:
            names.append(name)
            values.append(value)
        elif col.notnull and col.default is None:
            names.append(name)
            values.append(_filler(col))
    return tuple(names), values


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
