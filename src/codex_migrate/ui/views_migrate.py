"""Migrate: 1) source, 2) sessions, 3) folders, then the plan's preview and Apply.

The steps collect exactly what ``codex-migrate import`` takes (SOURCE, ``--thread``, ``--map``,
``--history-only``, ``--wsl``); the preview is its ``--dry-run`` (same engine calls), and Apply
rebuilds the plan, refuses if it differs from the one previewed, then runs ``apply_import`` in
the job runner, followed by the same Codex registration the CLI does.

Reading the source (an archive is verified and extracted, then every rollout is read) and
building the preview (the target is read and files are compared) are read jobs: they show
progress like Apply does, without taking the write slot, and their job page leads back to the
step when they are done.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, ProgressFn, Thread, build_catalog, cwd_exists
from codex_migrate.codex_app import CodexAppError, find_codex, project_threads
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import open_home
from codex_migrate.importer import ImportReport, apply_import
from codex_migrate.merge import raw_lines, rewritten_lines
from codex_migrate.pathmap import MappingPlan, PathMapper
from codex_migrate.plan import ImportPlan, build_import_plan, raise_on_conflicts
from codex_migrate.source import open_source
from codex_migrate.ui.codex_check import CodexListing, list_in_codex
from codex_migrate.ui.common import (
    PlanChanged,
    common_parent,
    config_of,
    digest,
    error_page,
    field_str,
    form_of,
    open_target,
    see_other,
)
from codex_migrate.ui.jobs import DONE, RUNNING, Busy, Cancelled, Job
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.sessions import Binding, MigrateState
from codex_migrate.verify import verify_home

LINE_PREVIEW = 240
SUPERSEDED = "reading {path} was cancelled: another source was chosen, or Start over was used."


def _state(request: Request) -> MigrateState:
    return session_of(request).migrate


def _need_source(request: Request) -> Response | None:
    if _state(request).source_catalog is None:
        return see_other("/migrate")
    return None


# -- step 1: source ---------------------------------------------------------------------------


def _job_of(request: Request, job_id: str | None) -> Job | None:
    job: Job | None = request.app.state.jobs.get(job_id) if job_id else None
    return job if job is not None and job.owner == session_of(request).id else None


def source_page(request: Request) -> Response:
    state = _state(request)
    config = config_of(request)
    reading = _job_of(request, state.read_job)
    if reading is not None and reading.state != RUNNING:
        reading = None
    typed = (
        request.query_params.get("source")
        or (reading.context.get("path") if reading else None)
        or state.source_path
        or ""
    )
    if not typed and config.demo_source is not None:
        typed = str(config.demo_source)
    return render(
        request,
        "migrate_source.html",
        {
            "step": 1,
            "typed": typed,
            "catalog": state.source_catalog,
            "home": state.source_home,
            "target": config.codex_home,
            "reading": reading,
        },
    )


def _unpacking(progress: ProgressFn) -> ProgressFn:
    """Opening an archive verifies it while extracting it: its ``verify`` stage (bytes of the
    archive) is shown as unpacking, not as Apply's final verification."""

    def report(stage: str, done: int, total: int) -> None:
        progress("unpack" if stage == "verify" else stage, done, total)

    return report


def source_submit(request: Request) -> Response:
    form = form_of(request)
    path = field_str(form, "source")
    session = session_of(request)
    config = config_of(request)
    if not path:
        return render(
            request,
            "migrate_source.html",
            {"step": 1, "typed": "", "missing": True, "target": config.codex_home},
            status=400,
        )
    source = Path(path).expanduser()
    target = config.codex_home
    ticket = secrets.token_urlsafe(12)

    def work(progress: ProgressFn) -> None:
        stack = contextlib.ExitStack()
        try:
            home = stack.enter_context(open_source(source, progress=_unpacking(progress)))
            if home.root.resolve() == target.absolute().resolve():
                raise CodexMigrateError(
                    "SOURCE and the target are the same home.",
                    hint="Choose the copied folder or backup, not this machine's Codex home.",
                )
            catalog = build_catalog(home, progress)
        except BaseException:
            stack.close()  # an extracted archive is deleted
            raise
        with session.lock:
            state = session.migrate
            if state.read_ticket == ticket:
                state.set_source(path, home, catalog, stack)
                state.read_ticket = None
                return
        stack.close()
        raise Cancelled(SUPERSEDED.format(path=path))

    jobs = request.app.state.jobs
    context = {"back": "/migrate?source=" + quote(path, safe="/"), "next": "/migrate", "path": path}
    with session.lock:
        state = session.migrate
        previous = _job_of(request, state.read_job)
        if previous is not None:  # only the latest choice is read
            previous.cancel(SUPERSEDED.format(path=previous.context.get("path")))
        state.read_ticket = ticket
        job = jobs.start("source", session.id, work, context, write=False)
        state.read_job = job.id
    return see_other(f"/jobs/{job.id}")


# -- step 2: sessions -------------------------------------------------------------------------


@dataclass
class ProjectRow:
    cwd: str
    exists: bool
    threads: list[Thread]
    size: int
    latest: float
    archived: int
    selected: int
    shown: list[Thread] = field(default_factory=list)


def matches_query(t: Thread, q: str) -> bool:
    if not q:
        return True
    hay = " ".join(x for x in (t.id, t.name, t.title, t.cwd) if x).casefold()
    return all(word in hay for word in q.casefold().split())


def project_rows(catalog: Catalog, selected: set[str], q: str = "") -> list[ProjectRow]:
    """The tree of step 2 (and of Export): projects with counts, sizes and dates."""
    by_id = {t.id: t for t in catalog.threads}
    rows = []
    for p in catalog.projects:
        threads = [by_id[i] for i in p.thread_ids]
        rows.append(
            ProjectRow(
                cwd=p.cwd,
                exists=p.exists,
                threads=threads,
                size=sum(t.size for t in threads),
                latest=max((t.mtime for t in threads), default=0.0),
                archived=p.archived,
                selected=sum(1 for t in threads if t.id in selected),
                shown=[t for t in threads if matches_query(t, q)],
            )
        )
    return rows


def hidden_selected(rows: list[ProjectRow], selected: set[str]) -> list[str]:
    """Selected sessions a search hides: the form still submits them."""
    shown = {t.id for r in rows for t in r.shown}
    return [t.id for r in rows for t in r.threads if t.id in selected and t.id not in shown]


def select_page(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    catalog = state.source_catalog
    assert catalog is not None
    selected = set(
        state.selected if state.selected is not None else (t.id for t in catalog.threads)
    )
    q = request.query_params.get("q", "").strip()
    rows = project_rows(catalog, selected, q)
    return render(
        request,
        "migrate_select.html",
        {
            "step": 2,
            "rows": rows,
            "q": q,
            "selected": selected,
            "hidden_selected": hidden_selected(rows, selected),
            "total": len(catalog.threads),
            "source": state.source_home,
        },
    )


def select_submit(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    state = _state(request)
    catalog = state.source_catalog
    assert catalog is not None
    known = {t.id for t in catalog.threads}
    action = field_str(form, "action")
    q = field_str(form, "q")
    chosen = {v for v in form.getlist("thread") if isinstance(v, str) and v in known}
    if action in ("all", "none"):
        matching = {t.id for t in catalog.threads if matches_query(t, q)}
        chosen = (chosen | matching) if action == "all" else (chosen - matching)
    with session_of(request).lock:
        state.selected = [t.id for t in catalog.threads if t.id in chosen]
        state.plan_digest = None
    if action in ("all", "none", "filter"):
        return see_other("/migrate/select" + (f"?q={q}" if q else ""))
    if not chosen:
        return see_other("/migrate/select?empty=1")
    return see_other("/migrate/map")


# -- step 3: folders --------------------------------------------------------------------------


def _selected_threads(state: MigrateState) -> list[Thread]:
    catalog = state.source_catalog
    assert catalog is not None
    chosen = set(state.selected if state.selected is not None else (t.id for t in catalog.threads))
    return [t for t in catalog.threads if t.id in chosen]


def selected_projects(state: MigrateState) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for t in _selected_threads(state):
        if t.cwd:
            counts[t.cwd] = counts.get(t.cwd, 0) + 1
    return sorted(counts.items())


def mapper_of(binding: Binding) -> PathMapper:
    """The engine's mapper for the user's choices; a ValueError names a bad rule."""
    return PathMapper(binding.rule_texts(), history_only=binding.history_only, wsl=binding.wsl)


def mapping_rows(
    binding: Binding, projects: list[tuple[str, int]]
) -> tuple[list[dict[str, Any]], MappingPlan | None, str | None]:
    """Per project: its exact rule (if any), what the engine decides, and whether it exists."""
    try:
        mapper = mapper_of(binding)
    except ValueError as exc:
        return [], None, str(exc)
    plan = mapper.plan([cwd for cwd, _ in projects], exists=cwd_exists)
    exact = dict(binding.rules)
    rows = []
    for (cwd, count), p in zip(projects, plan.projects, strict=True):
        status = p.status.value
        if status == "unmapped" and cwd_exists(cwd):
            status = "kept"
        rows.append(
            {
                "cwd": cwd,
                "count": count,
                "status": status,
                "new_path": p.new_path,
                "exists": p.exists,
                "rule": str(p.rule) if p.rule else None,
                "exact": exact.get(cwd, ""),
                "history_only": cwd in binding.history_only,
            }
        )
    return rows, plan, None


def apply_binding_form(binding: Binding, form: Any, projects: list[str]) -> str | None:
    """Read step 3's (or Repair's) form into ``binding``; a message when a rule is refused."""
    for n, cwd in enumerate(projects):
        if field_str(form, f"old_{n}") != cwd:
            continue  # the page was for another selection: ignore its rows
        hist = form.get(f"hist_{n}") == "1"
        new = field_str(form, f"new_{n}")
        if hist:
            binding.set_history_only(cwd, True)
        else:
            binding.set_history_only(cwd, False)
            binding.set_rule(cwd, new)
    remove = field_str(form, "remove_rule")
    if remove:
        binding.rules = [(o, n) for o, n in binding.rules if f"{o}={n}" != remove]
    rule_old, rule_new = field_str(form, "rule_old"), field_str(form, "rule_new")
    if form.get("wsl_present") == "1":
        binding.wsl = form.get("wsl") == "1"
    if rule_old and rule_new:
        if not Path(rule_new).is_absolute() and not rule_new.startswith(("\\", "/")):
            return "relative"
        binding.set_rule(rule_old, rule_new)
    elif rule_new:
        return "half_rule"  # the old side is pre-filled with a suggestion: only NEW counts
    return None


def map_page(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    projects = selected_projects(state)
    rows, plan, rule_error = mapping_rows(state.binding, projects)
    exact = {cwd for cwd, _ in projects}
    parent_rules = [(o, n) for o, n in state.binding.rules if o not in exact]
    missing = [cwd for cwd, _ in projects if not cwd_exists(cwd)]
    return render(
        request,
        "migrate_map.html",
        {
            "step": 3,
            "rows": rows,
            "plan": plan,
            "rule_error": rule_error or request.query_params.get("error"),
            "parent_rules": parent_rules,
            "suggested_old": common_parent(missing),
            "binding": state.binding,
            "threads": len(_selected_threads(state)),
        },
    )


def map_submit(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    form = form_of(request)
    projects = [cwd for cwd, _ in selected_projects(state)]
    with session_of(request).lock:
        problem = apply_binding_form(state.binding, form, projects)
        state.plan_digest = None
    if problem:
        return see_other(f"/migrate/map?error={problem}")
    if field_str(form, "action") == "preview":
        return see_other("/migrate/preview")
    return see_other("/migrate/map")


# -- preview and apply ------------------------------------------------------------------------


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
