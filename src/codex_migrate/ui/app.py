"""The ASGI application: routes to the screens, static files, and the security gate around all.

``create_app`` returns the guarded app (what uvicorn or a test client talks to); the Starlette
app inside holds the configuration, the session store and the job runner in ``app.state``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codex_migrate.ui.common import UIConfig
from codex_migrate.ui.jobs import JobRunner
from codex_migrate.ui.security import Guard
from codex_migrate.ui.sessions import SessionStore
from codex_migrate.ui.views import (
    backup,
    base,
    doctor,
    migrate,
    migrate_apply,
    repair,
    sync,
    tools,
)
from codex_migrate.ui.views import snapshots as snaps

GET, POST = ["GET"], ["POST"]


def routes() -> list[Route | Mount]:
    from pathlib import Path

    static = Path(__file__).parent / "static"
    return [
        Route("/", base.index, methods=GET),
        Route("/lang", base.set_language, methods=POST),
        Route("/browse", base.browse, methods=GET),
        Route("/browse/native", base.browse_native, methods=POST),
        Route("/jobs/{job}", base.job_page, methods=GET),
        Route("/jobs/{job}/events", base.job_events, methods=GET),
        Route("/jobs/{job}/cancel", base.job_cancel, methods=POST),
        # migrate
        Route("/migrate", migrate.source_page, methods=GET),
        Route("/migrate/source", migrate.source_submit, methods=POST),
        Route("/migrate/reset", migrate_apply.reset, methods=POST),
        Route("/migrate/select", migrate.select_page, methods=GET),
        Route("/migrate/select", migrate.select_submit, methods=POST),
        Route("/migrate/map", migrate.map_page, methods=GET),
        Route("/migrate/map", migrate.map_submit, methods=POST),
        Route("/migrate/preview", migrate_apply.preview_page, methods=GET),
        Route("/migrate/exclude", migrate_apply.exclude_conflicts, methods=POST),
        Route("/migrate/conflicts", migrate_apply.settle_conflicts_submit, methods=POST),
        Route("/migrate/apply", migrate_apply.apply_submit, methods=POST),
        # repair and doctor
        Route("/repair", repair.repair_page, methods=GET),
        Route("/repair", repair.repair_submit, methods=POST),
        Route("/repair/preview", repair.repair_preview, methods=GET),
        Route("/repair/apply", repair.repair_apply, methods=POST),
        Route("/doctor", doctor.doctor_page, methods=GET),
        Route("/doctor/preview", doctor.doctor_preview, methods=GET),
        Route("/doctor/fix", doctor.doctor_fix, methods=POST),
        # backup, export, snapshots
        Route("/backup", backup.backup_page, methods=GET),
        Route("/backup", backup.backup_start, methods=POST),
        Route("/backup/preview", backup.backup_preview, methods=GET),
        Route("/backup/apply", backup.backup_apply, methods=POST),
        Route("/export", tools.export_page, methods=GET),
        Route("/export", tools.export_start, methods=POST),
        Route("/export/preview", tools.export_preview, methods=GET),
        Route("/export/apply", tools.export_apply, methods=POST),
        Route("/exports/{job}/{n}", tools.export_file, methods=GET),
        Route("/snapshots", snaps.list_page, methods=GET),
        Route("/snapshots/{tx}", snaps.show_page, methods=GET),
        Route("/snapshots/{tx}/{action}", snaps.confirm_page, methods=GET),
        Route("/snapshots/{tx}/{action}", snaps.act, methods=POST),
        # sync
        Route("/sync", sync.sync_page, methods=GET),
        Route("/sync", sync.sync_submit, methods=POST),
        Route("/sync/preview", sync.sync_preview_page, methods=GET),
        Route("/sync/apply", sync.sync_apply, methods=POST),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]


def create_app(config: UIConfig) -> Guard:
    """The whole UI for one run: token, port and homes are fixed for its lifetime."""
    app = Starlette(
        routes=routes(),
        exception_handlers={404: base.not_found_handler},
    )
    sessions = SessionStore()
    app.state.config = config
    app.state.sessions = sessions
    app.state.jobs = JobRunner()
    return Guard(app, tokens=config.tokens, port=config.port, sessions=sessions)
