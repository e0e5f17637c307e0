"""How a thread's state-DB row compares with its rollout: the row problems that scan, doctor
and verify report (a relative or foreign ``rollout_path``, a missing file, a cwd or history
mode that disagrees, a row missing although the backfill is complete)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from codex_migrate.catalog_thread import Thread, shown, str_or_none
from codex_migrate.home import CodexHome
from codex_migrate.problem import Problem
from codex_migrate.statedb import is_inside

if TYPE_CHECKING:  # types only: the catalog calls this module
    from codex_migrate.catalog import Catalog


def check_row(home: CodexHome, thread: Thread, catalog: Catalog) -> None:
    row = thread.row
    if row is None:
        if catalog.db is not None and catalog.db.backfill_status == "complete":
            thread.add_problem(
                Problem(
                    "file-without-row",
                    "no DB row although backfill is complete: Codex adds it when it next lists",
                )
            )
        return
    path = str(row.get("rollout_path") or "")
    if not os.path.isabs(path):
        thread.add_problem(
            Problem(
                "row-path-relative", f"DB row has a relative rollout_path {path!r}: Codex hides it"
            )
        )
    elif not is_inside(path, home.root) and names_backup_origin(home, path, thread):
        pass  # a backup's DB names the files of the home it was taken from: expected
    elif not is_inside(path, home.root):
        thread.add_problem(
            Problem(
                "row-path-outside-home", f"DB row's rollout_path points outside this home: {path}"
            )
        )
    elif not os.path.exists(path):
        thread.add_problem(
            Problem("row-path-missing", f"DB row's rollout_path does not exist: {path}")
        )
    row_cwd, rollout_cwd = shown(thread)[0], thread.rollout_cwd
    if row_cwd and rollout_cwd and row_cwd != rollout_cwd:
        thread.add_problem(
            Problem(
                "cwd-mismatch",
                f"DB row cwd {row_cwd!r} differs from the rollout's {rollout_cwd!r}",
            )
        )
    row_mode = str_or_none(row.get("history_mode"))
    if row_mode and row_mode != thread.history_mode:
        thread.add_problem(
            Problem(
                "history-mode-mismatch",
                f"DB row says history_mode={row_mode} but the rollout is {thread.history_mode}",
            )
        )


def names_backup_origin(home: CodexHome, path: str, thread: Thread) -> bool:
    """Whether a backup's row names this thread's file in the home the backup was taken from."""
    if home.origin is None or not is_inside(path, home.origin):
        return False
    rel = Path(os.path.normpath(path)).relative_to(home.origin)
    return rel.as_posix() == thread.rel_path
