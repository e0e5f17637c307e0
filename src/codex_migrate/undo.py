"""Undoing a transaction: exactly what it did, only where it is still as it left it.

One plan serves recovery (an unfinished transaction after a crash), ``transactions rollback``
(a committed one) and its ``--dry-run``, so what is shown is what is done. Each change is
recognised by its hash: a file is removed or put back only while it holds the bytes we wrote,
an appended tail is cut only while it holds the bytes we appended, a DB row is put back only
while it is as we wrote it. Everything else was written by someone after us (usually Codex)
and is kept; it is listed with what the user can do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import fsync_dir, replace_durable, sha256_file
from codex_migrate.home import CodexHome
from codex_migrate.journal import Journal, UnsafeJournal, check_paths, inside
from codex_migrate.rowlog import apply_row_undo, plan_row_undo
from codex_migrate.statedb import connect_readonly, write_transaction


class TransactionError(CodexMigrateError):
    """A transaction cannot be recovered, rolled back or deleted as asked."""

    code = "transaction"


@dataclass
class UndoPlan:
    """The steps an undo takes (each with its description) and what it must leave."""

    tx_id: str
    steps: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    refused: str | None = None

    def add(self, text: str, action: Callable[[], None]) -> None:
        self.steps.append((text, action))

    @property
    def descriptions(self) -> list[str]:
        return [text for text, _ in self.steps if text]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.tx_id,
            "undone": self.descriptions,
            "left": list(self.left),
            "refused": self.refused,
        }


LEFT_HINT = (
    "What was left was changed after this transaction (usually by Codex) and was kept. "
    "The originals this transaction replaced are in {dir}/replaced/ and a copy of each "
    "database before it in {dir}/snapshot/, if you want to compare by hand."
)


def _hash_or_none(p: Path) -> str | None:
    if p.is_symlink() or not p.is_file():
        return None if not os.path.lexists(p) else "not a regular file"
    return sha256_file(p)


def _nothing() -> None:
    """The action of a step that only says something (done by the step before it)."""


def _unlink(p: Path) -> Callable[[], None]:
    return lambda: p.unlink(missing_ok=True)


def _restore(saved: Path, dest: Path) -> Callable[[], None]:
    def run() -> None:
        tmp = dest.with_name(dest.name + ".codex-migrate-restore")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(saved, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            replace_durable(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    return run


def _file_steps(root: Path, tx_dir: Path, j: Journal, plan: UndoPlan) -> None:
    for rel in j.creates:
        p = inside(root, rel)
        cur = _hash_or_none(p)
        if cur is None:
            continue
        if cur == j.written.get(rel):
            plan.add(f"remove {rel}", _unlink(p))
        elif rel not in j.written:
            plan.left.append(f"{rel}: not written by this transaction; kept")
        else:
            plan.left.append(f"{rel}: changed after this transaction wrote it; kept")
    for rel in j.replaces + j.removes:
        p = inside(root, rel)
        saved = tx_dir / "replaced" / rel
        original = j.originals.get(rel) or (sha256_file(saved) if saved.is_file() else None)
        cur = _hash_or_none(p)
        if cur is not None and cur == original:
            continue  # never replaced, or already put back
        removed_by_us = rel in j.removes and cur is None
        if saved.is_file() and (removed_by_us or (cur is not None and cur == j.written.get(rel))):
            plan.add(f"put back {rel}", _restore(saved, p))
        elif cur is None:
            plan.left.append(f"{rel}: removed since; its original is in {saved}")
        else:
            plan.left.append(f"{rel}: changed after this transaction wrote it; kept")


def _tail_hash(p: Path, start: int, length: int) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        f.seek(start)
        left = length
        while left:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def _cut(p: Path, size: int | None, mtime_ns: int | None) -> Callable[[], None]:
    """Remove our tail when nothing follows it; never extends a file."""

    def run() -> None:
        if size is None:
            p.unlink(missing_ok=True)
            return
        if p.stat().st_size > size:
            with open(p, "rb+") as f:
                f.truncate(size)
                os.fsync(f.fileno())
        if mtime_ns is not None:
            os.utime(p, ns=(mtime_ns, mtime_ns))

    return run


def _splice(p: Path, start: int, length: int, keep_sep: bool) -> Callable[[], None]:
    """Take our bytes out of the middle (someone appended after us); theirs are kept."""

    def run() -> None:
        tmp = p.with_name(p.name + ".codex-migrate-undo")
        try:
            with open(p, "rb") as src, open(tmp, "wb") as out:
                remaining = start
                while remaining:
                    block = src.read(min(remaining, 1 << 20))
                    if not block:
                        break
                    out.write(block)
                    remaining -= len(block)
                if keep_sep:
                    out.write(b"\n")  # the line before ours was cut; keep theirs apart
                src.seek(start + length)
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            shutil.copymode(p, tmp)
            os.replace(tmp, p)
            fsync_dir(p.parent)
        finally:
            tmp.unlink(missing_ok=True)

    return run


def _append_steps(root: Path, j: Journal, plan: UndoPlan) -> None:
    for rel, info in j.appends.items():
        p = inside(root, rel)
        size, length, digest = info.get("size"), info.get("length"), info.get("sha256")
        start = size or 0
        exists = p.is_file() and not p.is_symlink()
        current = p.stat().st_size if exists else None
        if length is None or digest is None:
            if j.version == 1 and current is not None and current != start:
                plan.left.append(
                    f"{rel}: an older journal without the hash of its appended lines; "
                    f"the bytes after {start} cannot be told apart from others and were kept"
                )
            continue  # we never appended
        if current is None or current == start:
            continue  # nothing of ours there (never appended, or already cut)
        if current < start + length or _tail_hash(p, start, length) != digest:
            plan.left.append(
                f"{rel}: the {length} bytes appended after byte {start} changed since; kept"
            )
        elif current == start + length:
            text = f"cut {rel} back to {start} bytes" if size is not None else f"remove {rel}"
            plan.add(text, _cut(p, size, info.get("mtime_ns")))
        else:
            plan.add(
                f"take our {length} bytes out of {rel} (the {current - start - length} "
                "bytes appended after them are kept)",
                _splice(p, start, length, bool(info.get("sep"))),
            )


def _locate_db(home: CodexHome, name: str) -> Path | None:
    for db in (home.state_db, home.history_db):
        if db is not None and db.name == name:
            return db
    return None


def _db_steps(home: CodexHome, tx_dir: Path, j: Journal, plan: UndoPlan, live: bool) -> None:
    for entry in j.rowlogs:
        name, log_file = entry["db"], tx_dir / entry["file"]
        db = _locate_db(home, name)
        if db is None or not log_file.is_file():
            what = "this home has no such database" if db is None else "its row log is missing"
            plan.left.append(f"{name}: the rows this transaction wrote stay ({what})")
            continue
        log = json.loads(log_file.read_text(encoding="utf-8"))
        if live:
            conn = statedb.connect(db, timeout=10)
            try:
                undo = plan_row_undo(conn, log, name)
            finally:
                conn.close()
        else:
            with connect_readonly(db) as ro:
                undo = plan_row_undo(ro, log, name)
        plan.left.extend(f"{c}; kept" for c in undo.changed_since)
        if undo.restore:

            def run(db: Path = db, log: dict[str, Any] = log, name: str = name) -> None:
                with write_transaction(db, timeout=10) as conn:
                    apply_row_undo(conn, plan_row_undo(conn, log, name))

            plan.add(f"put back {len(undo.restore)} row(s) of {name}", run)
            for note in undo.new_rowid:  # said, not done: the put-back above does it
                plan.add(note, _nothing)
    if j.version == 1 and j.db_touched:
        plan.left.append(
            "database rows written by this transaction (an older journal without row "
            f"records) stay; a copy of each database before it is in {tx_dir / 'snapshot'}"
        )


def plan_undo(home: CodexHome, tx_dir: Path, j: Journal, *, live: bool = True) -> UndoPlan:
    """Everything undoing ``j`` in ``home`` would do, computed without writing. ``live``
    reads the DB directly (under our lock); otherwise through a private copy."""
    plan = UndoPlan(j.id)
    try:
        check_paths(home.root, j)
    except UnsafeJournal as exc:
        plan.refused = exc.message
        return plan
    if j.state == "preparing":
        return plan  # nothing in the home is touched before the journal says "prepared"
    for rel in [*j.appends, *j.replaces, *j.removes]:
        p = inside(home.root, rel)
        for leftover in (p.name + ".codex-migrate-undo", p.name + ".codex-migrate-restore"):
            # our own temp file, from a rollback killed half way: never anyone else's
            plan.steps.append(("", _unlink(p.with_name(leftover))))
    _db_steps(home, tx_dir, j, plan, live)
    _append_steps(home.root, j, plan)
    _file_steps(home.root, tx_dir, j, plan)
    for rel in sorted(j.created_dirs, key=lambda d: d.count("/"), reverse=True):
        d = inside(home.root, rel)

        def rmdir(d: Path = d) -> None:
            with contextlib.suppress(OSError):  # not empty (another's file), or gone
                d.rmdir()

        plan.steps.append(("", rmdir))
    return plan


def execute(plan: UndoPlan, tx_dir: Path, j: Journal, *, error: str | None = None) -> None:
    """Run the steps and mark the journal rolled back. A failure (a full disk) leaves the
    journal unfinished: a later ``recover`` repeats what is left, each step checking first."""
    shutil.rmtree(tx_dir / "staging", ignore_errors=True)  # frees space first
    for _, action in plan.steps:
        action()
    j.state = "rolled_back"
    j.error = error or j.error
    j.left = list(plan.left)
    j.save(tx_dir)
