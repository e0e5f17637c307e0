"""Migrate, last step: the preview of the plan, and Apply (what ``codex-migrate import`` does)."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, ProgressFn, build_catalog
from codex_migrate.codex_app import CodexAppError, find_codex, project_threads
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import open_home, open_target
from codex_migrate.importer import ImportReport, apply_import
from codex_migrate.merge import raw_lines, rewritten_lines
from codex_migrate.plan import (
    ImportPlan,
    UnmappedProjects,
    build_import_plan,
    raise_on_conflicts,
)
from codex_migrate.ui.codex_check import CodexListing, list_in_codex
from codex_migrate.ui.common import (
    PlanChanged,
    config_of,
    digest,
    error_page,
    field_str,
    form_of,
    see_other,
)
from codex_migrate.ui.forms import LINE_PREVIEW, _job_of, _need_source, _state, mapper_of
from codex_migrate.ui.jobs import DONE, RUNNING, Busy
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.sessions import MigrateState
from codex_migrate.verify import verify_home


def plan_fingerprint(plan: ImportPlan) -> str:
    return digest(
        {
            "items": [
                (i.id, i.action, i.target_rel, i.new_cwd, i.archived, i.first_difference)
                for i in plan.items
            ],
            "target": str(plan.target.home.root),
        }
    )


def _build_plan(
    state: MigrateState, target: Path, progress: ProgressFn | None = None, *, fresh: bool = False
) -> ImportPlan:
    """``import --dry-run``: the same engine calls, with the user's choices."""
    mapper = mapper_of(state.binding)
    src_home = state.source_home
    assert src_home is not None
    if fresh:
        src_cat = build_catalog(open_home(src_home.root), progress)
    else:
        assert state.source_catalog is not None
        src_cat = state.source_catalog
    tgt_cat = build_catalog(open_target(target), progress)
    return build_import_plan(
        src_cat, tgt_cat, mapper, threads=list(state.selected or []), progress=progress
    )


def _line(lines: Any, number: int | None) -> str | None:
    if number is None:
        return None
    with contextlib.suppress(OSError, StopIteration):
        for n, raw in enumerate(lines, 1):
            if n == number:
                text: str = raw.decode("utf-8", "replace").rstrip("\n")
                return text if len(text) <= LINE_PREVIEW else text[:LINE_PREVIEW] + "…"
    return None


def conflict_lines(plan: ImportPlan) -> dict[str, tuple[str | None, str | None]]:
    """For each conflict, the first differing line as the import would write it and as the
    target has it, shortened: enough to see which side is which."""
    out = {}
    for item in plan.conflicts:
        tgt = item.target_thread
        src_line = _line(
            rewritten_lines(item.thread.rollout_path, plan.mapper), item.first_difference
        )
        tgt_line = _line(raw_lines(tgt.rollout_path), item.first_difference) if tgt else None
        out[item.id] = (src_line, tgt_line)
    return out


@dataclass
class Preview:
    """What a preview job computed: the plan, its fingerprint and the conflicts' lines."""

    plan: ImportPlan
    digest: str
    conflict_lines: dict[str, tuple[str | None, str | None]]


def choices_key(state: MigrateState) -> str:
    """Which choices a preview was built for: it is only shown while they are still current."""
    b = state.binding
    return digest(
        {
            "source": state.source_token,
            "selected": state.selected,
            "rules": b.rules,
            "history_only": b.history_only,
            "wsl": b.wsl,
        }
    )


def check_choices(state: MigrateState) -> None:
    """The refusals the preview makes before reading anything: a bad rule (ValueError), an
    unknown session, or selected projects with no folder here. These are the engine's own
    checks, run against an empty target, so no file is read or compared."""
    catalog = state.source_catalog
    assert catalog is not None
    empty = Catalog(home=catalog.home)  # only its (absent) threads are consulted
    build_import_plan(catalog, empty, mapper_of(state.binding), threads=list(state.selected or []))


def _choices_now(state: MigrateState) -> MigrateState:
    """A copy of the choices for a preview job: later clicks do not change a running job."""
    return MigrateState(
        source_path=state.source_path,
        source_home=state.source_home,
        source_catalog=state.source_catalog,
        selected=list(state.selected or []),
        binding=copy.deepcopy(state.binding),
    )


def preview_page(request: Request) -> Response:
    """Start a job that builds the preview, or show the one it built for the current choices
    (once: coming back builds it again, as the homes may have changed meanwhile)."""
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    config = config_of(request)
    session = session_of(request)
    if not state.selected and state.selected is not None:
        return see_other("/migrate/select?empty=1")
    if state.selected is None:
        assert state.source_catalog is not None
        state.selected = [t.id for t in state.source_catalog.threads]
    key = choices_key(state)
    job = _job_of(request, state.preview_job)
    if job is not None and job.context.get("key") == key:
        if job.state == RUNNING:
            return see_other(f"/jobs/{job.id}")
        preview = job.take() if job.state == DONE else None
        if preview is not None:
            return _render_preview(request, preview)
    try:
        check_choices(state)
    except ValueError as exc:
        return see_other(f"/migrate/map?error=rule&detail={quote(str(exc))}")
    except UnmappedProjects:
        return see_other("/migrate/map?error=unbound")
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/migrate/map", status=409)
    choices = _choices_now(state)
    target = config.codex_home

    def work(progress: ProgressFn) -> Preview:
        plan = _build_plan(choices, target, progress)
        return Preview(plan, plan_fingerprint(plan), conflict_lines(plan))

    context = {"back": "/migrate/map", "next": "/migrate/preview", "key": key}
    with session.lock:
        if job is not None:  # a preview of earlier choices is not needed any more
            job.cancel("this preview was cancelled: the choices changed since it started.")
            job.take()
        job = request.app.state.jobs.start("preview", session.id, work, context, write=False)
        state.preview_job = job.id
    return see_other(f"/jobs/{job.id}")


def _render_preview(request: Request, preview: Preview) -> Response:
    state = _state(request)
    with session_of(request).lock:
        state.plan_digest = preview.digest
    return render(
        request,
        "migrate_preview.html",
        {
            "step": 4,
            "plan": preview.plan,
            "summary": preview.plan.summary(),
            "conflict_lines": preview.conflict_lines,
            "digest": preview.digest,
            "target": config_of(request).codex_home,
        },
    )


def exclude_conflicts(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    drop = {v for v in form.getlist("thread") if isinstance(v, str)}
    state = _state(request)
    with session_of(request).lock:
        state.selected = [t for t in (state.selected or []) if t not in drop]
        state.plan_digest = None
    return see_other("/migrate/preview")


@dataclass
class ImportResult:
    """What the result page shows: the engine's report, verification and Codex's view."""

    plan: ImportPlan
    report: ImportReport
    problems: list[str]
    codex: str | None = None
    registered: int = 0
    register_failed: list[str] = field(default_factory=list)
    paginated: int = 0
    listing: CodexListing | None = None


def apply_submit(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    state = _state(request)
    config = config_of(request)
    expected = field_str(form, "digest")
    if not expected or expected != state.plan_digest:
        return see_other("/migrate/preview")
    session = session_of(request)

    def work(progress: ProgressFn) -> ImportResult:
        plan = _build_plan(state, config.codex_home, progress, fresh=True)
        if plan_fingerprint(plan) != expected:
            raise PlanChanged(
                "the homes changed since the preview; nothing was written.",
                hint="Review the new preview, then apply again.",
            )
        raise_on_conflicts(plan)
        target = plan.target.home
        target.root.mkdir(parents=True, exist_ok=True)
        report = apply_import(plan, progress)
        result = ImportResult(plan=plan, report=report, problems=[])
        # Like the CLI: Codex projects paginated history now, archived ones when opened.
        carried = set(report.index_carried)  # those open at once, no Codex needed
        paginated = [
            i.id
            for i in plan.writes
            if i.thread.history_mode == "paginated" and not i.archived and i.id not in carried
        ]
        result.paginated = len(paginated)
        binary = None if config.no_codex else find_codex(config.codex_bin)
        if report.transaction_id and paginated and binary is not None:
            result.codex = str(binary)
            progress("register", 0, len(paginated))
            try:
                result.register_failed = project_threads(binary, target.root, paginated)
            except (OSError, CodexAppError) as exc:
                result.register_failed = [str(exc)]
            result.registered = len(paginated) - len(result.register_failed)
        progress("verify", 0, 1)
        after = build_catalog(open_home(target.root))
        ids = {i.id for i in plan.items}
        result.problems = [p for p in verify_home(after)["problems"] if p.split(":", 1)[0] in ids]
        if binary is not None:
            progress("listing", 0, 1)
            result.listing = list_in_codex(binary, target.root, sorted(ids))
        progress("verify", 1, 1)
        return result

    try:
        job = request.app.state.jobs.start("import", session.id, work, {"back": "/migrate"})
    except Busy as exc:
        from codex_migrate.ui.common import busy_page

        return busy_page(request, exc)
    return see_other(f"/jobs/{job.id}")


def reset(request: Request) -> Response:
    """Start over: forget the source (an extracted archive is deleted)."""
    with session_of(request).lock:
        state = session_of(request).migrate
        for job_id in (state.read_job, state.preview_job):
            if (job := _job_of(request, job_id)) is not None:
                job.cancel("cancelled: Start over was used.")
        session_of(request).migrate.close()
        session_of(request).migrate = MigrateState()
    return see_other("/migrate")
