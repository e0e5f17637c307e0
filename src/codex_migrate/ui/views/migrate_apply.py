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

from codex_migrate.catalog import ProgressFn
from codex_migrate.codex_listing import CodexListing
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import open_home
from codex_migrate.importer import ImportReport
from codex_migrate.merge import raw_lines, rewritten_lines
from codex_migrate.plan import (
    ON_CONFLICT,
    ImportPlan,
    UnmappedProjects,
)
from codex_migrate.service import check_selection, preview_import, run_import
from codex_migrate.ui.common import config_of, digest, error_page, form_of, see_other
from codex_migrate.ui.confirm import confirmed, offer, run_confirmed, withdraw
from codex_migrate.ui.forms import LINE_PREVIEW, _job_of, _need_source, _state, mapper_of
from codex_migrate.ui.jobs import DONE, RUNNING
from codex_migrate.ui.preview_groups import SMALL, group_plan
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.sessions import MigrateState


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
    """``import --dry-run``: the service's preview, with the user's choices."""
    src_home = state.source_home
    assert src_home is not None
    if fresh:
        source: Any = open_home(src_home.root)
        source.temporary = src_home.temporary  # an extracted archive: never cached
    else:
        assert state.source_catalog is not None
        source = state.source_catalog
    plan = preview_import(
        source,
        target,
        mapper_of(state.binding),
        threads=list(state.selected or []),
        progress=progress,
        choices=state.conflict_choices,
    )
    return plan


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
            "conflicts": state.conflict_choices,
        }
    )


def check_choices(state: MigrateState) -> None:
    """The refusals the preview makes before reading anything: a bad rule (ValueError), an
    unknown session, or selected projects with no folder here."""
    assert state.source_catalog is not None
    check_selection(state.source_catalog, mapper_of(state.binding), list(state.selected or []))


def _choices_now(state: MigrateState) -> MigrateState:
    """A copy of the choices for a preview job: later clicks do not change a running job."""
    return MigrateState(
        source_path=state.source_path,
        source_home=state.source_home,
        source_catalog=state.source_catalog,
        selected=list(state.selected or []),
        binding=copy.deepcopy(state.binding),
        conflict_choices=dict(state.conflict_choices),
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
            state.shown_preview = (key, preview)
            return _render_preview(request, preview)
    q = request.query_params
    shown = state.shown_preview
    if ("open" in q or "from" in q) and shown is not None and shown[0] == key:
        return _render_preview(request, shown[1])  # another page of the preview just shown
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

    refused = request.query_params.get("confirm") == "stale"  # the notice survives the job
    after = "/migrate/preview?confirm=stale" if refused else "/migrate/preview"
    context = {"back": "/migrate/map", "next": after, "key": key}
    with session.lock:
        if job is not None:  # a preview of earlier choices is not needed any more
            job.cancel("this preview was cancelled: the choices changed since it started.")
            job.take()
        job = request.app.state.jobs.start("preview", session.id, work, context, write=False)
        state.preview_job = job.id
    return see_other(f"/jobs/{job.id}")


def _render_preview(request: Request, preview: Preview) -> Response:
    confirm = offer(
        request,
        "import",
        preview.digest,
        action="/migrate/apply",
        preview_url="/migrate/preview",
    )
    q = request.query_params
    try:
        start = int(q.get("from", "0"))
    except ValueError:
        start = 0
    return render(
        request,
        "migrate_preview.html",
        {
            "step": 4,
            "groups": group_plan(preview.plan, q.get("open"), start),
            "small": len(preview.plan.items) <= SMALL,
            "plan": preview.plan,
            "summary": preview.plan.summary(),
            "conflict_lines": preview.conflict_lines,
            "offer": confirm,
            "target": config_of(request).codex_home,
        },
    )


def settle_conflicts_submit(request: Request) -> Response:
    """The choice per conflicting thread: keep this computer's version, or leave it out."""
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    state = _state(request)
    with session_of(request).lock:
        for key, value in form.multi_items():
            if key.startswith("choice_") and isinstance(value, str) and value in ON_CONFLICT:
                state.conflict_choices[key[len("choice_") :]] = value
        withdraw(session_of(request), "import")
    return see_other("/migrate/preview")


def exclude_conflicts(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    drop = {v for v in form.getlist("thread") if isinstance(v, str)}
    state = _state(request)
    with session_of(request).lock:
        state.selected = [t for t in (state.selected or []) if t not in drop]
        withdraw(session_of(request), "import")
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
    #: sessions whose turn index came with them (they open at once, no Codex needed)
    index_carried: int = 0
    listing: CodexListing | None = None


@confirmed("import", "/migrate/preview")
def apply_submit(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    config = config_of(request)

    def plan(progress: ProgressFn) -> ImportPlan:
        return _build_plan(state, config.codex_home, progress, fresh=True)

    def write(plan: ImportPlan, progress: ProgressFn) -> ImportResult:
        outcome = run_import(
            plan,
            codex_bin=config.codex_bin,
            no_codex=config.no_codex,
            progress=progress,
            listing=True,
        )
        reg = outcome.registration
        return ImportResult(
            plan=plan,
            report=outcome.report,
            problems=outcome.problems,
            codex=reg.codex,
            registered=reg.threads,
            register_failed=reg.failed,
            paginated=len(reg.paginated),
            index_carried=reg.index_carried,
            listing=outcome.listing,
        )

    return run_confirmed(request, "import", plan, plan_fingerprint, write, back="/migrate")


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
