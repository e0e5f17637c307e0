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
import secrets
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn, cwd_exists
from codex_migrate.catalog_thread import Thread
from codex_migrate.service import listed_catalog, refuse_same_home, scan_home
from codex_migrate.source import open_source
from codex_migrate.ui.common import (
    common_parent,
    config_of,
    field_str,
    form_of,
    see_other,
)
from codex_migrate.ui.confirm import withdraw
from codex_migrate.ui.forms import (
    SUPERSEDED,
    _job_of,
    _need_source,
    _state,
    apply_binding_form,
    mapping_rows,
    relative_rows,
    typed_fields,
    unbound_rows,
)
from codex_migrate.ui.jobs import RUNNING, Cancelled
from codex_migrate.ui.render import render, session_of
from codex_migrate.ui.sessions import MigrateState
from codex_migrate.ui.tree import apply_tree_form, tree_query, tree_view

# -- step 1: source ---------------------------------------------------------------------------


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
            "found": state.source_scan,
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
            refuse_same_home(home, target)
            catalog = listed_catalog(home, progress)
            found = scan_home(catalog)  # what `codex-migrate scan` says of it
        except BaseException:
            stack.close()  # an extracted archive is deleted
            raise
        with session.lock:
            state = session.migrate
            if state.read_ticket == ticket:
                state.set_source(path, home, catalog, stack, found)
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


def select_page(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    catalog = state.source_catalog
    assert catalog is not None
    selected = set(
        state.selected if state.selected is not None else (t.id for t in catalog.threads)
    )
    tree = tree_view(catalog, selected, request.query_params)
    return render(
        request,
        "migrate_select.html",
        {
            "step": 2,
            "tree": tree,
            "q": tree.q,
            "selected": selected,
            "total": len(catalog.threads),
            "source": state.source_home,
            "bare": sum(1 for t in catalog.threads if t.id in selected and t.era == "bare"),
        },
    )


def select_submit(request: Request) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    form = form_of(request)
    state = _state(request)
    catalog = state.source_catalog
    assert catalog is not None
    action = field_str(form, "action")
    with session_of(request).lock:
        before = set(
            state.selected if state.selected is not None else (t.id for t in catalog.threads)
        )
        chosen = apply_tree_form(form, catalog, before)
        state.selected = [t.id for t in catalog.threads if t.id in chosen]
        withdraw(session_of(request), "import")
    if action in ("all", "none", "filter") or form.get("nav") is not None:
        return see_other("/migrate/select" + tree_query(form))
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


def map_page(
    request: Request,
    *,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
    row_errors: dict[int, str] | None = None,
    status: int = 200,
) -> Response:
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    projects = selected_projects(state)
    rows, plan, rule_error = mapping_rows(state.binding, projects)
    exact = {cwd for cwd, _ in projects}
    parent_rules = [(o, n) for o, n in state.binding.rules if o not in exact]
    missing = [cwd for cwd, _ in projects if not cwd_exists(cwd)]
    if request.query_params.get("error") == "unbound" and row_errors is None:
        row_errors = unbound_rows(rows)  # sent back here by the preview
    return render(
        request,
        "migrate_map.html",
        {
            "step": 3,
            "rows": rows,
            "plan": plan,
            "rule_error": problem or rule_error or request.query_params.get("error"),
            "parent_rules": parent_rules,
            "suggested_old": common_parent(missing),
            "binding": state.binding,
            "threads": len(_selected_threads(state)),
            "bare": sum(1 for t in _selected_threads(state) if t.era == "bare"),
            "typed": typed or {},
            "row_errors": row_errors or {},
        },
        status=status,
    )


def map_submit(request: Request) -> Response:
    """Save the folder choices; Next goes on only when every project has a place (the page
    says which do not, beside each, keeping what was typed)."""
    if (r := _need_source(request)) is not None:
        return r
    state = _state(request)
    form = form_of(request)
    projects = selected_projects(state)
    cwds = [cwd for cwd, _ in projects]
    row_errors = relative_rows(form, cwds)
    with session_of(request).lock:
        problem = apply_binding_form(state.binding, form, cwds)
        withdraw(session_of(request), "import")
    typed = typed_fields(form)
    if problem is None and field_str(form, "action") == "preview":
        rows, _plan, rule_error = mapping_rows(state.binding, projects)
        problem = "rule" if rule_error else None
        unbound = {n: e for n, e in unbound_rows(rows).items() if n not in row_errors}
        row_errors.update(unbound)
        if unbound:
            problem = "unbound"
        if not problem and not row_errors:
            return see_other("/migrate/preview")
    if problem or row_errors:
        problem = problem or "relative_rows"
        return map_page(request, problem=problem, typed=typed, row_errors=row_errors, status=400)
    return see_other("/migrate/map")


# -- preview and apply ------------------------------------------------------------------------
