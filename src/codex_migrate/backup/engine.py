"""Running a backup: snapshot, plan, write, manifest last, rename into place."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_migrate import __version__, statedb
from codex_migrate.backup.naming import claim_final_path
from codex_migrate.backup.planner import _cli_version, _collect, _filtered, _selection, _target
from codex_migrate.backup.select import (
    INCOMPLETE_NOTE,
    ROLLOUT_ROLES,
    BackupError,
    BackupReport,
    PlanItem,
)
from codex_migrate.backup.snapshot import _db_mtime_ns, snapshot_sqlite
from codex_migrate.backup.writers import _FolderWriter, _Reader, _TarZstWriter, _Writer, _ZipWriter
from codex_migrate.catalog import ProgressFn
from codex_migrate.fsutil import fsync_dir, open_regular
from codex_migrate.home import ARCHIVED_DIR, CodexHome
from codex_migrate.manifest import (
    BACKUP_DIR_NAME,
    INCOMPLETE_TAG,
    MANIFEST_NAME,
    DirEntry,
    FileEntry,
    Manifest,
    mode_of,
    remove_tree,
)
from codex_migrate.rollout import parse_rollout_name


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
    # The selection first: a --thread that names nothing leaves no folder behind.
    selected, selection = _selection(home, list(threads), list(projects), progress)
    created_parent = not parent.exists()
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"cannot create {parent}: {exc.strerror or exc}",
            code="backup-create",
            params={"path": str(parent)},
        ) from exc

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
        if created_parent:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty: a failed backup leaves no new folder
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
    final = claim_final_path(tmp_out, wanted)
    if fsync:
        fsync_dir(final.parent)
    return final


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
    except statedb.DatabaseError as exc:
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
        with open_regular(item.src) as f:
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
        f = open_regular(item.src)
    except FileNotFoundError:
        moved = _find_moved(home, item)
        if moved is None:
            report.warnings.append(f"{item.rel} disappeared during the backup; not included")
            return None
        item = moved
        f = open_regular(item.src)
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
