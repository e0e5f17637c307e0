"""Export: the ``export-html``/``export-md`` commands as a form, a dry run and a confirm.

It writes only new files outside the Codex home, through the same engine calls as the CLI,
one at a time in the job runner. An exported HTML file is served back to this session only,
by its index in the job's report (never by a path from the request), under its own strict CSP
in a sandbox, so it opens in a new tab without any script or access to this app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.errors import CodexMigrateError
from codex_migrate.export.html import content_security_policy
from codex_migrate.service.reading import home_catalog
from codex_migrate.service.tools import (
    ExportPlan,
    ExportReport,
    Selection,
    export_threads,
    plan_export,
)
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
from codex_migrate.ui.jobs import DONE
from codex_migrate.ui.loading import catalog_for
from codex_migrate.ui.render import render, request_locale, session_of
from codex_migrate.ui.render import translate as _t
from codex_migrate.ui.tree import apply_tree_form, tree_query, tree_view

EXPORT_FORMATS = ("html", "md")


# -- export -----------------------------------------------------------------------------------


def export_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    try:
        catalog = catalog_for(request)
    except (CodexMigrateError, OSError) as exc:
        return unreadable_home_page(request, exc, _t(request, "Export"))
    if isinstance(catalog, Response):
        return catalog
    session = session_of(request)
    selected = set(session.extra.get("export_selected", ()))
    tree = tree_view(catalog, selected, request.query_params)
    return render(
        request,
        "export.html",
        {
            "tree": tree,
            "rows": tree.rows,
            "q": tree.q,
            "selected": selected,
            "total": len(catalog.threads),
            "dest": session.extra.get("export_dest")
            or str(config_of(request).default_dest("exports")),
            "error": error,
        },
        status=status,
    )


def export_start(request: Request) -> Response:
    form = form_of(request)
    session = session_of(request)
    action = field_str(form, "action")
    dest = field_str(form, "dest")
    try:
        catalog = catalog_for(request)
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/", status=409)
    if isinstance(catalog, Response):
        return catalog
    with session.lock:
        session.extra["export_dest"] = dest
        before = set(session.extra.get("export_selected", ()))
        chosen = apply_tree_form(form, catalog, before)
        session.extra["export_selected"] = sorted(chosen)
        ids = [t.id for t in catalog.threads if t.id in chosen]
        if action in ("all", "none", "filter") or form.get("nav") is not None:
            return see_other("/export" + tree_query(form))
    fmt = field_str(form, "format", "html")
    redact = form.get("redact") == "1"
    overwrite = form.get("overwrite") == "1"
    if fmt not in EXPORT_FORMATS:
        fmt = "html"
    if not dest or not Path(dest).expanduser().is_absolute():
        return export_page(request, "dest", status=400)
    out = Path(dest).expanduser()
    if not config_of(request).may_write(out):
        return export_page(request, "outside_demo", status=400)
    if not ids:
        return export_page(request, "none", status=400)
    with session.lock:
        session.extra["export"] = {
            "ids": ids,
            "format": fmt,
            "dest": str(out),
            "redact": redact,
            "overwrite": overwrite,
        }
        withdraw(session, "export")
    return see_other("/export/preview")


#: Sessions listed in the export's preview; the rest are counted.
PREVIEW_ROWS = 200


def _choices(asked: dict[str, Any]) -> dict[str, Any]:
    """The user's export choices as the service takes them: the preview and the write are
    given the very same ones."""
    return {
        "selection": Selection(thread_ids=tuple(asked["ids"])),
        "fmt": asked["format"],
        "output_dir": Path(asked["dest"]),
        "redact": asked["redact"],
        "overwrite": asked["overwrite"],
    }


def _plan(catalog: Catalog, asked: dict[str, Any], progress: ProgressFn | None) -> ExportPlan:
    return plan_export(catalog, **_choices(asked), progress=progress)


def _fingerprint(planned: tuple[Catalog, ExportPlan]) -> str:
    return digest(planned[1].to_dict())


def export_preview(request: Request) -> Response:
    """``export-html --dry-run``: the file each session gets, and whether it is written,
    replaced or skipped; nothing is written."""
    asked = session_of(request).extra.get("export")
    if not asked:
        return see_other("/export")
    try:
        catalog = catalog_for(request)
        if isinstance(catalog, Response):
            return catalog
        plan = _plan(catalog, asked, None)
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/export", status=409)
    confirm = offer(
        request,
        "export",
        _fingerprint((catalog, plan)),
        action="/export/apply",
        preview_url="/export/preview",
    )
    return render(
        request,
        "export_preview.html",
        {"plan": plan, "offer": confirm, "shown": plan.threads[:PREVIEW_ROWS]},
    )


@confirmed("export", "/export/preview")
def export_apply(request: Request) -> Response:
    asked = dict(session_of(request).extra.get("export") or {})
    if not asked or not config_of(request).may_write(Path(asked["dest"])):
        return see_other("/export")
    home_path = config_of(request).codex_home
    lang = request_locale(request)  # the exported pages speak the UI's language

    def plan(progress: ProgressFn) -> tuple[Catalog, ExportPlan]:
        catalog = home_catalog(home_path, progress)
        return catalog, _plan(catalog, asked, progress)

    def write(planned: tuple[Catalog, ExportPlan], progress: ProgressFn) -> ExportReport:
        return export_threads(planned[0], **_choices(asked), progress=progress, lang=lang)

    return run_confirmed(request, "export", plan, _fingerprint, write, back="/export")


def export_file(request: Request) -> Response:
    """One exported HTML file of a finished export job of this session, sandboxed."""
    job = request.app.state.jobs.get(request.path_params["job"])
    session = session_of(request)
    if job is None or job.owner != session.id or job.state != DONE or job.kind != "export":
        return render(request, "not_found.html", {"back": "/export"}, status=404)
    report: ExportReport = job.result
    try:
        n = int(request.path_params["n"])
        item = report.files[n]
    except (ValueError, IndexError):
        return render(request, "not_found.html", {"back": "/export"}, status=404)
    if report.format != "html":
        return render(request, "not_found.html", {"back": "/export"}, status=404)
    try:
        body = Path(item.path).read_bytes()
    except OSError as exc:
        return error_page(request, exc, back=f"/jobs/{job.id}", status=410)
    csp = content_security_policy() + "; sandbox; frame-ancestors 'none'"
    return HTMLResponse(body, headers={"content-security-policy": csp})
