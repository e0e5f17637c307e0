"""The dry run of a backup: what would be written, with predicted sizes, writing nothing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.backup.naming import free_path
from codex_migrate.backup.planner import _collect, _filtered_lines, _selection, _target
from codex_migrate.backup.select import ROLLOUT_ROLES, SQLITE_MAGIC, PlanItem
from codex_migrate.catalog import ProgressFn
from codex_migrate.fsutil import open_regular
from codex_migrate.home import CodexHome
from codex_migrate.manifest import (
    BACKUP_DIR_NAME,
    MANIFEST_NAME,
)
from codex_migrate.rollout import parse_rollout_name

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
        with open_regular(db) as f:
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
    with open_regular(db) as f:
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
