"""All-or-nothing writes to a Codex home, that survive a crash or kill -9.

Every write we make goes through a :class:`Transaction` under
``$CODEX_HOME/migration_transactions/<ID>/``. Before the first change to the home, the journal
lists every file to create, replace or append to and every DB to change, and holds a copy of
each file to replace and a snapshot of each DB (SQLite online backup). Rolling back is then
mechanical and idempotent, so it is safe to repeat after a crash during a rollback too.

States: ``preparing`` (nothing in the home touched yet) → ``prepared`` → ``applying`` →
``committed``; or ``rolled_back``. Any state but the last two is unfinished and is rolled
back by :func:`recover` before any other command touches the home.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import copy_durable, fsync_dir, replace_durable, sha256_file, truncate_to

JOURNAL = "journal.json"
UNFINISHED = ("preparing", "prepared", "applying")

#: Test hook: ``CODEX_MIGRATE_CRASH_AT=<step>`` kills the process at that step (fault injection).
CRASH_ENV = "CODEX_MIGRATE_CRASH_AT"


def crash_point(step: str) -> None:
    """Die here, as a kill -9 would, when the fault-injection variable names this step."""
    if os.environ.get(CRASH_ENV) == step:
        os._exit(137)


class TransactionError(CodexMigrateError):
    pass


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def snapshot_db(live: Path, dest: Path) -> None:
    """A consistent copy of a live DB (WAL content included) via SQLite's online backup."""
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)
    # Read-write on purpose: we hold the home's lock, and a read-only connection would leave
    # -wal/-shm files behind that SQLite otherwise removes when the last connection closes.
    src = sqlite3.connect(live, timeout=5)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


def restore_db(snapshot: Path, live: Path) -> None:
    """Put a snapshot's content back into the live DB through SQLite, so the live file, its
    WAL and any open reader stay coherent (never a file copy over a live DB)."""
    src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(live, timeout=10)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()


@dataclass
class Journal:
    id: str
    kind: str
    home: str
    state: str = "preparing"
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    creates: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    appends: dict[str, int | None] = field(default_factory=dict)
    append_mtimes: dict[str, int] = field(default_factory=dict)
    created_dirs: list[str] = field(default_factory=list)
    #: Set (and saved) just before the first DB write: until then no snapshot is restored,
    #: so a rollback leaves the DB files byte-identical.
    db_touched: bool = False
    dbs: dict[str, str] = field(default_factory=dict)  # live path -> snapshot file name
    written: dict[str, str] = field(default_factory=dict)  # rel path -> sha256 we wrote
    threads: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def load(cls, path: Path) -> Journal:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Transaction:
    """One journalled change to a home. Use: declare everything, :meth:`prepare`, apply,
    :meth:`commit`; on any exception call :meth:`rollback`."""

    def __init__(self, home: Path, kind: str, tx_root: Path) -> None:
        self.home = home
        self.dir = tx_root / new_id()
        self.journal = Journal(id=self.dir.name, kind=kind, home=str(home))
        (self.dir / "staging").mkdir(parents=True)
        self.save()

    # -- journal -----------------------------------------------------------------------
    @property
    def staging(self) -> Path:
        return self.dir / "staging"

    def save(self) -> None:
        tmp = self.dir / (JOURNAL + ".part")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.journal.to_dict(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / JOURNAL)
        fsync_dir(self.dir)

    def set_state(self, state: str) -> None:
        self.journal.state = state
        self.save()

    # -- declaring intent (state: preparing) ---------------------------------------------
    def will_create(self, rel: str) -> None:
        self.journal.creates.append(rel)
        parent = Path(rel).parent
        missing = []
        while str(parent) not in ("", ".") and not (self.home / parent).exists():
            missing.append(parent.as_posix())
            parent = parent.parent
        for d in missing:
            if d not in self.journal.created_dirs:
                self.journal.created_dirs.append(d)

    def will_replace(self, rel: str) -> None:
        """Keep a copy of the current file so a rollback can put it back."""
        copy_durable(self.home / rel, self.dir / "replaced" / rel)
        self.journal.replaces.append(rel)

    def will_remove(self, rel: str) -> None:
        copy_durable(self.home / rel, self.dir / "replaced" / rel)
        self.journal.removes.append(rel)

    def will_append(self, rel: str) -> None:
        p = self.home / rel
        self.journal.appends[rel] = p.stat().st_size if p.exists() else None
        if p.exists():
            self.journal.append_mtimes[rel] = p.stat().st_mtime_ns

    def will_change_db(self, live: Path) -> None:
        name = f"{len(self.journal.dbs)}-{live.name}"
        (self.dir / "snapshot").mkdir(exist_ok=True)
        snapshot_db(live, self.dir / "snapshot" / name)
        self.journal.dbs[str(live)] = name

    def prepare(self) -> None:
        self.set_state("prepared")
        crash_point("prepared")

    # -- applying ------------------------------------------------------------------------
    def install(self, rel: str, sha256: str) -> None:
        """Move a staged file into the home (atomic rename) and note what we wrote; call
        :meth:`sync_installed` after the last one to make the renames durable."""
        dest = self.home / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.staging / rel, dest)
        self.journal.written[rel] = sha256

    def sync_installed(self) -> None:
        for folder in {(self.home / rel).parent for rel in self.journal.written}:
            fsync_dir(folder)

    def touching_db(self) -> None:
        """Say, durably, that DB writes start now (so a rollback must restore snapshots)."""
        self.journal.db_touched = True
        self.save()

    def remove(self, rel: str) -> None:
        (self.home / rel).unlink(missing_ok=True)

    def commit(self) -> None:
        home = self.home
        self.journal.summary["sizes_after"] = {
            rel: (home / rel).stat().st_size for rel in self.journal.appends
        }
        self.set_state("committed")
        shutil.rmtree(self.staging, ignore_errors=True)

    # -- undoing -------------------------------------------------------------------------
    def rollback(self, error: str | None = None) -> None:
        rollback_journal(self.dir, self.journal, error=error)


def rollback_journal(tx_dir: Path, journal: Journal, *, error: str | None = None) -> None:
    """Undo an unfinished transaction. Idempotent: each step checks before it acts."""
    home = Path(journal.home)
    if journal.state != "preparing":
        for rel in journal.creates:
            (home / rel).unlink(missing_ok=True)
        for rel in journal.replaces + journal.removes:
            saved = tx_dir / "replaced" / rel
            if saved.exists():
                (home / rel).parent.mkdir(parents=True, exist_ok=True)
                tmp = home / (rel + ".codex-migrate-restore")
                shutil.copy2(saved, tmp)
                replace_durable(tmp, home / rel)
        for rel, size in journal.appends.items():
            truncate_to(home / rel, size, journal.append_mtimes.get(rel))
        _remove_created_dirs(home, journal)
        for live, name in journal.dbs.items() if journal.db_touched else ():
            snap = tx_dir / "snapshot" / name
            if snap.exists() and Path(live).exists():
                restore_db(snap, Path(live))
    journal.state = "rolled_back"
    journal.error = error or journal.error
    tmp = tx_dir / (JOURNAL + ".part")
    tmp.write_text(json.dumps(journal.to_dict(), indent=1), encoding="utf-8")
    os.replace(tmp, tx_dir / JOURNAL)
    shutil.rmtree(tx_dir / "staging", ignore_errors=True)


def _remove_created_dirs(home: Path, journal: Journal) -> None:
    """Folders we made for new files go too, deepest first, when they are empty."""
    for rel in sorted(journal.created_dirs, key=lambda d: d.count("/"), reverse=True):
        with contextlib.suppress(OSError):  # not empty (another's file), or gone already
            (home / rel).rmdir()


def list_transactions(tx_root: Path) -> list[tuple[Path, Journal | None]]:
    """Every transaction folder, oldest first, with its journal (None when unreadable)."""
    out: list[tuple[Path, Journal | None]] = []
    if not tx_root.is_dir():
        return out
    for d in sorted(p for p in tx_root.iterdir() if p.is_dir()):
        try:
            out.append((d, Journal.load(d / JOURNAL)))
        except (OSError, ValueError, TypeError):
            out.append((d, None))
    return out


def recover(tx_root: Path, on_recovered: Callable[[Journal], None] | None = None) -> list[str]:
    """Roll back every unfinished transaction (after a crash). The caller holds the lock."""
    done: list[str] = []
    for tx_dir, journal in list_transactions(tx_root):
        if journal is None or journal.state not in UNFINISHED:
            continue
        rollback_journal(tx_dir, journal, error="interrupted; rolled back by recovery")
        done.append(journal.id)
        if on_recovered:
            on_recovered(journal)
    return done


def changed_since_commit(journal: Journal) -> list[str]:
    """Files we wrote whose bytes changed afterwards (e.g. Codex appended a turn)."""
    home = Path(journal.home)
    changed = []
    for rel, digest in journal.written.items():
        p = home / rel
        if not p.exists() or sha256_file(p) != digest:
            changed.append(rel)
    return changed


def _restore_rows(snapshot: Path, live: Path, thread_ids: list[str]) -> None:
    """Put back, from the snapshot, only the rows of these threads: rows that other
    threads gained since (Codex kept working) are left alone."""
    conn = sqlite3.connect(live, timeout=10, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS snap", (f"file:{snapshot}?mode=ro",))
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(live, timeout=10, isolation_level=None)
        conn.execute("ATTACH DATABASE ? AS snap", (str(snapshot),))
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table'")
        ]
        snap_tables = {
            r[0] for r in conn.execute("SELECT name FROM snap.sqlite_master WHERE type='table'")
        }
        conn.execute("BEGIN IMMEDIATE")
        marks = ", ".join("?" for _ in thread_ids)
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
            key = "id" if table == "threads" else ("thread_id" if "thread_id" in cols else None)
            if key is None:
                continue
            conn.execute(f"DELETE FROM main.{table} WHERE {key} IN ({marks})", thread_ids)
            if table in snap_tables:
                snap_cols = {r[1] for r in conn.execute(f"PRAGMA snap.table_info({table})")}
                common = ", ".join(f'"{c}"' for c in cols if c in snap_cols)
                conn.execute(
                    f"INSERT INTO main.{table} ({common}) SELECT {common} FROM snap.{table}"
                    f" WHERE {key} IN ({marks})",
                    thread_ids,
                )
        conn.execute("COMMIT")
    finally:
        conn.close()


def undo_committed(tx_dir: Path, journal: Journal) -> None:
    """Undo a committed transaction, refusing when a file we wrote changed since."""
    if journal.state != "committed":
        raise TransactionError(
            f"{journal.id} is {journal.state}, not committed.",
            hint="Unfinished transactions are undone by `codex-migrate recover`.",
        )
    changed = changed_since_commit(journal)
    if changed:
        raise TransactionError(
            f"{len(changed)} file(s) changed after {journal.id} was committed "
            f"(e.g. {changed[0]}): rolling back would lose that work.",
            hint="Nothing was changed.",
        )
    home = Path(journal.home)
    for rel in journal.creates:
        (home / rel).unlink(missing_ok=True)
    for rel in journal.replaces + journal.removes:
        saved = tx_dir / "replaced" / rel
        if saved.exists():
            tmp = home / (rel + ".codex-migrate-restore")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(saved, tmp)
            replace_durable(tmp, home / rel)
    for rel, size in journal.appends.items():
        after = journal.summary.get("sizes_after", {}).get(rel)
        p = home / rel
        current = p.stat().st_size if p.exists() else None
        if after is not None and current == after:
            truncate_to(p, size, journal.append_mtimes.get(rel))  # nobody appended since
    _remove_created_dirs(home, journal)
    for live, name in journal.dbs.items():
        snap = tx_dir / "snapshot" / name
        if snap.exists() and Path(live).exists():
            _restore_rows(snap, Path(live), journal.threads)
    journal.state = "rolled_back"
    tmp = tx_dir / (JOURNAL + ".part")
    tmp.write_text(json.dumps(journal.to_dict(), indent=1), encoding="utf-8")
    os.replace(tmp, tx_dir / JOURNAL)
