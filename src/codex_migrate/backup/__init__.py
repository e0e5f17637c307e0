"""Back up a Codex home: session data by default, in the home's own layout, with a manifest.

The engine never prints or prompts; it reports progress through ``progress(stage, done,
total)`` (stage ``"scan"`` counts rollouts, ``"backup"`` counts bytes) and returns a
:class:`BackupReport`.

Why it is built this way:

* SQLite files are copied with SQLite's online backup API from a read-only connection, so what
  still sits in the ``-wal`` file is included and a Codex writing meanwhile cannot tear the
  copy. They are snapshotted *before* the rollouts are listed, so every DB row has its rollout
  in the backup (a row without its file hides the thread, docs/STORAGE.md §4); a rollout newer than
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

from codex_migrate.backup.dry_run import BackupPlan, PlannedFile, plan_backup
from codex_migrate.backup.engine import run_backup
from codex_migrate.backup.naming import free_path, split_archive_name
from codex_migrate.backup.planner import DbItems
from codex_migrate.backup.select import (
    CREDENTIAL_NAMES,
    INCOMPLETE_NOTE,
    LEFT_OUT_REASONS,
    ROLLOUT_ROLES,
    SQLITE_MAGIC,
    SQLITE_SIDE_SUFFIXES,
    SQLITE_SUFFIXES,
    ZIP_LEVEL,
    ZSTD_LEVEL,
    BackupError,
    BackupReport,
    PlanItem,
    SourceChanged,
    is_credential,
    select_threads,
)
from codex_migrate.backup.snapshot import snapshot_sqlite
from codex_migrate.backup.verify import VerifyReport, verify_backup
from codex_migrate.backup.writers import zstd_flush_frame

__all__ = [
    "CREDENTIAL_NAMES",
    "INCOMPLETE_NOTE",
    "LEFT_OUT_REASONS",
    "ROLLOUT_ROLES",
    "SQLITE_MAGIC",
    "SQLITE_SIDE_SUFFIXES",
    "SQLITE_SUFFIXES",
    "ZIP_LEVEL",
    "ZSTD_LEVEL",
    "BackupError",
    "BackupPlan",
    "BackupReport",
    "DbItems",
    "PlanItem",
    "PlannedFile",
    "SourceChanged",
    "VerifyReport",
    "free_path",
    "is_credential",
    "plan_backup",
    "run_backup",
    "select_threads",
    "snapshot_sqlite",
    "split_archive_name",
    "verify_backup",
    "zstd_flush_frame",
]
