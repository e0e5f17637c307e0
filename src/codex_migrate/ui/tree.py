"""The project → session tree of Migrate step 2 and Export, at any size.

Up to ``SMALL`` sessions every project is listed open, as before. Above it (a real history of
thousands) projects are listed closed with their counts and a checkbox each, one page of
projects at a time; one project is opened at a time, a page of its sessions at a time; and a
search lists the projects it matches. So no page grows with the history.

The form says which sessions it showed (``shown``): the selection changes only for those, and
for the projects whose box changed state; everything else stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.catalog import Catalog
from codex_migrate.ui.forms import ProjectRow, matches_query, project_rows

SMALL = 200
PROJECTS_PER_PAGE = 50
THREADS_PER_PAGE = 100


@dataclass
class TreeView:
    rows: list[ProjectRow]
    collapsed: bool
    q: str = ""
    open: str | None = None
    page: int = 1
    pages: int = 1
    tpage: int = 1
    tpages: int = 1
    projects: int = 0
    matches: int = 0
    shown_ids: list[str] = field(default_factory=list)


def _int(value: str | None, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except ValueError:
        return default


def tree_view(catalog: Catalog, selected: set[str], params: Any) -> TreeView:
    """What one page of the tree shows, for the query string ``params``."""
    q = (params.get("q") or "").strip()
    rows = [r for r in project_rows(catalog, selected, q) if r.shown]
    matches = sum(len(r.shown) for r in rows)
    if len(catalog.threads) <= SMALL:
        ids = [t.id for r in rows for t in r.shown]
        return TreeView(rows, False, q, projects=len(rows), matches=matches, shown_ids=ids)
    open_cwd = params.get("open")
    pages = max(1, math.ceil(len(rows) / PROJECTS_PER_PAGE))
    page = min(_int(params.get("page")), pages)
    if open_cwd is not None and params.get("page") is None:
        at = next((n for n, r in enumerate(rows) if r.cwd == open_cwd), 0)
        page = at // PROJECTS_PER_PAGE + 1
    shown_rows = rows[(page - 1) * PROJECTS_PER_PAGE : page * PROJECTS_PER_PAGE]
    view = TreeView(shown_rows, True, q, open_cwd, page, pages, projects=len(rows))
    view.matches = matches
    for row in shown_rows:
        row.matching = len(row.shown)
        if row.cwd == open_cwd:
            view.tpages = max(1, math.ceil(len(row.shown) / THREADS_PER_PAGE))
            view.tpage = min(_int(params.get("tpage")), view.tpages)
            start = (view.tpage - 1) * THREADS_PER_PAGE
            row.shown = row.shown[start : start + THREADS_PER_PAGE]
            view.shown_ids = [t.id for t in row.shown]
        else:
            row.shown = []
    return view


def apply_tree_form(form: Any, catalog: Catalog, selected: set[str]) -> set[str]:
    """The selection after a submit of the tree: project boxes that changed, then the
    sessions the page showed; ``all``/``none`` act on every session the search matches."""
    by_cwd: dict[str, list[str]] = {p.cwd: list(p.thread_ids) for p in catalog.projects}
    known = {t.id for t in catalog.threads}
    sel = set(selected) & known
    n = 0
    while (cwd := form.get(f"pc_{n}")) is not None:
        ids = by_cwd.get(cwd, [])
        was = form.get(f"pwas_{n}")
        now = form.get(f"pall_{n}") == "1"
        if now and was != "all":
            sel |= set(ids)
        elif not now and was == "all":
            sel -= set(ids)
        n += 1
    checked = {v for v in form.getlist("thread") if isinstance(v, str) and v in known}
    if "shown" in form:
        shown = {v for v in form.getlist("shown") if isinstance(v, str)}
        sel = (sel - shown) | (checked & shown)
    elif n == 0 and "thread" in form:
        sel = checked  # a form without the tree's bookkeeping lists every session it keeps
    action = form.get("action")
    if action in ("all", "none"):
        q = (form.get("q") or "").strip()
        matching = {t.id for t in catalog.threads if matches_query(t, q)}
        sel = (sel | matching) if action == "all" else (sel - matching)
    return sel


def tree_query(form: Any) -> str:
    """Where the tree goes after a submit that only navigates (search, open, page)."""
    from urllib.parse import urlencode

    params: list[tuple[str, str]] = []
    for name in ("q", "open", "page", "tpage"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            params.append((name, value.strip()))
    nav = form.get("nav")
    if isinstance(nav, str) and nav:
        key, _, value = nav.partition(":")
        params = [(k, v) for k, v in params if k != key and not (key == "open" and k == "tpage")]
        if key in ("open", "page", "tpage") and value != "":
            params.append((key, value))
    return ("?" + urlencode(params)) if params else ""
