"""SOURCE for ``scan`` and ``import``: a home, a backup folder, or a backup archive.

An archive is checked and extracted in one streaming pass into a private temp folder, read
from there like any home, and removed afterwards. Anything that is not provably a complete
backup (an interrupted one, a damaged one, somebody else's tarball) is refused before it is
read, so a half-written backup can never be imported as if it were the whole history.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from codex_migrate.backupmark import (
    BACKUP_DIR_NAME,
    MANIFEST_NAME,
    BackupIncomplete,
    is_unfinished,
)
from codex_migrate.catalog import ProgressFn
from codex_migrate.home import CodexHome, open_home

if TYPE_CHECKING:
    from codex_migrate.backup.verify import VerifyReport

_NOT_OURS = "incomplete or not a codex-migrate backup"


def _refuse_incomplete(home: CodexHome) -> None:
    """A folder left by an interrupted backup looks like a home; say what it is instead.

    Only the final rename marks a backup complete, so a folder still under its temporary
    name is refused even when its manifest was already written.
    """
    if is_unfinished(home.root):
        raise BackupIncomplete(
            f"{home.root} is {_NOT_OURS}: it was left by a backup that was interrupted or is "
            "still running.",
            hint="Use a complete backup (a Codex_backup folder with a manifest.json).",
            params={"path": str(home.root)},
        )


def _refuse_unless_ok(given: Path, report: VerifyReport) -> None:
    if report.ok:
        return
    first = "; ".join(f"{p['path']}: {p['problem']}" for p in report.problems[:3])
    more = len(report.problems) - 3
    if more > 0:
        first += f"; and {more} more"
    raise BackupIncomplete(
        f"{given} is {_NOT_OURS} ({first}).",
        hint="`codex-migrate verify-backup` on it shows every problem.",
        params={"path": str(given)},
    )


@contextlib.contextmanager
def open_source(
    path: Path | str | None,
    *,
    tmp_parent: Path | None = None,
    progress: ProgressFn | None = None,
) -> Iterator[CodexHome]:
    """The home ``path`` names, readable for the duration of the ``with`` block.

    * ``None`` or a folder: :func:`open_home` (a home, a copy, a ``Codex_backup`` folder, or
      a folder holding one). A leftover of an interrupted backup is refused.
    * A ``.tar.zst``/``.zip`` written by ``codex-migrate backup``: verified against its
      manifest while it is extracted into a temp folder (under ``tmp_parent`` when given),
      which is deleted when the block ends. Any mismatch raises :class:`BackupIncomplete`.
    """
    if path is None:
        yield open_home(None)
        return
    given = Path(path).expanduser()
    if not given.is_file():
        home = open_home(given)
        _refuse_incomplete(home)
        if os.path.lexists(home.root / MANIFEST_NAME):
            # imported here: a plain home (most scans) does not pay for the backup package
            from codex_migrate.backup.verify import verify_backup

            # A backup folder is held to its manifest exactly like an archive: an altered,
            # added or missing file (or a manifest naming paths outside it) is refused.
            report = verify_backup(home.root, progress)
            _refuse_unless_ok(home.root, report)
            home.found.insert(0, f"backup folder ({report.files_checked} files verified)")
        yield home
        return
    # here: a plain home (most scans) does not load the manifest code
    from codex_migrate.manifest import archive_format, remove_tree

    fmt = archive_format(given)
    if fmt is None:
        raise BackupIncomplete(
            f"{given} is not a folder or a backup archive (.tar.zst or .zip): {_NOT_OURS}.",
            hint="Pass a Codex home folder, a Codex_backup folder, or a backup archive.",
            code="not-a-source",
            params={"path": str(given)},
        )
    import tempfile

    from codex_migrate.backup.verify import verify_backup

    if tmp_parent is not None:
        tmp_parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="codex-migrate-source-", dir=tmp_parent))
    try:
        root = tmp / BACKUP_DIR_NAME
        report = verify_backup(given, progress, extract_to=root)
        _refuse_unless_ok(given, report)
        home = open_home(root)
        home.temporary = True  # deleted when the block ends: not worth a listing cache
        home.found.insert(0, f"archive {given} ({report.files_checked} files verified)")
        yield home
    finally:
        remove_tree(tmp)
