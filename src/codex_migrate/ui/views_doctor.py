"""Doctor: why each thread of this machine's home is (in)visible in Codex, and the safe fixes.

Until the engine's own ``doctor`` module lands, the diagnosis shown is what the catalog
already records per thread (the reasons Codex hides it) and the fixes are exactly those of
``rebind`` with no folder rules: DB rows pointing elsewhere or missing, names only in the index,
rows without a rollout, a stuck backfill. The page is the dry run; the button applies that plan
(rebuilt and compared first) as one transaction, like Repair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, ProgressFn, Thread, build_catalog
from codex_migrate.errors import CodexMigrateError, HomeNotFound
from codex_migrate.home import open_home
from codex_migrate.pathmap import PathMapper
from codex_migrate.rebind import RebindItem, RebindPlan, apply_rebind, build_rebind_plan
from codex_migrate.ui.common import (
    PlanChanged,
    busy_page,
    config_of,
    empty_home_page,
    error_page,
    field_str,
    form_of,
    see_other,
)
from codex_migrate.ui.jobs import Busy
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.render import translate as _t
from codex_migrate.ui.views_repair import RepairResult, fingerprint
from codex_migrate.verify import verify_home


@dataclass
class Diagnosis:
    thread: Thread
    status: str  # "visible" | "folder_missing" | "hidden"
    reasons: list[str] = field(default_factory=list)
    fix: RebindItem | None = None


def _safe_plan(catalog: Catalog) -> RebindPlan:
    return build_rebind_plan(catalog, PathMapper())


def diagnose(catalog: Catalog, plan: RebindPlan) -> list[Diagnosis]:
    fixes = {i.id: i for i in plan.items}
    missing = {p.cwd for p in catalog.projects if not p.exists}
    out = []
    for t in catalog.threads:
        if t.problems:
            status = "hidden"
        elif t.cwd in missing:
            status = "folder_missing"
        else:
            status = "visible"
        out.append(Diagnosis(t, status, list(t.problems), fixes.get(t.id)))
    order = {"hidden": 0, "folder_missing": 1, "visible": 2}
    out.sort(key=lambda d: order[d.status])
    return out


def doctor_page(request: Request) -> Response:
    try:
        catalog = build_catalog(open_home(config_of(request).codex_home))
        plan = _safe_plan(catalog)
    except HomeNotFound as exc:
        return empty_home_page(request, exc, _t(request, "Doctor"))
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/", status=409)
    fp = fingerprint(plan)
    session = session_of(request)
    with session.lock:
        session.extra["doctor_digest"] = fp
    rows = diagnose(catalog, plan)
    counts = {
        s: sum(1 for d in rows if d.status == s) for s in ("hidden", "folder_missing", "visible")
    }
    return render(
        request,
        "doctor.html",
        {"rows": rows, "plan": plan, "digest": fp, "counts": counts, "catalog": catalog},
    )


def doctor_fix(request: Request) -> Response:
    session = session_of(request)
    expected = field_str(form_of(request), "digest")
    if not expected or expected != session.extra.get("doctor_digest"):
        return see_other("/doctor")
    home_path = config_of(request).codex_home

    def work(progress: ProgressFn) -> RepairResult:
        catalog = build_catalog(open_home(home_path), progress)
        plan = _safe_plan(catalog)
        if fingerprint(plan) != expected:
            raise PlanChanged(
                "the home changed since the diagnosis; nothing was written.",
                hint="Look at the new diagnosis, then apply again.",
            )
        report = apply_rebind(plan, progress)
        after = verify_home(build_catalog(open_home(home_path)))
        return RepairResult(plan, report, after["problems"])

    try:
        job = request.app.state.jobs.start("rebind", session.id, work, {"back": "/doctor"})
    except Busy as exc:
        return busy_page(request, exc)
    return see_other(f"/jobs/{job.id}")
