"""What marks a folder as a backup, or as one still being written, by name alone: opening a
plain home checks only these, without loading the manifest code (:mod:`codex_migrate.manifest`,
which re-exports them)."""

from __future__ import annotations

from pathlib import Path

from codex_migrate.errors import HomeNotFound

MANIFEST_NAME = "manifest.json"
#: The folder name a backup gets inside ``--output-parent`` and inside an archive's temp copy.
BACKUP_DIR_NAME = "Codex_backup"
#: Part of the name of a backup that is still being written (or was interrupted).
INCOMPLETE_TAG = ".incomplete-"


class BackupIncomplete(HomeNotFound):
    """A backup without a valid manifest: interrupted, damaged, or not ours."""

    code = "backup-incomplete"


def is_unfinished(path: Path) -> bool:
    """Whether ``path`` is (inside) a backup still under its temporary ``.incomplete-`` name."""
    return INCOMPLETE_TAG in path.name or INCOMPLETE_TAG in path.parent.name
