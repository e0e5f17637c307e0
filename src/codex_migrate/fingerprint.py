"""What a plan read from the target, re-checked under the lock right before the first write.

A plan is built before the prompt and before the lock; while the user reads it, Codex or
another import may extend a thread or rewrite a row. Writing the stale plan would overwrite
that work ("1 replaced"), so every plan keeps the size, mtime and SHA-256 of each target file
it compared (or that the file was absent) and the DB rows it will change; if any moved,
nothing is written and the user sees the new plan.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.errors import EXIT_STALE, CodexMigrateError
from codex_migrate.fsutil import sha256_file
from codex_migrate.rowlog import _encode

FileState = tuple[int, int, str] | None


class TargetChanged(CodexMigrateError):
    exit_code = EXIT_STALE
    code = "target-changed"

    def __init__(self, changes: list[str]) -> None:
        listed = "\n  ".join(changes[:10])
        more = f"\n  … and {len(changes) - 10} more" if len(changes) > 10 else ""
        super().__init__(
            f"the target changed since the preview; nothing was written:\n  {listed}{more}",
            hint="Run the command again to see the new plan.",
            params={"count": len(changes)},
        )
        self.changes = changes


def file_state(path: Path | str) -> FileState:
    """Size, mtime and hash of a regular file; None when there is none."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    digest = sha256_file(path) if os.path.isfile(path) else "not a regular file"
    return (st.st_size, st.st_mtime_ns, digest)


def _in_absent_folder(root: Path, rel: str, absent: dict[str, bool]) -> bool:
    """Whether ``rel``'s folder is absent (so ``rel`` is too): one ``lstat`` a folder for all
    its files, noted in ``absent`` (folder -> absent) for the next file asked about."""
    folder = rel.rpartition("/")[0]
    gone = absent.get(folder)
    if gone is None:
        gone = False
        if folder:
            try:
                os.lstat(os.path.join(root, folder))
            except FileNotFoundError:
                gone = True
        absent[folder] = gone
    return gone


def _row(conn: statedb.Connection, thread_id: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,))
    got = cur.fetchone()
    if got is None:
        return None
    return {d[0]: _encode(v) for d, v in zip(cur.description, got, strict=True)}


def _rows(conn: statedb.Connection, ids: list[str]) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """:func:`_row` of each id, a few hundred to a query. The batch is trusted only when it
    cannot differ from ``id = ?`` one at a time: every row it found is one asked for by its
    exact id, and no two ids asked for differ only in case or trailing spaces (the built-in
    collations a schema could give the column); otherwise each id is asked alone."""
    for n in range(0, len(ids), 500):
        chunk = ids[n : n + 500]
        cur = conn.execute(
            f"SELECT * FROM threads WHERE id IN ({', '.join('?' for _ in chunk)})", chunk
        )
        names = [d[0] for d in cur.description]
        found = {
            str(r[names.index("id")]): {k: _encode(v) for k, v in zip(names, r, strict=True)}
            for r in cur
        }
        loose = {i.lower().rstrip(" ") for i in chunk}
        if set(found) <= set(chunk) and len(loose) == len(chunk):
            yield from ((tid, found.get(tid)) for tid in chunk)
        else:
            yield from ((tid, _row(conn, tid)) for tid in chunk)


@dataclass
class Fingerprint:
    root: Path
    files: dict[str, FileState] = field(default_factory=dict)
    #: thread id as stored (or as we would store it) -> the row as read, None when absent.
    rows: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    #: other single values the plan relied on, e.g. the backfill status.
    values: dict[str, Any] = field(default_factory=dict)

    def add_file(self, rel: str, absent: dict[str, bool] | None = None) -> None:
        """``absent``: the caller's note of which folders were found absent (then so is
        ``rel``), for many files added at once (a plan's thousands of new files)."""
        if rel in self.files:
            return
        if absent is not None and _in_absent_folder(self.root, rel, absent):
            self.files[rel] = None
            return
        self.files[rel] = file_state(os.path.join(self.root, rel))

    def add_row(self, thread_id: str, row: dict[str, Any] | None) -> None:
        key = str(row["id"]) if row and "id" in row else thread_id
        self.rows[key] = {k: _encode(v) for k, v in row.items()} if row is not None else None

    def changes(self, db: Path | None) -> list[str]:
        """What differs now from what the plan read (empty: the plan still holds)."""
        out = []
        absent: dict[str, bool] = {}  # folder -> whether it is absent (then so are its files)
        for rel, then in self.files.items():
            # an import's thousands of new files share a few hundred folders
            if then is None and _in_absent_folder(self.root, rel, absent):
                continue  # still absent, as the plan saw it
            now = file_state(os.path.join(self.root, rel))
            if now != then:
                if then is None:
                    out.append(f"{rel} appeared")
                elif now is None:
                    out.append(f"{rel} was removed")
                else:
                    out.append(f"{rel} changed ({then[0]} -> {now[0]} bytes)")
        if self.rows and db is not None and db.exists():
            # read-write on purpose (we hold the lock): SQLite then removes its -wal/-shm
            conn = statedb.connect(db, timeout=10)
            try:
                for tid, now_row in _rows(conn, list(self.rows)):
                    if now_row != self.rows[tid]:
                        out.append(f"the DB row of thread {tid} changed")
            except statedb.DBError as exc:
                out.append(f"{db.name} cannot be read: {exc}")
            finally:
                conn.close()
        return out

    def recheck(self, db: Path | None) -> None:
        """Raise :class:`TargetChanged` when anything the plan read moved."""
        changed = self.changes(db)
        if changed:
            raise TargetChanged(changed)
