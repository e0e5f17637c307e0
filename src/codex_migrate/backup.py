"""Back up a Codex home: session data by default, in the home's own layout, with a manifest.

The engine never prints or prompts; it reports progress through ``progress(stage, done,
total)`` (stage ``"scan"`` counts rollouts, ``"backup"`` counts bytes) and returns a
:class:`BackupReport`.

Why it is built this way:

* SQLite files are copied with SQLite's online backup API from a read-only connection, so what
  still sits in the ``-wal`` file is included and a Codex writing meanwhile cannot tear the
  copy. They are snapshotted *before* the rollouts are listed, so every DB row has its rollout
  in the backup (a row without its file hides the thread, FORMAT.md §4); a rollout newer than
  the snapshot is fine, Codex adds its row itself.
* Each file is copied once: hashed while it streams, exactly the size it had when opened (a
  rollout Codex appends to meanwhile is backed up as the prefix it had), keeping its mtime and
  mode. ``history.jsonl`` is never more open than 0600; the backup folder is 0700, an archive
  0600, because both hold private conversations.
* Output goes to a name marked ``.incomplete-`` and is renamed only after everything, manifest
  last, is on disk. A folder backup is written one level down
  (``Codex_backup.incomplete-…/Codex_backup``), so not even :func:`open_home` on the parent
  takes it for a home. A killed backup therefore never looks complete.
* ``--output-parent`` never overwrites: an existing ``Codex_backup`` gets a dated sibling.
* Archives are ``.tar.zst`` (default; tar in stream mode through a multi-threaded zstd writer,
  nothing built in memory) or ``.zip`` (deflate, which every OS opens without extra tools).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from codex_migrate import __version__
from codex_migrate.catalog import Catalog, ProgressFn, build_catalog
from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import fsync_dir, fsync_file, syncfs
from codex_migrate.home import ARCHIVED_DIR, SESSIONS_DIR, CodexHome
from codex_migrate.manifest import (
    BACKUP_DIR_NAME,
    CHUNK,
    INCOMPLETE_TAG,
    MANIFEST_NAME,
    DirEntry,
    FileEntry,
    Manifest,
    format_for_name,
    mode_of,
    remove_tree,
)
from codex_migrate.rollout import iter_lines, open_rollout, parse_rollout_name
from codex_migrate.statedb import StateDBError, is_inside, private_copy

ZSTD_LEVEL = 3
ZIP_LEVEL = 6
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
INCOMPLETE_NOTE = "INCOMPLETE-BACKUP.txt"

#: Exact names that hold credentials or tokens: never backed up, not even with ``--full``.
CREDENTIAL_NAMES = frozenset(
    {"auth.json", ".credentials.json", "credentials.json", ".env", ".netrc", "keyring"}
)
_CREDENTIAL_WORDS = ("credential", "token", "secret", "oauth", "apikey", "api_key", "password")
_CREDENTIAL_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx")
#: Top-level entries of the default backup's "left out" list, with the reason shown to users.
LEFT_OUT_REASONS = {
    "auth.json": "credentials: never backed up",
    ".credentials.json": "MCP OAuth tokens: never backed up",
    "config.toml": "settings that can hold secrets (only with --full)",
    "installation_id": "identifies this installation (only with --full)",
    "skills": "installed skills, not session data (only with --full)",
    "plugins": "installed plugins, not session data (only with --full)",
    "log": "logs (only with --full)",
    ".tmp": "temporary files: never backed up",
}
_CLI_VERSION_RE = re.compile(rb'"cli_version"\s*:\s*"([^"\\]{1,64})"')


class BackupError(CodexMigrateError):
    """The backup could not be made; nothing that looks complete was left behind."""


class SourceChanged(BackupError):
    """A file shrank or vanished while it was copied."""


# -- what goes in -------------------------------------------------------------------------------


@dataclass
class PlanItem:
    """One file to write: where from, where to, and how (plain copy, DB snapshot, filtered)."""

    rel: str
    src: Path
    role: str
    kind: str = "copy"  # "copy" | "staged" (a DB snapshot already on disk) | "filter"
    filter_key: str = ""
    mtime_ns: int | None = None
    mode: int | None = None


@dataclass
class BackupReport:
    """What a backup did; ``to_dict`` is what ``--json`` prints."""

    path: Path
    format: str  # "folder" | "tar.zst" | "zip"
    content: str  # "sessions" | "full"
    requested_path: Path
    files: int = 0
    bytes: int = 0
    output_bytes: int = 0
    rollouts: int = 0
    threads: int = 0
    seconds: float = 0.0
    selection: dict[str, Any] | None = None
    databases: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    codex_versions: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> bool:
        return self.path != self.requested_path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "requested_path": str(self.requested_path),
            "renamed": self.renamed,
            "format": self.format,
            "content": self.content,
            "files": self.files,
            "bytes": self.bytes,
            "output_bytes": self.output_bytes,
            "rollouts": self.rollouts,
            "threads": self.threads,
            "seconds": round(self.seconds, 3),
            "selection": self.selection,
            "databases": self.databases,
            "left_out": self.left_out,
            "codex_versions": self.codex_versions,
            "warnings": self.warnings,
        }


def is_credential(name: str) -> bool:
    """Whether a file or folder name looks like it holds a credential or token.

    Errs on the side of leaving things out: a false positive costs a file the user can copy by
    hand, a false negative leaks a secret into a backup that may travel.
    """
    low = name.lower()
    if low in CREDENTIAL_NAMES or low.endswith(_CREDENTIAL_SUFFIXES):
        return True
    if low.startswith(("auth.", "auth_", "auth-")) or low.startswith(("id_rsa", "id_ed25519")):
        return True
    return any(word in low for word in _CREDENTIAL_WORDS)


def _is_lock_or_temp(name: str) -> bool:
    low = name.lower()
    return (
        low.endswith((".lock", ".lck", ".tmp", ".temp", ".partial", ".swp"))
        or low in ("lock", ".lock")
        or low.startswith(".~")
    )


def _is_sqlite(path: Path) -> bool:
    if not path.name.endswith(SQLITE_SUFFIXES):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _norm_project(text: str) -> str:
    stripped = text.rstrip("/\\")
    return stripped or text


def select_threads(
    catalog: Catalog, thread_ids: Iterable[str], projects: Iterable[str]
) -> tuple[set[str], dict[str, Any]]:
    """Thread ids chosen by ``--thread`` (full id or a unique prefix) and ``--project`` (cwd).

    Raises :class:`BackupError` naming whatever matched nothing, so a typo never yields a
    backup that silently lacks what the user asked for.
    """
    chosen: set[str] = set()
    unknown: list[str] = []
    for given in thread_ids:
        want = given.strip().lower()
        exact = catalog.thread(want)
        if exact is not None:
            chosen.add(exact.id)
            continue
        matches = [t.id for t in catalog.threads if len(want) >= 8 and t.id.startswith(want)]
        if len(matches) == 1:
            chosen.add(matches[0])
        else:
            unknown.append(given if not matches else f"{given} (matches {len(matches)} threads)")
    missing_projects: list[str] = []
    for given in projects:
        wants = {_norm_project(given)}
        with contextlib.suppress(OSError, RuntimeError):
            wants.add(_norm_project(str(Path(given).expanduser().resolve())))
        hits = [t.id for t in catalog.threads if t.cwd and _norm_project(t.cwd) in wants]
        if hits:
            chosen.update(hits)
        else:
            missing_projects.append(given)
    if unknown or missing_projects:
        parts = []
        if unknown:
            parts.append("no thread " + ", ".join(unknown))
        if missing_projects:
            parts.append("no project " + ", ".join(missing_projects))
        raise BackupError(
            f"Nothing backed up: {'; '.join(parts)} in {catalog.home.root}.",
            hint="`codex-migrate scan --threads` lists thread ids and project folders.",
        )
    selection = {
        "threads": sorted(chosen),
        "requested_threads": list(thread_ids),
        "requested_projects": list(projects),
    }
    return chosen, selection


# -- SQLite snapshots ---------------------------------------------------------------------------


def _db_mtime_ns(db: Path) -> int:
    """The newest of the DB and its WAL: the snapshot holds what the WAL holds."""
    mtimes = [db.stat().st_mtime_ns]
    with contextlib.suppress(OSError):
        mtimes.append(Path(str(db) + "-wal").stat().st_mtime_ns)
    return max(mtimes)


def snapshot_sqlite(src: Path, dest: Path) -> dict[str, Any]:
    """A consistent single-file copy of a (possibly live) DB, through SQLite's backup API.

    * A ``-wal`` (or ``-journal``) beside the DB means a Codex may be writing, or content is
      still in the WAL: the source is opened read-only (``mode=ro``) and copied with the
      backup API, which reads the WAL and cannot tear. SQLite never writes the DB or the WAL
      then; it may refresh the ``-shm`` index, as every reader does.
    * No side file means the DB is at rest and the file alone is the whole DB: it is copied
      privately first (checked unchanged meanwhile) so that not even a ``-shm`` appears in
      the user's home; a change during the copy falls back to the read-only way.

    The copy is switched to rollback-journal mode, one self-contained file (Codex switches
    it back to WAL when it opens it).
    """
    at_rest = not any(Path(str(src) + s).exists() for s in ("-wal", "-journal"))
    if at_rest:
        try:
            with private_copy(src, attempts=2) as copy:
                if not Path(str(copy) + "-wal").exists():
                    info = _backup_from(str(copy), dest, uri=False)
                    return {"method": "sqlite-backup-api", "scope": "whole", **info}
        except StateDBError:
            pass  # it changed while copied: someone writes, so read it the live way
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
    method = "sqlite-backup-api"
    try:
        info = _backup_from(src.resolve().as_uri() + "?mode=ro", dest, uri=True)
    except sqlite3.OperationalError:
        # A read-only open can fail where the -shm cannot be created (read-only media).
        method = "sqlite-backup-api (from a private copy)"
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        with private_copy(src) as copy:
            info = _backup_from(str(copy), dest, uri=False)
    return {"method": method, "scope": "whole", **info}


def _backup_from(source: str, dest: Path, *, uri: bool) -> dict[str, Any]:
    src = sqlite3.connect(source, uri=uri, timeout=30.0)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            tables = [
                r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            threads = None
            if "threads" in tables:
                threads = dst.execute("SELECT count(*) FROM threads").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    with open(dest, "rb+") as f:
        os.fsync(f.fileno())
    return {"threads": threads, "tables": len(tables)}


# -- writing ------------------------------------------------------------------------------------


class _Reader:
    """Reads exactly ``size`` bytes of a source, hashing them and counting progress."""

    def __init__(
        self, stream: IO[bytes], size: int, name: str, tick: Callable[[int], None]
    ) -> None:
        self._stream = stream
        self.remaining = size
        self._name = name
        self._tick = tick
        self.digest = hashlib.sha256()
        self.head = b""

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if n is None or n < 0 else min(n, self.remaining)
        data = self._stream.read(want)
        while 0 < len(data) < want:  # a short read is not the end of the file
            more = self._stream.read(want - len(data))
            if not more:
                break
            data += more
        if len(data) < want:
            raise SourceChanged(
                f"{self._name} shrank while it was backed up.",
                hint="Something rewrote it meanwhile; close Codex and run the backup again.",
            )
        if not self.head:
            self.head = data[:65536]
        self.remaining -= len(data)
        self.digest.update(data)
        self._tick(len(data))
        return data

    def drain(self) -> None:
        """Hash the rest without writing it anywhere."""
        while self.remaining > 0:
            self.read(CHUNK)


def _copy_exact(reader: _Reader, out: IO[bytes]) -> None:
    while reader.remaining > 0:
        out.write(reader.read(CHUNK))


def _create(path: Path, *, read: bool = False) -> IO[bytes]:
    """A new file, private while it is written; fails if anything is already there."""
    flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, 0o600), "w+b" if read else "wb")


class _Writer(Protocol):
    """Where backed-up files go: a folder, or one archive stream."""

    format: str

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None: ...

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None: ...

    def finish(self, manifest: Manifest) -> None: ...

    def close(self) -> None: ...


class _FolderWriter:
    """Writes into ``root``, a folder nobody takes for a backup until it is renamed.

    Durability is settled once, before the rename: on Linux one ``syncfs`` flushes the whole
    backup (per-file fsync made a 3,000-file backup 4x slower); elsewhere each file is synced.
    """

    format = "folder"

    def __init__(self, root: Path, fsync: bool) -> None:
        self.root = root
        self.fsync = fsync
        self.written: list[Path] = []
        root.mkdir(mode=0o700)

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        (self.root / rel).mkdir(mode=0o700, parents=True, exist_ok=True)

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        target = self.root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _create(target) as out:
            _copy_exact(reader, out)
        self.written.append(target)
        self._finish_file(target, mtime_ns, mode)

    def move_in(self, rel: str, staged: Path, mtime_ns: int, mode: int | None) -> None:
        """A DB snapshot already written and synced next door: move it into place."""
        target = self.root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(staged, target)
        self.written.append(target)
        self._finish_file(target, mtime_ns, mode)

    @staticmethod
    def _finish_file(target: Path, mtime_ns: int, mode: int | None) -> None:
        if mode is not None and os.name != "nt":
            os.chmod(target, mode)
        os.utime(target, ns=(mtime_ns, mtime_ns))

    def finish(self, manifest: Manifest) -> None:
        path = self.root / MANIFEST_NAME
        with _create(path) as out:
            out.write(manifest.to_bytes())
        self.written.append(path)
        # Deepest first, so a child's entry does not move its parent's mtime again.
        dirs = sorted(manifest.dirs, key=lambda d: d.path.count("/"), reverse=True)
        for d in dirs:
            target = self.root / d.path
            if d.mode is not None and os.name != "nt":
                os.chmod(target, d.mode)
            os.utime(target, ns=(d.mtime_ns, d.mtime_ns))
        if self.fsync and not syncfs(self.root):
            for f in self.written:
                fsync_file(f)
            for d in dirs:
                fsync_dir(self.root / d.path)
            fsync_dir(self.root)

    def close(self) -> None:
        pass


class _TarZstWriter:
    """A ``.tar.zst`` written as one stream: PAX tar into a multi-threaded zstd frame."""

    format = "tar.zst"

    def __init__(self, path: Path, fsync: bool, threads: int = -1) -> None:
        import zstandard

        self.path = path
        self.fsync = fsync
        self._fh = _create(path)
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=threads)
        self._zst = cctx.stream_writer(self._fh, closefd=False)
        # Plain "w" on the zstd stream: tarfile only appends and never seeks in that mode, and
        # it skips the re-buffering of "w|", which copies its whole buffer on every write.
        self._tar = tarfile.TarFile(
            fileobj=self._zst,
            mode="w",
            format=tarfile.PAX_FORMAT,
            copybufsize=CHUNK,
        )

    @staticmethod
    def _info(rel: str, size: int, mtime_ns: int, mode: int | None, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(rel)
        info.size = size
        info.mtime = mtime_ns / 1e9
        info.type = kind
        default = 0o700 if kind == tarfile.DIRTYPE else 0o600
        info.mode = default if mode is None else mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        self._tar.addfile(self._info(rel, 0, mtime_ns, mode, tarfile.DIRTYPE))
        self._tar.getmembers().clear()

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        info = self._info(rel, size, mtime_ns, mode, tarfile.REGTYPE)
        self._tar.addfile(info, reader)
        # tarfile keeps every header it wrote (memory grows per file); in "w" mode
        # getmembers() is that very list and nothing reads it again.
        self._tar.getmembers().clear()

    def finish(self, manifest: Manifest) -> None:
        data = manifest.to_bytes()
        info = self._info(MANIFEST_NAME, len(data), time.time_ns(), 0o600, tarfile.REGTYPE)
        self._tar.addfile(info, io.BytesIO(data))
        self._tar.close()
        self._zst.flush(zstd_flush_frame())
        self._zst.close()
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._fh.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()


def zstd_flush_frame() -> int:
    import zstandard

    return int(zstandard.FLUSH_FRAME)


class _ZipWriter:
    """A ``.zip`` (deflate, zip64): slower and larger than ``.tar.zst`` but opens anywhere."""

    format = "zip"

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self._fh = _create(path, read=True)
        self._zip = zipfile.ZipFile(
            self._fh,
            "w",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=ZIP_LEVEL,
            allowZip64=True,
        )

    @staticmethod
    def _info(rel: str, mtime_ns: int, mode: int | None, is_dir: bool) -> zipfile.ZipInfo:
        when = time.localtime(mtime_ns / 1e9)[:6]
        if when[0] < 1980:
            when = (1980, 1, 1, 0, 0, 0)
        info = zipfile.ZipInfo(rel + ("/" if is_dir else ""), date_time=when)
        kind = stat.S_IFDIR if is_dir else stat.S_IFREG
        default = 0o700 if is_dir else 0o600
        info.external_attr = (kind | (default if mode is None else mode)) << 16
        if is_dir:
            info.external_attr |= 0x10  # the MS-DOS folder flag
        info.create_system = 3  # Unix: the mode above means something
        info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
        return info

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        self._zip.writestr(self._info(rel, mtime_ns, mode, True), b"")

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        info = self._info(rel, mtime_ns, mode, False)
        with self._zip.open(info, "w", force_zip64=size >= 2**31) as out:
            _copy_exact(reader, out)

    def finish(self, manifest: Manifest) -> None:
        info = self._info(MANIFEST_NAME, time.time_ns(), 0o600, False)
        self._zip.writestr(info, manifest.to_bytes())
        self._zip.close()
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._fh.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()


# -- naming -------------------------------------------------------------------------------------


def split_archive_name(name: str) -> tuple[str, str]:
    """``("codex", ".tar.zst")`` from ``codex.tar.zst``: where a suffix goes."""
    low = name.lower()
    for suffix in (".tar.zst", ".tzst", ".zip"):
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    return name, ""


def free_path(path: Path) -> Path:
    """``path`` if nothing is there, else a dated sibling name that is free (never overwrite)."""
    if not os.path.lexists(path):
        return path
    stem, suffix = split_archive_name(path.name)
    base = f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate = path.with_name(base + suffix)
    n = 2
    while os.path.lexists(candidate):
        candidate = path.with_name(f"{base}-{n}{suffix}")
        n += 1
    return candidate


def _claim_final_path(tmp: Path, wanted: Path) -> Path:
    """Rename ``tmp`` to ``wanted`` (or a free sibling): never replaces anything."""
    while True:
        target = free_path(wanted)
        if tmp.is_dir():
            if os.name == "nt":
                try:
                    os.rename(tmp, target)  # Windows never renames over an existing name
                except FileExistsError:
                    continue
                return target
            try:
                # POSIX rename() replaces an empty folder; mkdir first makes the name ours.
                target.mkdir()
            except FileExistsError:
                continue
            os.replace(tmp, target)
            return target
        try:
            os.link(tmp, target)  # fails if target exists: an atomic "no replace" rename
        except FileExistsError:
            continue
        except OSError:
            # No hard links here (FAT, some network shares): the check above must do.
            if os.path.lexists(target):
                continue
            os.replace(tmp, target)
            return target
        os.unlink(tmp)
        return target


# -- the engine ---------------------------------------------------------------------------------


class _Planner:
    """Builds the list of files, and the list of what was deliberately left out."""

    def __init__(self, home: CodexHome, selected: set[str] | None, full: bool) -> None:
        self.home = home
        self.root = home.root
        self.selected = selected
        self.full = full
        self.items: dict[str, PlanItem] = {}
        self.left_out: list[dict[str, str]] = []
        self.handled_sources: set[Path] = set()
        self.skip_paths: set[Path] = set()

    def add(self, item: PlanItem) -> None:
        if item.rel not in self.items:
            self.items[item.rel] = item
            self.handled_sources.add(item.src)

    def leave_out(self, rel: str, reason: str) -> None:
        self.left_out.append({"path": rel, "reason": reason})

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def sessions(self) -> None:
        """Rollouts (``.jsonl`` and ``.jsonl.zst``) of the chosen threads, in their layout."""
        for base, role in ((SESSIONS_DIR, "rollout"), (ARCHIVED_DIR, "archived-rollout")):
            top = self.root / base
            if not top.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames.sort()
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    if not name.endswith((".jsonl", ".jsonl.zst")):
                        continue
                    parsed = parse_rollout_name(name)
                    if self.selected is not None and (
                        parsed is None or parsed[1] not in self.selected
                    ):
                        continue
                    if not path.is_file():
                        self.leave_out(self.rel(path), "not a regular file")
                        continue
                    self.add(PlanItem(self.rel(path), path, role))

    def referenced_segments(self) -> None:
        """Selecting threads: also the earlier rollouts they continue (``rollout_reference``
        records name them by absolute path), so a selected thread is whole in the backup."""
        queue = [i for i in self.items.values() if i.role in ROLLOUT_ROLES]
        while queue:
            item = queue.pop()
            for target in _referenced_rollouts(item.src):
                if not is_inside(target, self.root):
                    continue
                path = Path(target)
                if not path.is_file():
                    continue
                rel = self.rel(path)
                if rel in self.items:
                    continue
                role = "archived-rollout" if rel.startswith(ARCHIVED_DIR + "/") else "rollout"
                self.add(PlanItem(rel, path, role))
                queue.append(self.items[rel])

    def jsonl_index(self, path: Path, role: str, key: str) -> None:
        if not path.is_file():
            return
        if self.selected is None:
            self.add(PlanItem(self.rel(path), path, role))
        else:
            self.add(PlanItem(self.rel(path), path, role, kind="filter", filter_key=key))

    def everything_else(self, outputs: list[Path]) -> None:
        """``--full``: the rest of the home, minus credentials, locks, temp and side files."""
        skip = {p.resolve() for p in outputs if p is not None}
        handled = {p.resolve() for p in self.handled_sources}
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            keep_dirs = []
            for d in sorted(dirnames):
                path = here / d
                rel = self.rel(path)
                if path.resolve() in skip or INCOMPLETE_TAG in d:
                    continue
                if is_credential(d):
                    self.leave_out(rel + "/", "looks like credentials or tokens: never backed up")
                elif path.is_symlink():
                    self.leave_out(rel + "/", "a link to a folder: not followed")
                elif rel == ".tmp":
                    self.leave_out(rel + "/", "temporary files: never backed up")
                else:
                    keep_dirs.append(d)
            dirnames[:] = keep_dirs
            for name in sorted(filenames):
                path = here / name
                rel = self.rel(path)
                if rel in self.items or path.resolve() in handled or path.resolve() in skip:
                    continue
                if self._governed_by_selection(rel, name):
                    continue
                if is_credential(name):
                    reason = LEFT_OUT_REASONS.get(rel, "looks like credentials or tokens")
                    self.leave_out(rel, reason.split(":")[0] + ": never backed up")
                elif name.endswith(SQLITE_SIDE_SUFFIXES) and (here / _side_base(name)).exists():
                    continue  # part of its DB's snapshot
                elif _is_lock_or_temp(name):
                    self.leave_out(rel, "lock or temporary file")
                elif not path.is_file():
                    self.leave_out(rel, "not a regular file")
                elif _is_sqlite(path):
                    self.add(PlanItem(rel, path, "sqlite", kind="sqlite"))
                else:
                    self.add(PlanItem(rel, path, "other"))

    def _governed_by_selection(self, rel: str, name: str) -> bool:
        """Rollouts are chosen by :meth:`sessions` (and the selection), never by ``--full``."""
        return rel.startswith((SESSIONS_DIR + "/", ARCHIVED_DIR + "/")) and name.endswith(
            (".jsonl", ".jsonl.zst")
        )

    def default_left_out(self) -> None:
        """Name the top-level things a sessions-only backup leaves out, and why."""
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return
        taken_top = {rel.split("/", 1)[0] for rel in self.items}
        for name in names:
            if name in taken_top or name.endswith(SQLITE_SIDE_SUFFIXES):
                continue
            if name in (SESSIONS_DIR, ARCHIVED_DIR) or INCOMPLETE_TAG in name:
                continue
            reason = LEFT_OUT_REASONS.get(name)
            if reason is None:
                if is_credential(name):
                    reason = "looks like credentials or tokens: never backed up"
                elif name.startswith("logs_") or name == "log":
                    reason = "logs (only with --full)"
                else:
                    reason = "not session data (only with --full)"
            is_dir = (self.root / name).is_dir()
            self.leave_out(name + ("/" if is_dir else ""), reason)


_REFERENCE_MARK = b'"rollout_reference"'


def _referenced_rollouts(path: Path) -> list[str]:
    """``rollout_path`` values of the ``rollout_reference`` records in a rollout."""
    found: list[str] = []
    try:
        with open_rollout(path) as stream:
            for line in iter_lines(stream):
                if _REFERENCE_MARK not in line.raw or not isinstance(line.obj, dict):
                    continue
                payload = line.obj.get("payload")
                if line.obj.get("type") == "rollout_reference" and isinstance(payload, dict):
                    target = payload.get("rollout_path")
                    if isinstance(target, str) and target:
                        found.append(target)
    except Exception:  # unreadable or a damaged .zst: the file itself is still backed up
        return found
    return found


def _side_base(name: str) -> str:
    for suffix in SQLITE_SIDE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _db_rel(home: CodexHome, db: Path) -> str:
    """Where a DB goes in the backup: its place in the home, or the top when it lives
    outside (``$CODEX_SQLITE_HOME``)."""
    try:
        return db.relative_to(home.root).as_posix()
    except ValueError:
        return db.name


def _filtered_lines(src: Path, key: str, keep: set[str]) -> Iterator[bytes]:
    """The lines of a JSONL index that belong to the chosen threads, bytes untouched.

    One generator for the backup and its dry run, so both size the filtered file the same.
    """
    with open(src, "rb") as f:
        for raw in f:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            value = obj.get(key) if isinstance(obj, dict) else None
            if isinstance(value, str) and value.lower() in keep:
                yield raw if raw.endswith(b"\n") else raw + b"\n"


def _filtered(src: Path, key: str, keep: set[str]) -> IO[bytes]:
    """:func:`_filtered_lines` as a stream the writers can read."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    for line in _filtered_lines(src, key, keep):
        out.write(line)
    out.seek(0)
    return out


def _cli_version(head: bytes, compressed: bool) -> str | None:
    if compressed:
        try:
            import zstandard

            head = zstandard.ZstdDecompressor().decompressobj().decompress(head)
        except Exception:
            return None
    first = head.split(b"\n", 1)[0]
    m = _CLI_VERSION_RE.search(first)
    return m.group(1).decode("utf-8", "replace") if m else None


def _target(output_parent: Path | None, archive: Path | None, name: str) -> tuple[str, Path]:
    """The format and the path a backup asks for, checked the same for a run and a dry run."""
    if (output_parent is None) == (archive is None):
        raise BackupError("Give exactly one of --output-parent and --archive.")
    if archive is not None:
        archive = Path(archive).expanduser().absolute()
        fmt = format_for_name(archive) or ""
        if not fmt:
            raise BackupError(
                f"{archive.name}: an archive must end in .tar.zst (or .tzst) or .zip.",
            )
        return fmt, archive
    assert output_parent is not None
    output_parent = Path(output_parent).expanduser().absolute()
    if output_parent.exists() and not output_parent.is_dir():
        raise BackupError(f"{output_parent} is not a folder.")
    return "folder", output_parent / name


def _selection(
    home: CodexHome, threads: list[str], projects: list[str], progress: ProgressFn | None
) -> tuple[set[str] | None, dict[str, Any] | None]:
    """``(None, None)`` for the whole home, else the chosen thread ids and their record."""
    if not threads and not projects:
        return None, None
    catalog = build_catalog(home, progress)
    return select_threads(catalog, threads, projects)


#: How a DB becomes backup files: ``(db, rel, role) -> items``. The real run snapshots it,
#: the dry run predicts what the snapshot will be.
DbItems = Callable[[Path, str, str], list[PlanItem]]


def _collect(
    home: CodexHome,
    selected: set[str] | None,
    full: bool,
    outputs: list[Path],
    db_items: DbItems,
) -> _Planner:
    """Decide every file of a backup: the one code path behind both a backup and its dry run.

    DBs come first: for a real run, every row a snapshot holds then has its rollout among the
    files listed after it.
    """
    planner = _Planner(home, selected, full)
    for db, role in ((home.state_db, "state-db"), (home.history_db, "history-db")):
        if db is not None:
            for item in db_items(db, _db_rel(home, db), role):
                planner.add(item)
    planner.sessions()
    if selected is not None:
        planner.referenced_segments()
    planner.jsonl_index(home.session_index, "session-index", "id")
    planner.jsonl_index(home.history_jsonl, "history", "session_id")
    if full:
        planner.everything_else(outputs)
        for rel, item in list(planner.items.items()):
            if item.kind == "sqlite":
                del planner.items[rel]
                for db_item in db_items(item.src, rel, "sqlite"):
                    planner.items[db_item.rel] = db_item
    else:
        planner.default_left_out()
    return planner


def run_backup(
    home: CodexHome,
    *,
    output_parent: Path | None = None,
    archive: Path | None = None,
    threads: Iterable[str] = (),
    projects: Iterable[str] = (),
    full: bool = False,
    name: str = BACKUP_DIR_NAME,
    progress: ProgressFn | None = None,
    fsync: bool = True,
    compress_threads: int = -1,
) -> BackupReport:
    """Write a backup of ``home`` to ``output_parent/name/`` or to the ``archive`` file.

    Never overwrites: an existing target gets a dated sibling name (see ``report.path``).
    Raises :class:`BackupError` (nothing complete-looking left behind) on failure.
    :func:`plan_backup` says what this would write, without writing.
    """
    started = time.monotonic()
    fmt, wanted = _target(output_parent, archive, name)
    parent = wanted.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {parent}: {exc.strerror or exc}") from exc

    selected, selection = _selection(home, list(threads), list(projects), progress)

    report = BackupReport(
        path=wanted,
        format=fmt,
        content="full" if full else "sessions",
        requested_path=wanted,
        selection=selection,
    )
    token = f"{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
    if fmt == "folder":
        work = parent / f"{name}{INCOMPLETE_TAG}{token}"
        work.mkdir(mode=0o700)
        (work / INCOMPLETE_NOTE).write_text(
            "An interrupted (or still running) codex-migrate backup. It is not complete and can\n"
            "be deleted. Complete backups are folders named Codex_backup* with a manifest.json.\n",
            encoding="utf-8",
        )
        tmp_out = work / name
        stage = work
    else:
        tmp_out = parent / f"{wanted.name}{INCOMPLETE_TAG}{token}"
        work = Path(tempfile.mkdtemp(prefix="codex-migrate-backup-"))
        stage = work
    try:
        final = _write_backup(
            home,
            report,
            selected,
            full,
            tmp_out,
            stage,
            wanted,
            progress,
            fsync,
            compress_threads,
        )
    except BaseException:
        with contextlib.suppress(OSError):
            if fmt != "folder":
                tmp_out.unlink()
        with contextlib.suppress(OSError):
            remove_tree(work)  # copied modes may have made parts of it read-only
        raise
    with contextlib.suppress(OSError):
        remove_tree(work)
    report.path = final
    report.output_bytes = (
        final.stat().st_size if final.is_file() else report.bytes + _size(final / MANIFEST_NAME)
    )
    report.seconds = time.monotonic() - started
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_backup(
    home: CodexHome,
    report: BackupReport,
    selected: set[str] | None,
    full: bool,
    tmp_out: Path,
    stage: Path,
    wanted: Path,
    progress: ProgressFn | None,
    fsync: bool,
    compress_threads: int,
) -> Path:
    planner = _collect(
        home,
        selected,
        full,
        [tmp_out, wanted, stage],
        lambda db, rel, role: _stage_db(db, rel, role, stage, report),
    )
    report.left_out = planner.left_out

    items = sorted(planner.items.values(), key=lambda i: (i.kind != "staged", i.rel))
    total = 0
    for item in items:
        with contextlib.suppress(OSError):
            total += item.src.stat().st_size
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("backup", done, total)

    writer: _Writer
    if report.format == "folder":
        writer = _FolderWriter(tmp_out, fsync)
    elif report.format == "tar.zst":
        writer = _TarZstWriter(tmp_out, fsync, compress_threads)
    else:
        writer = _ZipWriter(tmp_out, fsync)
    files: list[FileEntry] = []
    dirs: dict[str, DirEntry] = {}
    versions: dict[str, int] = {}
    rollout_ids: set[str] = set()
    try:
        for item in items:
            written = _write_item(home, item, writer, selected, tick, dirs, report)
            if written is None:
                continue
            entry, head = written
            files.append(entry)
            if entry.role in ROLLOUT_ROLES:
                parsed = parse_rollout_name(entry.path.rsplit("/", 1)[-1])
                if parsed is not None:
                    rollout_ids.add(parsed[1])
                version = _cli_version(head, entry.path.endswith(".zst"))
                if version:
                    versions[version] = versions.get(version, 0) + 1
        report.files = len(files)
        report.bytes = sum(f.size for f in files)
        report.rollouts = sum(1 for f in files if f.role in ROLLOUT_ROLES)
        report.threads = len(rollout_ids)
        report.codex_versions = versions
        manifest = Manifest(
            tool_version=__version__,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source_home=str(home.root),
            source_platform=sys.platform,
            content=report.content,
            codex_versions=versions,
            selection=report.selection,
            databases=report.databases,
            left_out=report.left_out,
            files=files,
            dirs=sorted(dirs.values(), key=lambda d: d.path),
        )
        writer.finish(manifest)
    finally:
        writer.close()
    final = _claim_final_path(tmp_out, wanted)
    if fsync:
        fsync_dir(final.parent)
    return final


ROLLOUT_ROLES = ("rollout", "archived-rollout")


def _stage_db(db: Path, rel: str, role: str, stage: Path, report: BackupReport) -> list[PlanItem]:
    """Snapshot one DB into ``stage``; a DB SQLite cannot read is copied raw, with a warning.

    Rollouts are the truth and Codex rebuilds a lost state DB from them, so a damaged DB must
    not cost the user the whole backup; it is kept as it is, for whoever repairs it.
    """
    target = stage / f"db-{len(report.databases)}-{db.name}"
    st = db.stat()
    record: dict[str, Any] = {"path": rel, "source": str(db), "role": role}
    try:
        info = snapshot_sqlite(db, target)
    except sqlite3.DatabaseError as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        report.warnings.append(
            f"{db.name} could not be read through SQLite ({exc}); its files were copied as "
            "they are. Close Codex and back up again for a consistent copy."
        )
        record.update(method="raw-copy", scope="whole", error=str(exc))
        report.databases.append(record)
        items = [PlanItem(rel, db, role + "-raw")]
        wal = Path(str(db) + "-wal")
        if wal.is_file():
            items.append(PlanItem(rel + "-wal", wal, role + "-raw"))
        return items
    record.update(info)
    if report.selection is not None:
        record["note"] = "the whole database, including threads that were not selected"
    report.databases.append(record)
    return [PlanItem(rel, target, role, kind="staged", mtime_ns=_db_mtime_ns(db), mode=mode_of(st))]


def _ancestors(rel: str) -> Iterator[str]:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])


def _write_item(
    home: CodexHome,
    item: PlanItem,
    writer: _Writer,
    selected: set[str] | None,
    tick: Callable[[int], None],
    dirs: dict[str, DirEntry],
    report: BackupReport,
) -> tuple[FileEntry, bytes] | None:
    """Write one planned file; returns its manifest entry and its first bytes."""
    if item.kind == "staged":
        mtime_ns, mode = item.mtime_ns or 0, item.mode
        _add_dirs(home, item.rel, writer, dirs)
        with open(item.src, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            reader = _Reader(f, size, item.rel, tick)
            if isinstance(writer, _FolderWriter):
                reader.drain()
            else:
                writer.add_file(item.rel, reader, size, mtime_ns, mode)
        if isinstance(writer, _FolderWriter):
            writer.move_in(item.rel, item.src, mtime_ns, mode)
        entry = FileEntry(item.rel, size, reader.digest.hexdigest(), mtime_ns, mode, item.role)
        return entry, b""
    try:
        f = open(item.src, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        moved = _find_moved(home, item)
        if moved is None:
            report.warnings.append(f"{item.rel} disappeared during the backup; not included")
            return None
        item = moved
        f = open(item.src, "rb")  # noqa: SIM115
    with f:
        st = os.fstat(f.fileno())
        mode = mode_of(st)
        if item.role == "history" and mode is not None:
            mode &= 0o600  # never more open than Codex makes it
        mtime_ns = st.st_mtime_ns
        _add_dirs(home, item.rel, writer, dirs)
        if item.kind == "filter":
            assert selected is not None
            with _filtered(item.src, item.filter_key, selected) as stream:
                size = stream.seek(0, os.SEEK_END)
                stream.seek(0)
                reader = _Reader(stream, size, item.rel, tick)
                writer.add_file(item.rel, reader, size, mtime_ns, mode)
        else:
            size = st.st_size
            reader = _Reader(f, size, item.rel, tick)
            writer.add_file(item.rel, reader, size, mtime_ns, mode)
    entry = FileEntry(item.rel, size, reader.digest.hexdigest(), mtime_ns, mode, item.role)
    return entry, reader.head


def _find_moved(home: CodexHome, item: PlanItem) -> PlanItem | None:
    """A rollout archived while we ran moved to ``archived_sessions/``: back up that one."""
    if item.role != "rollout":
        return None
    moved = home.archived_dir / item.src.name
    if not moved.is_file():
        return None
    return PlanItem(f"{ARCHIVED_DIR}/{item.src.name}", moved, "archived-rollout")


def _add_dirs(home: CodexHome, rel: str, writer: _Writer, dirs: dict[str, DirEntry]) -> None:
    """Record (and for archives, write) the folders above a file, with the source's mode."""
    for d in _ancestors(rel):
        if d in dirs:
            continue
        try:
            st = (home.root / d).stat()
            entry = DirEntry(d, st.st_mtime_ns, mode_of(st))
        except OSError:
            entry = DirEntry(d, time.time_ns(), None)
        dirs[d] = entry
        writer.add_dir(d, entry.mtime_ns, entry.mode)


# -- the dry run --------------------------------------------------------------------------------

_WAL_MAGIC = (0x377F0682, 0x377F0683)


@dataclass
class PlannedFile:
    """One file a backup would write, with the size it would have."""

    path: str
    size: int
    role: str
    method: str  # "copy" | "filter" (the chosen threads' lines) | "snapshot" | "raw-copy"
    source: str
    estimated: bool = False  # a snapshot's size, read from its DB and WAL before it exists

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BackupPlan:
    """What :func:`run_backup` would write, decided by the same code; ``to_dict`` is the
    ``--dry-run --json`` output."""

    path: Path
    requested_path: Path
    format: str  # "folder" | "tar.zst" | "zip"
    content: str  # "sessions" | "full"
    creates_parent: bool
    selection: dict[str, Any] | None = None
    files: list[PlannedFile] = field(default_factory=list)
    databases: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> bool:
        return self.path != self.requested_path

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def rollouts(self) -> int:
        return sum(1 for f in self.files if f.role in ROLLOUT_ROLES)

    @property
    def threads(self) -> int:
        """Threads whose rollouts are included, counted as the backup report counts them."""
        ids = set()
        for f in self.files:
            if f.role in ROLLOUT_ROLES:
                parsed = parse_rollout_name(f.path.rsplit("/", 1)[-1])
                if parsed is not None:
                    ids.add(parsed[1])
        return len(ids)

    def left_out_by_reason(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for item in self.left_out:
            grouped.setdefault(item["reason"], []).append(item["path"])
        return grouped

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "path": str(self.path),
            "requested_path": str(self.requested_path),
            "renamed": self.renamed,
            "creates_parent": self.creates_parent,
            "format": self.format,
            "content": self.content,
            "files_count": len(self.files),
            "bytes": self.bytes,
            "bytes_estimated": any(f.estimated for f in self.files),
            "rollouts": self.rollouts,
            "threads": self.threads,
            "selection": self.selection,
            "files": [f.to_dict() for f in self.files],
            "manifest": MANIFEST_NAME,
            "databases": self.databases,
            "left_out": self.left_out,
            "left_out_by_reason": self.left_out_by_reason(),
            "warnings": self.warnings,
        }


def plan_backup(
    home: CodexHome,
    *,
    output_parent: Path | None = None,
    archive: Path | None = None,
    threads: Iterable[str] = (),
    projects: Iterable[str] = (),
    full: bool = False,
    name: str = BACKUP_DIR_NAME,
    progress: ProgressFn | None = None,
) -> BackupPlan:
    """What :func:`run_backup` with the same arguments would write, writing nothing at all.

    The files come from the backup's own planner (:func:`_collect`), so the two cannot
    disagree; only DB snapshots are predicted instead of made (their size from the DB and
    WAL headers: opening a live DB through SQLite may create a ``-shm`` in the home).
    The output path is the one the run would pick now (a dated sibling if the name is taken).
    """
    fmt, wanted = _target(output_parent, archive, name)
    selected, selection = _selection(home, list(threads), list(projects), progress)
    plan = BackupPlan(
        path=free_path(wanted),
        requested_path=wanted,
        format=fmt,
        content="full" if full else "sessions",
        creates_parent=not wanted.parent.is_dir(),
        selection=selection,
    )
    planner = _collect(
        home,
        selected,
        full,
        [wanted],
        lambda db, rel, role: _predict_db(db, rel, role, plan),
    )
    plan.left_out = planner.left_out
    for item in sorted(planner.items.values(), key=lambda i: i.rel):
        planned = _planned_file(item, selected, plan)
        if planned is not None:
            plan.files.append(planned)
    return plan


def _predict_db(db: Path, rel: str, role: str, plan: BackupPlan) -> list[PlanItem]:
    """What :func:`_stage_db` will make of a DB, judged from its header alone.

    A file without the SQLite header is what SQLite refuses to read; the run copies it raw.
    """
    record: dict[str, Any] = {"path": rel, "source": str(db), "role": role}
    wal = Path(str(db) + "-wal")
    try:
        with open(db, "rb") as f:
            is_sqlite = f.read(16) == SQLITE_MAGIC
    except OSError:
        is_sqlite = False
    if not is_sqlite:
        plan.warnings.append(
            f"{db.name} does not look like a SQLite database; its files would be copied as "
            "they are."
        )
        record.update(method="raw-copy", scope="whole")
        plan.databases.append(record)
        items = [PlanItem(rel, db, role + "-raw", kind="raw-copy")]
        if wal.is_file():
            items.append(PlanItem(rel + "-wal", wal, role + "-raw", kind="raw-copy"))
        return items
    record.update(method="sqlite-backup-api", scope="whole", bytes=_snapshot_size(db))
    if plan.selection is not None:
        record["note"] = "the whole database, including threads that were not selected"
    plan.databases.append(record)
    return [PlanItem(rel, db, role, kind="snapshot")]


def _planned_file(
    item: PlanItem, selected: set[str] | None, plan: BackupPlan
) -> PlannedFile | None:
    """An item with the size the run would write; a file that vanished meanwhile is noted."""
    try:
        if item.kind == "snapshot":
            size, method, estimated = _snapshot_size(item.src), "snapshot", True
        elif item.kind == "filter":
            assert selected is not None
            lines = _filtered_lines(item.src, item.filter_key, selected)
            size, method, estimated = sum(len(line) for line in lines), "filter", False
        else:
            size, method, estimated = item.src.stat().st_size, "copy", False
            if item.kind == "raw-copy":
                method = "raw-copy"
    except FileNotFoundError:
        plan.warnings.append(f"{item.rel} disappeared while the backup was planned")
        return None
    return PlannedFile(item.rel, size, item.role, method, str(item.src), estimated)


def _snapshot_size(db: Path) -> int:
    """The size a snapshot of ``db`` would have: its pages as of the last commit in the WAL.

    Read from the file headers (checksums unchecked, hence an estimate), so nothing in the home
    is opened through SQLite.
    """
    size = db.stat().st_size
    with open(db, "rb") as f:
        head = f.read(100)
    if len(head) < 100:
        return size
    raw_page = int.from_bytes(head[16:18], "big")
    page = 65536 if raw_page == 1 else raw_page
    if page < 512:
        return size
    pages = size // page
    if head[24:28] == head[92:96] and int.from_bytes(head[28:32], "big"):
        pages = int.from_bytes(head[28:32], "big")  # the header's own count is valid
    try:
        with open(str(db) + "-wal", "rb") as w:
            wal_size = os.fstat(w.fileno()).st_size
            wal_head = w.read(32)
            if len(wal_head) == 32 and int.from_bytes(wal_head[:4], "big") in _WAL_MAGIC:
                wal_page = int.from_bytes(wal_head[8:12], "big")
                salts = wal_head[16:24]
                at = 32
                while wal_page >= 512 and at + 24 + wal_page <= wal_size:
                    w.seek(at)
                    frame = w.read(24)
                    if len(frame) < 24 or frame[8:16] != salts:
                        break  # the end, or frames of an earlier WAL generation
                    commit = int.from_bytes(frame[4:8], "big")
                    if commit:
                        pages, page = commit, wal_page
                    at += 24 + wal_page
    except OSError:
        pass
    return pages * page
