"""All-or-nothing writes to a Codex home, that survive a crash or kill -9.

Every write we make goes through a :class:`Transaction` under
``$CODEX_HOME/migration_transactions/<ID>/``. Before the first change to the home, the journal
(:mod:`codex_migrate.journal`) lists every file to create, replace or append to, with a copy
of each file to replace and a safety copy of each DB; before each change it records how to
recognise that change as ours (hashes, row images). Undoing (:mod:`codex_migrate.undo`) is
then exact and idempotent, so it is safe to repeat after a crash during a rollback too.

States: ``preparing`` (nothing in the home touched yet) → ``prepared`` → ``applying`` →
``committed``; or ``rolled_back``. Any state but the last two is unfinished and is rolled
back by :func:`codex_migrate.recovery.recover` before any other command touches the home.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.fsutil import (
    check_regular,
    copy_durable,
    fsync_dir,
    open_regular,
    sha256_file,
    syncfs,
)
from codex_migrate.home import CodexHome
from codex_migrate.journal import JOURNAL, UNFINISHED, Journal
from codex_migrate.rowlog import RowLog
from codex_migrate.statedb import write_transaction
from codex_migrate.undo import TransactionError, UndoPlan, execute, plan_undo

__all__ = ["JOURNAL", "UNFINISHED", "Journal", "Transaction", "TransactionError", "UndoPlan"]

#: Test hook: ``CODEX_MIGRATE_CRASH_AT=<step>`` kills the process at that step (fault injection).
CRASH_ENV = "CODEX_MIGRATE_CRASH_AT"


def crash_point(step: str) -> None:
    """Die here, as a kill -9 would, when the fault-injection variable names this step."""
    if os.environ.get(CRASH_ENV) == step:
        os._exit(137)


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def snapshot_db(live: Path, dest: Path) -> None:
    """A consistent copy of a live DB (WAL content included) via SQLite's online backup."""
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        # Read-write on purpose: we hold the home's lock, and a read-only connection would
        # leave -wal/-shm files behind that SQLite otherwise removes when the last one closes.
        src = statedb.connect(live, timeout=5)
        try:
            dst = statedb.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(dest.parent)


class Transaction:
    """One journalled change to a home. Use: declare everything, :meth:`prepare`, apply,
    :meth:`commit`; on any exception call :meth:`rollback`."""

    def __init__(self, home: CodexHome, kind: str) -> None:
        self.home = home
        self.root = home.root
        self.dir = home.transactions_dir / new_id()
        self.journal = Journal(id=self.dir.name, kind=kind, home=str(home.root))
        self._staging = self.dir / "staging"
        self._staging_name = os.path.join(str(self._staging), "")  # ends in a separator
        self._root = str(self.root)
        self._made: set[str] = set()
        self._looked: set[str] = set(self.journal.created_dirs)
        self.committed = False  # True once the journal says so on disk
        self._background: list[threading.Thread] = []  # see _waited
        try:
            (self.dir / "staging").mkdir(parents=True)
            self.save()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)  # never a journal-less folder
            raise

    # -- journal -----------------------------------------------------------------------
    @property
    def staging(self) -> Path:
        return self._staging

    def save(self) -> None:
        self.journal.save(self.dir)

    def set_state(self, state: str) -> None:
        self.journal.state = state
        self.save()

    # -- declaring intent (state: preparing) ---------------------------------------------
    def will_create(self, rel: str) -> None:
        self.journal.creates.append(rel)
        parent = rel.rpartition("/")[0]  # looked at once: thousands of files share a few
        while parent and parent not in self._looked:
            self._looked.add(parent)
            if os.path.exists(os.path.join(self.root, parent)):
                break
            self.journal.created_dirs.append(parent)
            parent = parent.rpartition("/")[0]

    def _keep_original(self, rel: str) -> None:
        saved = self.dir / "replaced" / rel
        copy_durable(self.root / rel, saved)
        self.journal.originals[rel] = sha256_file(saved)

    def will_replace(self, rel: str) -> None:
        """Keep a copy of the current file (and its hash) so a rollback can put it back."""
        self._keep_original(rel)
        self.journal.replaces.append(rel)

    def will_remove(self, rel: str) -> None:
        self._keep_original(rel)
        self.journal.removes.append(rel)

    def will_append(self, rel: str) -> None:
        p = self.root / rel
        st = p.stat() if p.exists() else None
        self.journal.appends[rel] = {
            "size": st.st_size if st else None,
            "mtime_ns": st.st_mtime_ns if st else None,
            "length": None,
            "sha256": None,
        }

    def will_change_db(self, live: Path) -> None:
        """A safety copy of the DB before we change it, kept for people to compare: it is
        never restored over the live DB (that would drop every row written after us)."""
        name = f"{len(self.journal.dbs)}-{live.name}"
        (self.dir / "snapshot").mkdir(exist_ok=True)
        snapshot_db(live, self.dir / "snapshot" / name)
        self.journal.dbs[live.name] = name

    def will_install(self, written: dict[str, str]) -> None:
        """The hash of each staged file, saved before any of them is moved into the home, so
        a rollback recognises our files even after a crash in the middle of the moves. The
        first dict is taken as it is (not copied: an import's thousands of entries), so the
        caller must not change it afterwards."""
        if self.journal.written:
            self.journal.written.update(written)
        else:
            self.journal.written = written

    def prepare(self) -> None:
        self.set_state("prepared")
        crash_point("prepared")

    # -- applying ------------------------------------------------------------------------
    def install(self, rel: str, staged: Path | str | None = None) -> None:
        """Move a staged file (``staged``, else ``staging/<rel>``) into the home (atomic
        rename); call :meth:`sync_installed` after the last one to make the renames durable."""
        if self._background:
            self._waited()  # the folders made meanwhile
        dest = os.path.join(self._root, rel)
        folder = os.path.dirname(dest)
        if folder not in self._made:
            try:
                os.mkdir(folder)  # one call for a new day folder (its parent made just before)
            except OSError:
                os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        os.replace(staged if staged is not None else self.staging / rel, dest)

    def staged_path(self, rel: str) -> Path:
        """Where to stage the new content of ``rel``: flat in ``staging/`` (rollout names
        are unique by thread id), so no folder tree is made there and removed again."""
        return Path(self.staged_name(rel))

    def staged_name(self, rel: str) -> str:
        """:meth:`staged_path` as a string, joined as ``os.path.join`` would (the flat name
        never starts with ``/``) without its checks: an import asks three times a file."""
        return self._staging_name + rel.replace("/", "__")

    def sync_installed(self) -> None:
        """Make the renames durable: one ``syncfs`` of the home's file system where the
        platform has it (one call instead of an fsync per day folder), else each folder."""
        if not self.journal.written or syncfs(self.root):
            return
        for folder in {(self.root / rel).parent for rel in self.journal.written}:
            fsync_dir(folder)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def append_all(self, files: dict[str, tuple[list[bytes], int | None]]) -> None:
        """Append whole lines to each file (rel -> lines, the mode of a file made new); the
        journal first records exactly which bytes go to each (a newline first if its last
        line was cut, so ours never glue onto it), all in one save: each save rewrites the
        whole journal (thousands of files) and waits for the disk twice."""
        todo = []
        for rel, (lines, mode) in files.items():
            path = self.root / rel
            info = self.journal.appends[rel]
            sep = b""
            if path.exists():
                check_regular(path)  # a FIFO would block the append forever
            if path.exists() and path.stat().st_size:
                with open_regular(path) as r:
                    r.seek(-1, os.SEEK_END)
                    if r.read(1) != b"\n":
                        sep = b"\n"
            data = sep + b"".join(lines)
            info.update(length=len(data), sha256=hashlib.sha256(data).hexdigest(), sep=len(sep))
            todo.append((path, info, data, mode))
        self.save()
        for path, info, data, mode in todo:
            _append(path, info, data, mode)

    @contextlib.contextmanager
    def db_write(self, live: Path) -> Iterator[RowLog]:
        """One SQLite write transaction whose row images are journalled before it commits:
        a rollback then undoes exactly these rows, and only while they are as we left them."""
        with write_transaction(live) as conn:
            log = RowLog(conn)
            yield log
            name = f"rows-{len(self.journal.rowlogs)}.json"
            log.write(self.dir / name)
            self.journal.rowlogs.append({"db": live.name, "file": name})
            self.save()

    def make_folders(self) -> None:
        """Start making the new folders the journal lists (prepared: a rollback removes them
        while empty) on a thread, as the caller stages: an ext4 ``mkdir`` costs ~0.1 ms of
        CPU, which the installs would spend after the staging. A failure is left to them."""
        if self.journal.state != "prepared" or not self.journal.created_dirs:
            return
        rels = sorted(self.journal.created_dirs, key=lambda rel: rel.count("/"))  # parents first
        self._in_background("folders", self._make, [os.path.join(self._root, r) for r in rels])

    def _make(self, folders: list[str]) -> None:
        for folder in folders:
            try:
                os.mkdir(folder)
            except FileExistsError:
                continue  # made meanwhile: install looks again
            except OSError:
                return
            self._made.add(folder)

    def clear_staging(self) -> None:
        """Start removing the emptied staging folder on a thread: one that held thousands of
        names takes tens of ms on ext4 (its journal), while the caller commits and verifies."""
        self._in_background("staging", shutil.rmtree, self.staging, True)  # ignore_errors

    def _in_background(self, name: str, fn: Callable[..., object], *args: object) -> None:
        thread = threading.Thread(target=fn, args=args, name=f"codex-migrate-{name}")
        thread.start()
        self._background.append(thread)

    def waits_for(self, thread: threading.Thread) -> None:
        """A started ``thread`` that only reads what this transaction wrote (a check): the
        commit and a rollback wait for it too."""
        self._background.append(thread)

    def _waited(self) -> None:
        """The first install, the commit and a rollback wait for those threads."""
        while self._background:
            self._background.pop().join()

    def commit(self) -> None:
        with _ctrl_c_deferred():  # the journal on disk and the flag say the same
            self.set_state("committed")
            # From here the write is whole (a kill -9 keeps it): an error or a Ctrl-C in the
            # clean-up must not undo it (see abort); only `transactions rollback` does.
            self.committed = True
        self._waited()
        shutil.rmtree(self.staging, ignore_errors=True)

    # -- undoing -------------------------------------------------------------------------
    def rollback(self, error: str | None = None) -> UndoPlan:
        """Undo what this transaction did so far. May itself fail (a full disk): then the
        journal stays unfinished and ``recover`` finishes the job later."""
        self._waited()
        plan = plan_undo(self.home, self.dir, self.journal)
        execute(plan, self.dir, self.journal, error=error)
        return plan


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Take a Ctrl-C that arrives in this block at its end, not in the middle (a Ctrl-C is
    raised only in the main thread, and a handler can be set only there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        signal.raise_signal(signal.SIGINT)  # to the handler put back: KeyboardInterrupt


def _append(path: Path, info: dict[str, Any], data: bytes, mode: int | None) -> None:
    """Append ``data`` (declared in the journal as ``info``) to ``path`` and fsync it."""
    new = not path.exists()
    start = info["size"] or 0
    try:
        with open(path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        # A short write (full disk) leaves part of ours, which no hash recognises: cut it
        # now, while we hold the lock and nobody else has appended.
        with contextlib.suppress(OSError):
            if new:
                path.unlink()
            elif path.stat().st_size > start:
                os.truncate(path, start)
                if info["mtime_ns"] is not None:
                    os.utime(path, ns=(info["mtime_ns"], info["mtime_ns"]))
        raise
    if new and mode is not None:
        os.chmod(path, mode)


def list_transactions(tx_root: Path) -> list[tuple[Path, Journal | None]]:
    """Every transaction folder, oldest first, with its journal (None when unreadable)."""
    out: list[tuple[Path, Journal | None]] = []
    if not tx_root.is_dir():
        return out
    for d in sorted(p for p in tx_root.iterdir() if p.is_dir() and not p.is_symlink()):
        try:
            out.append((d, Journal.load(d / JOURNAL)))
        except (OSError, ValueError, TypeError):
            out.append((d, None))
    return out
