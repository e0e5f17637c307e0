"""Backup: the ``backup`` command as a form, its dry run, and the confirmed write.

The form only records what to back up; ``/backup/preview`` is ``backup --dry-run`` (where it
goes, how many sessions and files, what is left out), and its button confirms through the one
confirm protocol (``ui.confirm``). The backup writes only new files outside the Codex home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError, HomeNotFound
from codex_migrate.home import open_home
from codex_migrate.manifest import BACKUP_DIR_NAME
from codex_migrate.service.tools import BackupPlan, BackupReport, plan_backup, run_backup
from codex_migrate.ui.common import (
    config_of,
    digest,
    error_page,
    field_str,
    form_of,
    see_other,
    unreadable_home_page,
)
from codex_migrate.ui.confirm import confirmed, offer, run_confirmed, withdraw
from codex_migrate.ui.loading import catalog_for
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.render import translate as _t

BACKUP_FORMATS = ("folder", "tar.zst", "zip")


def backup_page(
    request: Request, error: str | None = None, status: int = 200, dest: str = ""
) -> Response:
    try:
        catalog = catalog_for(request)
    except (CodexMigrateError, OSError) as exc:
        return unreadable_home_page(request, exc, _t(request, "Backup"))
    if isinstance(catalog, Response):
        return catalog
    q = request.query_params
    return render(
        request,
        "backup.html",
        {
            "catalog": catalog,
            "dest": dest or q.get("dest") or str(config_of(request).default_dest("backups")),
            "error": error,
            "formats": BACKUP_FORMATS,
        },
        status=status,
    )


def backup_start(request: Request) -> Response:
    """The form: check it, remember it, and show its dry run (nothing is written here)."""
    form = form_of(request)
    dest = field_str(form, "dest")
    fmt = field_str(form, "format", "folder")
    scope = field_str(form, "scope", "all")
    projects = [p for p in form.getlist("project") if isinstance(p, str)] if scope == "some" else []
    if fmt not in BACKUP_FORMATS:
        fmt = "folder"
    if not dest or not Path(dest).expanduser().is_absolute():
        return backup_page(request, "dest", status=400, dest=dest)
    if scope == "some" and not projects:
        return backup_page(request, "projects", status=400, dest=dest)
    if not config_of(request).may_write(Path(dest).expanduser()):
        return backup_page(request, "outside_demo", status=400, dest=dest)
    session = session_of(request)
    with session.lock:
        session.extra["backup"] = {
            "dest": dest,
            "format": fmt,
            "projects": projects,
            "full": form.get("full") == "1",
        }
        withdraw(session, "backup")
    return see_other("/backup/preview")


def _where(asked: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``backup`` for what the form asked (the same for dry run and run)."""
    parent = Path(asked["dest"]).expanduser()
    if asked["format"] == "folder":
        return {"output_parent": parent, "projects": asked["projects"], "full": asked["full"]}
    archive = parent / f"{BACKUP_DIR_NAME}.{asked['format']}"
    return {"archive": archive, "projects": asked["projects"], "full": asked["full"]}


def _plan(home_path: Path, asked: dict[str, Any], progress: ProgressFn | None) -> BackupPlan:
    return plan_backup(open_home(home_path), progress=progress, **_where(asked))


def _fingerprint(plan: BackupPlan) -> str:
    """Where it goes, in what form, and which files: not their sizes (Codex may be writing)."""
    return digest(
        {
            "path": str(plan.path),
            "format": plan.format,
            "content": plan.content,
            "files": sorted(f.path for f in plan.files),
        }
    )


def backup_preview(request: Request) -> Response:
    asked = session_of(request).extra.get("backup")
    if not asked:
        return see_other("/backup")
    try:
        plan = _plan(config_of(request).codex_home, asked, None)
    except HomeNotFound:
        return see_other("/backup")
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/backup", status=409)
    confirm = offer(
        request, "backup", _fingerprint(plan), action="/backup/apply", preview_url="/backup/preview"
    )
    return render(request, "backup_preview.html", {"plan": plan, "offer": confirm})


@confirmed("backup", "/backup/preview")
def backup_apply(request: Request) -> Response:
    asked = dict(session_of(request).extra.get("backup") or {})
    home_path = config_of(request).codex_home
    if not asked or not config_of(request).may_write(Path(asked["dest"]).expanduser()):
        return see_other("/backup")

    def plan(progress: ProgressFn) -> BackupPlan:
        return _plan(home_path, asked, progress)

    def write(planned: BackupPlan, progress: ProgressFn) -> BackupReport:
        return run_backup(open_home(home_path), progress=progress, **_where(asked))

    return run_confirmed(request, "backup", plan, _fingerprint, write, back="/backup")
