"""Knowing when a home is in use, and holding our own lock on it.

Measured (docs/STORAGE.md §4): an idle Codex holds no write lock on its DB, so a lock test alone
cannot tell that Codex runs. A running Codex keeps ``state_5.sqlite`` open, so we look at the
open files of running processes (a process's ``CODEX_HOME`` is not read), and also try a short
write lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from codex_migrate import statedb
from codex_migrate.errors import CodexMigrateError, HomeInUse

LOCK_NAME = "lock"
DB_LOCK_TIMEOUT = 2.0


@dataclass
class CodexProcess:
    pid: int
    name: str
    reason: str


def running_codex(home: Path) -> list[CodexProcess]:
    """Processes that use ``home`` as their Codex home (psutil; empty if it is unavailable)."""
    home = home.resolve()
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd"):
        return _holders_from_proc(home)
    return _holders_from_psutil(home)


def _holders_from_psutil(home: Path) -> list[CodexProcess]:
    """:func:`running_codex` elsewhere (macOS, Windows): each process's open files as psutil
    names them. A ``state_*.sqlite*`` file counts when it is right in ``home`` or, as on
    Linux, when it is one of the home's DB files by (device, inode) whatever the path says
    (macOS names a file by its firmlinked path, /System/Volumes/Data/Users/..., or through
    a link to the home's folder)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return []
    ours = _state_db_ids(home)
    found: list[CodexProcess] = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["pid"] == me:
            continue
        try:
            for f in proc.open_files():
                p = Path(f.path)
                if _is_state_db_name(p.name) and (p.parent == home or _same_file(f.path, ours)):
                    found.append(CodexProcess(proc.pid, proc.info["name"] or "?", str(p)))
                    break
        except (psutil.Error, OSError):
            continue
    return found


def _is_state_db_name(name: str) -> bool:
    """A state DB's file name (``state_5.sqlite`` and its ``-wal``/``-shm``)."""
    return name.startswith("state_") and ".sqlite" in name


_DELETED = " (deleted)"


def _holders_from_proc(home: Path) -> list[CodexProcess]:
    """:func:`running_codex` on Linux, from ``/proc/<pid>/fd`` directly: the links' targets
    are all we compare, where psutil also reads each open file's position and flags and
    stats it (40 ms of a write's start-up, before anything else can begin). The same files
    count: a regular file named ``state_*.sqlite*`` right in ``home``, a deleted one (the
    kernel's `` (deleted)`` suffix) as psutil counts it, when a file is at its name again
    (a DB replaced under a running Codex), and one of the home's DB files opened by another
    path (a bind mount; the name still ``state_*.sqlite*``)."""
    want = str(home)
    ours = _state_db_ids(home)
    found: list[CodexProcess] = []
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # not ours to look at, or gone
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.endswith(_DELETED) and not os.path.exists(target):
                target = target[: -len(_DELETED)]
            folder, _, name = target.rpartition("/")
            if not _is_state_db_name(name):
                continue
            if ((folder or "/") == want and os.path.isfile(target)) or _same_file(
                f"{fd_dir}/{fd}", ours
            ):
                found.append(CodexProcess(int(pid), _process_name(int(pid)), target))
                break
    return found


def _state_db_ids(home: Path) -> set[tuple[int, int]]:
    """The (device, inode) of each ``state_*.sqlite*`` file of ``home``: a process that
    opened one through another path (a bind mount, a container's view) holds one of them."""
    try:
        with os.scandir(home) as entries:
            return {
                (st.st_dev, st.st_ino)
                for e in entries
                if _is_state_db_name(e.name) and e.is_file()
                for st in (e.stat(),)
            }
    except OSError:
        return set()


def _same_file(fd_link: str, ids: set[tuple[int, int]]) -> bool:
    """Whether the file open at ``/proc/<pid>/fd/<n>`` (or found at a path) is one of ``ids``."""
    if not ids:
        return False
    try:
        st = os.stat(fd_link)  # the open file itself, whatever path it was opened by
    except OSError:
        return False
    return (st.st_dev, st.st_ino) in ids


def _process_name(pid: int) -> str:
    """The name psutil gives the process (a long name from its command line)."""
    try:
        import psutil

        return psutil.Process(pid).name() or "?"
    except Exception:  # gone since, or no psutil: the name is only for the message
        return "?"


def check_db_writable(db: Path, timeout: float = DB_LOCK_TIMEOUT) -> None:
    """Take and release a write lock; raise HomeInUse when another writer holds it."""
    conn = statedb.connect(db, timeout=timeout, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except statedb.OperationalError as exc:
        raise HomeInUse(
            f"{db} is locked by another program ({exc}).",
            reason=HomeInUse.DB_LOCKED,
            hint="Close Codex (CLI, IDE extension and Desktop app) and try again.",
            params={"db": str(db)},
        ) from exc
    except statedb.DatabaseError as exc:
        raise CodexMigrateError(
            f"{db} is not a usable SQLite database ({exc}); nothing was written.",
            hint="Move it aside (Codex rebuilds its state DB from the rollouts), or run "
            "`codex-migrate doctor` on this home.",
            code="db-unusable",
            params={"db": str(db)},
        ) from exc
    finally:
        conn.close()


def ensure_not_running(home: Path) -> None:
    procs = running_codex(home)
    if procs:
        listed = ", ".join(f"{p.name} (pid {p.pid})" for p in procs)
        raise HomeInUse(
            f"Codex is running on {home}: {listed}.",
            reason=HomeInUse.CODEX_RUNNING,
            hint="Close Codex (CLI, IDE extension and Desktop app) and try again.",
            params={"home": str(home), "processes": listed},
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HomeLock:
    """Our own exclusive lock (``migration_transactions/lock``); stale locks of dead
    processes are taken over, so a kill -9 never blocks the home for good."""

    def __init__(self, tx_root: Path) -> None:
        self.path = tx_root / LOCK_NAME
        self.held = False

    def acquire(self) -> HomeLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                try:
                    self.check_free()
                except HomeInUse as exc:
                    raise exc from None
                self.path.unlink(missing_ok=True)  # stale: its process is dead
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid(), "since": time.time()}, f)
            self.held = True
            return self
        raise HomeInUse(
            f"could not take the lock {self.path}.",
            reason=HomeInUse.OTHER_COMMAND,
            params={"lock": str(self.path)},
        )

    def check_free(self) -> None:
        """Raise what :meth:`acquire` raises while another live command holds the lock,
        taking nothing and writing nothing: the check of a dry run."""
        owner = self._owner()
        if owner is not None and owner != os.getpid() and _pid_alive(owner):
            raise HomeInUse(
                f"another codex-migrate command (pid {owner}) is working on this home.",
                reason=HomeInUse.OTHER_COMMAND,
                hint=f"Wait for it to finish. If it is gone, remove {self.path}.",
                params={"pid": owner, "lock": str(self.path)},
            )

    def _owner(self) -> int | None:
        try:
            return int(json.loads(self.path.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> HomeLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
