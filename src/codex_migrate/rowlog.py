"""Row images of our DB writes, so a rollback undoes exactly our rows and nothing else.

Before a write changes rows, :class:`RowLog` records them as they were; right before the
write commits it records a digest of each as we left them (a row we only compare needs no
image, so an import of thousands of new threads journals keys and digests, not rows). A
rollback then looks at each row: still as we left it → put back what was there (delete a row
we inserted); as it was before → nothing to do (the write never committed); anything else →
someone changed it since, and it is kept. Whole-file snapshots are never restored: they would
throw away every row written after us.

A row put back keeps its rowid too (a table whose key is not its rowid logs the rowid of each
row it had, beside the image: an upsert or a delete gave that rowid up), unless another row
holds it by then: then it comes back under a new one, and the plan says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.jsontext import sorted_utf8
from codex_migrate.rowlog_text import Change, by_value, change_dict, change_text

ROWID = "__rowid"

Row = dict[str, Any]


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


def digest(row: Row | None) -> dict[str, str] | None:
    """What the journal keeps of a row as we left it: enough to recognise it, nothing more."""
    return None if row is None else {"$sha256": _sha(row)}


def _sha(row: Row) -> str:
    return hashlib.sha256(sorted_utf8(row)).hexdigest()


def _plain(text: str) -> bool:
    """Whether JSON writes ``text`` as it is (no escape, in json.dumps's ASCII output)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _same(current: Row | None, logged: Any) -> bool:
    """``current`` is the row the log recorded (an image, or the digest of one)."""
    if isinstance(logged, dict) and set(logged) == {"$sha256"}:
        return digest(current) == logged
    return bool(current == logged)


def key_columns(conn: statedb.Connection, table: str) -> list[str]:
    """The primary key's columns, or the rowid for a table without one."""
    pk = sorted((r[5], r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")') if r[5])
    return [name for _, name in pk] or [ROWID]


def own_rowid(conn: statedb.Connection, table: str, keys: list[str]) -> bool:
    """Whether ``table`` has a rowid that none of its columns holds (a key that is not the
    rowid, no ``INTEGER PRIMARY KEY`` alias, not ``WITHOUT ROWID``): a row deleted and
    put back by its values alone would come back under a new one."""
    if keys == [ROWID]:
        return False  # the rowid is the key, in the image already
    info = list(conn.execute(f'PRAGMA table_info("{table}")'))
    if any(r[1].lower() in ("rowid", "oid", "_rowid_") for r in info):
        return False  # a column shadows the name
    pk = [r for r in info if r[5]]
    if len(pk) == 1 and str(pk[0][2]).upper() == "INTEGER":
        return False  # the key column is the rowid
    try:
        conn.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
    except statedb.OperationalError:
        return False  # WITHOUT ROWID
    return True


def _select(
    conn: statedb.Connection, table: str, keys: list[str], where: str, rowid: bool = False
) -> str:
    cols = f'rowid AS "{ROWID}", *' if keys == [ROWID] or rowid else "*"
    return f'SELECT {cols} FROM "{table}" WHERE {where}'


def _rows(cur: statedb.Cursor) -> list[Row]:
    names = [d[0] for d in cur.description]
    # SQLite gives a blob as bytes; a row without one (nearly all) needs no value encoded
    return [
        {n: _encode(v) for n, v in zip(names, r, strict=True)}
        if bytes in map(type, r)
        else dict(zip(names, r, strict=True))
        for r in cur
    ]


def _digested(cur: statedb.Cursor) -> Iterator[tuple[Row, bytes]]:
    """Each row of ``cur`` as :func:`_rows` gives it, but its keys in sorted order, with the
    SHA-256 of its :func:`sorted_utf8` text: made in that order, the row needs no sort for
    the text (thousands of rows read back as an import writes them)."""
    names = [d[0] for d in cur.description]
    order = sorted(range(len(names)), key=names.__getitem__)  # stable: as sort_keys
    keys = [names[n] for n in order]
    pick: Callable[[Any], Any] = itemgetter(*order) if len(order) > 1 else lambda r: (r[0],)
    for r in cur:
        values = pick(r)
        if bytes in map(type, values):
            row = {k: _encode(v) for k, v in zip(keys, values, strict=True)}
        else:
            row = dict(zip(keys, values, strict=True))
        yield row, hashlib.sha256(sorted_utf8(row, keys_sorted=True)).digest()


@dataclass
class _Watch:
    table: str
    where: str
    params: tuple[Any, ...]
    #: a watch of keys (:meth:`RowLog.watch_keys`): its column, so its rows can be settled
    column: str | None = None


@dataclass
class RowLog:
    """The rows one SQLite write transaction changes, before and after."""

    conn: statedb.Connection
    watches: list[_Watch] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)
    before: dict[str, dict[str, Row]] = field(default_factory=dict)
    #: digests of the rows as we leave them (bytes: half the memory of the hex we log)
    after: dict[str, dict[str, bytes]] = field(default_factory=dict)
    #: (table, column) -> each value watched by :meth:`watch_keys` -> whether it is settled,
    #: or its row's digest when its row's key is it (no key text kept: ~0.13 KB a thread)
    watched: dict[tuple[str, str], dict[Any, bool | bytes]] = field(default_factory=dict)
    #: table -> key -> the rowid of the row before (tables where :func:`own_rowid`)
    rowids: dict[str, dict[str, int]] = field(default_factory=dict)

    def _key(self, table: str, row: Row) -> str:
        keys = self.keys[table]
        if len(keys) == 1:
            value = row[keys[0]]
            if type(value) is str and _plain(value):
                return f'["{value}"]'  # what json.dumps writes for it, at a fraction
        return json.dumps([row[k] for k in keys])

    def watch_keys(self, table: str, column: str, values: list[Any]) -> None:
        """:meth:`watch` of the rows whose ``column`` is one of ``values``, a few hundred
        to a query."""
        state = self.watched.setdefault((table, column), {})
        for value in values:
            state.setdefault(value, False)  # a value settled already stays settled
        for n in range(0, len(values), 500):
            chunk = values[n : n + 500]
            marks = ", ".join("?" for _ in chunk)
            self.watch(table, f'"{column}" IN ({marks})', chunk, column)

    def settle(self, table: str, column: str, values: list[Any]) -> None:
        """Take now the digests of the watched rows whose ``column`` is one of ``values``,
        which the caller has written for the last time in this transaction (an import does
        it as each batch of rows goes in, while its workers stage): :meth:`finish` then
        need not read every row again at the end, when nothing else is going on."""
        state = self.watched.get((table, column), {})
        wanted = [v for v in values if v in state]
        if not wanted:
            return
        got = self.after.setdefault(table, {})
        marks = ", ".join("?" for _ in wanted)
        query = _select(self.conn, table, self.keys[table], f'"{column}" IN ({marks})')
        direct = set(wanted) if self.keys[table] == [column] else ()
        for row, sha in _digested(self.conn.execute(query, wanted)):
            value = row[column]
            if value in direct and type(value) is str and _plain(value):
                state[value] = sha  # its key is ["value"]: see rowlog_text.by_value
            else:
                got[self._key(table, row)] = sha
        for value in wanted:
            if state[value] is False:
                state[value] = True

    def watch(
        self, table: str, where: str, params: Iterable[Any] = (), column: str | None = None
    ) -> None:
        """Record the rows ``where`` selects, before this transaction changes them."""
        if table not in self.keys:
            self.keys[table] = key_columns(self.conn, table)
            self.before[table] = {}
            if own_rowid(self.conn, table, self.keys[table]):
                self.rowids[table] = {}
        w = _Watch(table, where, tuple(params), column)
        self.watches.append(w)
        seen = self.before[table]
        rowids = self.rowids.get(table)
        query = _select(self.conn, table, self.keys[table], where, rowids is not None)
        for row in _rows(self.conn.execute(query, w.params)):
            if rowids is None:
                seen.setdefault(self._key(table, row), row)
                continue
            rowid = row.pop(ROWID)
            key = self._key(table, row)
            if key not in seen:
                seen[key] = row
                rowids[key] = rowid

    def finish(self) -> dict[str, Any]:
        """Read the watched rows as we leave them; the JSON the journal keeps: each changed
        row's key, its image before (to put back) and the digest of it after (to compare)."""
        return {
            "tables": [
                {"table": table, "keys": keys, "rows": rows}
                for table, keys, changed in self._changes()
                if (rows := [change_dict(*c) for c in changed])
            ]
        }

    def write(self, path: Path) -> None:
        """:meth:`finish`, written durably to ``path`` as compact JSON (the same bytes as
        ``json.dumps(finish(), separators=(",", ":"))``), one row at a time: an import of
        thousands of threads never holds the whole log as objects and text at once."""
        tmp = path.with_name(path.name + ".part")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write('{"tables":[')
                first_table = True
                for table, keys, changed in self._changes():
                    first = next(changed, None)
                    if first is None:
                        continue
                    head = json.dumps({"table": table, "keys": keys}, separators=(",", ":"))
                    f.write(("" if first_table else ",") + head[:-1] + ',"rows":[')
                    f.write(change_text(len(keys), *first))
                    for change in changed:
                        f.write("," + change_text(len(keys), *change))
                    f.write("]}")
                    first_table = False
                f.write("]}")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _changes(self) -> Iterator[tuple[str, list[str], Iterator[Change]]]:
        """Per table: its key columns and each changed row (its key as JSON, its image
        before, the digest after, its rowid before where logged), in key order."""
        for w in self.watches:
            if w.column is not None:
                state = self.watched.get((w.table, w.column), {})
                if all(state.get(p, False) for p in w.params):
                    continue  # its rows' digests were taken when they were written last
            keys = self.keys[w.table]
            got = self.after.setdefault(w.table, {})
            query = _select(self.conn, w.table, keys, w.where)
            for row, sha in _digested(self.conn.execute(query, w.params)):
                got[self._key(w.table, row)] = sha
        for table, keys in self.keys.items():
            before, after = self.before[table], self.after.get(table, {})
            rowids = self.rowids.get(table, {})
            direct = [m for (t, c), m in self.watched.items() if t == table and keys == [c]]
            new = by_value(direct[0]) if len(direct) == 1 and not (before or after) else None
            if new is not None:
                yield table, keys, new
                continue
            if direct:  # by their keys' text; a digest read again at the end is the newer
                kept = ((v, d) for m in direct for v, d in m.items() if type(d) is bytes)
                after = {f'["{v}"]': d for v, d in kept} | after

            def changed(
                before: dict[str, Row] = before,
                after: dict[str, bytes] = after,
                rowids: dict[str, int] = rowids,
            ) -> Iterator[Change]:
                # (no set of both when nothing was there before, as for an import's new
                # threads: its table is ~50 bytes a row at the import's peak)
                for k in sorted(before.keys() | after.keys() if before else after):
                    was, now = before.get(k), after.get(k)
                    hex_now = None if now is None else now.hex()
                    if (None if was is None else _sha(was)) != hex_now:
                        yield k, was, hex_now, rowids.get(k)

            yield table, keys, changed()


@dataclass
class RowUndo:
    """What undoing one DB's row log would do: rows to put back (table, key columns, key,
    image before, rowid before), rows left alone, rows whose rowid another row holds now."""

    restore: list[tuple[str, list[str], list[Any], Row | None, int | None]] = field(
        default_factory=list
    )
    changed_since: list[str] = field(default_factory=list)
    already: int = 0
    new_rowid: list[str] = field(default_factory=list)


def _where(keys: list[str]) -> str:
    return " AND ".join(("rowid" if k == ROWID else f'"{k}"') + " IS ?" for k in keys)


def plan_row_undo(conn: statedb.Connection, log: dict[str, Any], db_name: str) -> RowUndo:
    """Compare every logged row with the DB as it is now (no writes)."""
    out = RowUndo()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for entry in log.get("tables", []):
        table, keys = entry["table"], entry["keys"]
        for change in entry["rows"]:
            key, before, after = change["key"], change["before"], change["after"]
            current = None
            if table in tables:
                got = _rows(conn.execute(_select(conn, table, keys, _where(keys)), key))
                current = got[0] if got else None
            if current == before:
                out.already += 1
            elif _same(current, after):
                out.restore.append((table, keys, key, before, change.get("rowid")))
            else:
                out.changed_since.append(f"{db_name}: {table} row {_label(key)} changed since")
    freed: dict[str, set[tuple[Any, ...]]] = {}
    for table, _, key, _, _ in out.restore:
        freed.setdefault(table, set()).add(tuple(key))
    for table, keys, key, before, rowid in out.restore:
        if before is not None and rowid is not None:
            cols = ", ".join(f'"{k}"' for k in keys)
            holder = conn.execute(f'SELECT {cols} FROM "{table}" WHERE rowid = ?', (rowid,))
            held = holder.fetchone()
            if held is not None and tuple(held) not in freed[table]:
                out.new_rowid.append(
                    f"{db_name}: {table} row {_label(key)} comes back under a new rowid "
                    f"(another row holds its rowid {rowid} now)"
                )
    return out


def _label(key: list[Any]) -> str:
    return ", ".join(str(k) for k in key)


def apply_row_undo(conn: statedb.Connection, undo: RowUndo) -> int:
    """Put the rows back, inside the caller's write transaction: every delete first, in the
    reverse of the order the tables were written (a projection's state row first, as Codex's
    cleanup trigger expects), then every insert in that order (the state row last), each
    under its old rowid where that is free."""
    for table, keys, key, _, _ in reversed(undo.restore):
        conn.execute(f'DELETE FROM "{table}" WHERE {_where(keys)}', key)
    for table, _, _, before, rowid in undo.restore:
        if before is not None:
            names = [("rowid" if n == ROWID else f'"{n}"') for n in before]
            values = [_decode(v) for v in before.values()]
            if rowid is not None and not _held(conn, table, rowid):
                names.insert(0, "rowid")
                values.insert(0, rowid)
            marks = ", ".join("?" for _ in values)
            conn.execute(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})', values)
    return len(undo.restore)


def _held(conn: statedb.Connection, table: str, rowid: int) -> bool:
    return conn.execute(f'SELECT 1 FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone() is not None
