"""Repair: ``codex-migrate rebind`` on this machine's home, as preview → confirm → transaction.

Projects whose folder is missing are shown by default ("include all projects" is ``--all``);
each gets a folder, a parent rule covers many, or it stays as recorded (history only). The
preview is ``rebind --dry-run``; Apply rebuilds the plan and refuses if it changed.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn, cwd_exists
from codex_migrate.errors import CodexMigrateError
from codex_migrate.rebind import RebindPlan
from codex_migrate.service import home_catalog, preview_rebind, run_rebind
from codex_migrate.ui.common import (
    common_parent,
    config_of,
    error_page,
    field_str,
    form_of,
    see_other,
    unreadable_home_page,
)
from codex_migrate.ui.confirm import confirmed, offer, run_confirmed, withdraw
from codex_migrate.ui.forms import (
    RepairResult,
    apply_binding_form,
    fingerprint,
    mapper_of,
    mapping_rows,
)
from codex_migrate.ui.loading import catalog_for, loaded
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.render import translate as _t


class _Reading(Exception):
    """The home is big and is being read: show the progress page instead."""

    def __init__(self, response: Response) -> None:
        super().__init__("reading")
        self.response = response


def _projects(request: Request) -> tuple[list[tuple[str, int]], int, bool]:
    """(projects shown with their thread counts, all projects, include-all flag)."""
    session = session_of(request)
    catalog = catalog_for(request)
    if isinstance(catalog, Response):
        raise _Reading(catalog)
    shown = [
        (p.cwd, len(p.thread_ids))
        for p in catalog.projects
        if p.cwd and (session.repair_all or not p.exists)
    ]
    return sorted(shown), len(catalog.projects), session.repair_all


def _bare_count(request: Request) -> int:
    """Sessions in the 2025 format (from the catalog this page just read)."""
    catalog = catalog_for(request)
    if isinstance(catalog, Response):
        return 0
    return sum(1 for t in catalog.threads if t.era == "bare")


def repair_page(request: Request) -> Response:
    session = session_of(request)
    if "all" in request.query_params:
        session.repair_all = request.query_params.get("all") == "1"
    focus = request.query_params.get("project")  # from Doctor: this project's row first
    if request.query_params.get("upgrade") == "1":  # from Doctor: convert 2025 sessions
        session.extra["repair_upgrade"] = True
    try:
        projects, total, include_all = _projects(request)
    except _Reading as reading:
        return reading.response
    except (CodexMigrateError, OSError) as exc:
        return unreadable_home_page(request, exc, _t(request, "Repair"))
    if focus and focus not in {cwd for cwd, _ in projects} and not session.repair_all:
        session.repair_all = True  # its folder exists: only "all projects" lists it
        try:
            projects, total, include_all = _projects(request)
        except _Reading as reading:
            return reading.response
    rows, _, rule_error = mapping_rows(session.repair, projects)
    exact = {cwd for cwd, _ in projects}
    missing = [cwd for cwd, _ in projects if not cwd_exists(cwd)]
    return render(
        request,
        "repair.html",
        {
            "rows": rows,
            "total_projects": total,
            "include_all": include_all,
            "parent_rules": [(o, n) for o, n in session.repair.rules if o not in exact],
            "suggested_old": common_parent(missing),
            "binding": session.repair,
            "rule_error": rule_error or request.query_params.get("error"),
            "home": config_of(request).codex_home,
            "focus": focus,
            "bare": _bare_count(request),
            "upgrade": bool(session.extra.get("repair_upgrade")),
        },
    )


def repair_submit(request: Request) -> Response:
    session = session_of(request)
    form = form_of(request)
    try:
        projects, _, _ = _projects(request)
    except _Reading as reading:
        return reading.response
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/", status=409)
    with session.lock:
        if form.get("upgrade_present") == "1":
            session.extra["repair_upgrade"] = form.get("upgrade_bare") == "1"
        problem = apply_binding_form(session.repair, form, [cwd for cwd, _ in projects])
        withdraw(session, "rebind")
    if problem:
        return see_other(f"/repair?error={problem}")
    if field_str(form, "action") == "preview":
        return see_other("/repair/preview")
    return see_other("/repair")


def _planner(request: Request) -> Callable[[ProgressFn | None], RebindPlan]:
    """The rebind preview for the choices made so far, taken now (a ValueError names a bad
    rule), so a job that reads the home later plans exactly what the user chose."""
    session = session_of(request)
    home = config_of(request).codex_home
    mapper = mapper_of(session.repair)
    all_projects = session.repair_all
    upgrade_bare = bool(session.extra.get("repair_upgrade"))

    def plan(progress: ProgressFn | None) -> RebindPlan:
        catalog = home_catalog(home, progress)
        return preview_rebind(catalog, mapper, all_projects=all_projects, upgrade_bare=upgrade_bare)

    return plan


def repair_preview(request: Request) -> Response:
    """The dry run of the repair, read as a job with progress when the home is big; the
    job's key names the choices, so a preview read for other choices is never shown."""
    session = session_of(request)
    try:
        planner = _planner(request)
        choices = (session.repair.rules, session.repair.history_only, session.repair.wsl)
        key = "repair-preview:" + repr(
            (choices, session.repair_all, session.extra.get("repair_upgrade"))
        )
        loaded_plan = loaded(request, config_of(request).codex_home, key, planner)
    except ValueError:
        return see_other("/repair?error=rule")
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/repair", status=409)
    if isinstance(loaded_plan, Response):
        return loaded_plan  # a big home: its progress page
    plan = loaded_plan
    confirm = offer(
        request, "rebind", fingerprint(plan), action="/repair/apply", preview_url="/repair/preview"
    )
    data = plan.to_dict()
    try:
        projects, _, _ = _projects(request)
        rows, _, _ = mapping_rows(session.repair, projects)
    except (_Reading, CodexMigrateError, OSError, ValueError):
        rows = []
    unbound = [r["cwd"] for r in rows if r["status"] in ("unmapped", "invalid")]
    return render(
        request,
        "repair_preview.html",
        {"plan": plan, "summary": data["summary"], "offer": confirm, "unbound": unbound},
    )


@confirmed("rebind", "/repair/preview")
def repair_apply(request: Request) -> Response:
    try:
        plan = _planner(request)
    except ValueError:
        return see_other("/repair?error=rule")

    def write(plan: RebindPlan, progress: ProgressFn) -> RepairResult:
        outcome = run_rebind(plan, progress=progress)
        return RepairResult(plan, outcome.report, outcome.problems, findings=outcome.findings)

    return run_confirmed(request, "rebind", plan, fingerprint, write, back="/repair")
