"""What several screens share: project rows and filters, the folder-binding form, migrate state.

Kept out of the views so that no view imports another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, cwd_exists
from codex_migrate.catalog_thread import Thread
from codex_migrate.pathmap import MappingPlan, PathMapper
from codex_migrate.rebind import RebindPlan, RebindReport
from codex_migrate.ui.common import (
    digest,
    field_str,
    see_other,
)
from codex_migrate.ui.jobs import Job
from codex_migrate.ui.render import session_of
from codex_migrate.ui.sessions import Binding, MigrateState

LINE_PREVIEW = 240


SUPERSEDED = "reading {path} was cancelled: another source was chosen, or Start over was used."


def _state(request: Request) -> MigrateState:
    return session_of(request).migrate


def _need_source(request: Request) -> Response | None:
    if _state(request).source_catalog is None:
        return see_other("/migrate")
    return None


def _job_of(request: Request, job_id: str | None) -> Job | None:
    job: Job | None = request.app.state.jobs.get(job_id) if job_id else None
    return job if job is not None and job.owner == session_of(request).id else None


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
    matching: int = 0


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
                "windows": bool(_WINDOWS_PATH.match(cwd)),
            }
        )
    return rows, plan, None


def is_full_path(path: str) -> bool:
    """A full path for this computer (``/x``; ``C:\\x`` or ``\\\\server\\x`` on Windows)."""
    return Path(path).is_absolute() or path.startswith(("\\", "/"))


_WINDOWS_PATH = re.compile(r"^([A-Za-z]:[\\/]|/mnt/[A-Za-z]/)")


def typed_fields(form: Any) -> dict[str, str]:
    """What the user typed in the folder fields, to show it again next to an error."""
    return {
        k: v
        for k, v in form.multi_items()
        if isinstance(v, str) and (k.startswith("new_") or k in ("rule_old", "rule_new"))
    }


def relative_rows(form: Any, projects: list[str]) -> dict[int, str]:
    """Rows whose typed folder is not a full path: they are not saved, and say why."""
    errors = {}
    for n, cwd in enumerate(projects):
        if field_str(form, f"old_{n}") != cwd or form.get(f"hist_{n}") == "1":
            continue
        new = field_str(form, f"new_{n}")
        if new and not is_full_path(new):
            errors[n] = "relative"
    return errors


def unbound_rows(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Projects that would be refused by the import: no folder and not history only."""
    return {n: "unbound" for n, row in enumerate(rows) if row["status"] in ("unmapped", "invalid")}


def apply_binding_form(binding: Binding, form: Any, projects: list[str]) -> str | None:
    """Read step 3's (or Repair's) form into ``binding``; a message when a rule is refused."""
    for n, cwd in enumerate(projects):
        if field_str(form, f"old_{n}") != cwd:
            continue  # the page was for another selection: ignore its rows
        hist = form.get(f"hist_{n}") == "1"
        new = field_str(form, f"new_{n}")
        if new and not hist and not is_full_path(new):
            continue  # refused, and shown again with what was typed (relative_rows)
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
        if not is_full_path(rule_new):
            return "relative"
        binding.set_rule(rule_old, rule_new)
    elif rule_new:
        return "half_rule"  # the old side is pre-filled with a suggestion: only NEW counts
    return None


def fingerprint(plan: RebindPlan) -> str:
    data = plan.to_dict()
    return digest({k: data[k] for k in ("threads", "drop_rows", "reset_backfill", "mapping")})


@dataclass
class RepairResult:
    plan: RebindPlan
    report: RebindReport
    problems: list[str]
    #: After Doctor's safe fixes: the new diagnosis's summary (``DoctorReport`` counts).
    doctor: dict[str, Any] | None = None
    #: ``problems`` as structured findings (codes the page words in its language).
    findings: list[Any] = field(default_factory=list)
