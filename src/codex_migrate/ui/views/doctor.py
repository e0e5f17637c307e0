"""Doctor: ``codex-migrate doctor`` for this machine's home, and its safe fixes.

The diagnosis is the engine's (:func:`codex_migrate.doctor.diagnose`): per thread whether the
real Codex lists it, and every finding with its fix. The engine's messages and fixes are
English and shown as they are; the headings, verdicts and the names of the finding codes are
translated here.

The safe fixes are ``codex-migrate rebind`` without folder rules, along the CLI's own path:
``/doctor/preview`` is ``rebind --dry-run`` (the exact changes), its Apply button is the
confirmation, and the job runs :func:`apply_rebind` as one transaction after rebuilding the plan
and refusing if it changed. Which finding those fixes clear is decided per finding from that
plan, so the page never promises a fix the plan does not contain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.errors import CodexMigrateError, HomeNotFound
from codex_migrate.rebind import RebindPlan
from codex_migrate.service import home_catalog, preview_doctor_fixes, run_rebind
from codex_migrate.service.tools import NOTE, PROBLEM, Diagnosis, DoctorReport, Finding, diagnose
from codex_migrate.ui.common import config_of, error_page, see_other, unreadable_home_page
from codex_migrate.ui.confirm import confirmed, offer, run_confirmed
from codex_migrate.ui.forms import RepairResult, fingerprint
from codex_migrate.ui.i18n import N_
from codex_migrate.ui.loading import loaded
from codex_migrate.ui.render import render
from codex_migrate.ui.render import translate as _t

#: Every finding code of the engine, named for people (translated in the templates).
CODE_LABELS: dict[str, str] = {
    "not-found": N_("No such session in this home"),
    "empty-file": N_("Empty session file"),
    "no-session-meta": N_("Session file without its header"),
    "meta-id-mismatch": N_("Session file names another session"),
    "bare-era": N_("Session in the 2025 format"),
    "no-user-message": N_("No user message at the start"),
    "unreadable-lines": N_("Unreadable lines in the session file"),
    "row-path-relative": N_("Database row with a relative file path"),
    "row-path-missing": N_("Database row points to a missing file"),
    "row-path-outside-home": N_("Database row points into another home"),
    "row-path-other-file": N_("Database row points to another file"),
    "empty-preview": N_("Database row with an empty preview"),
    "history-mode-mismatch": N_("Database row records another history format"),
    "cwd-mismatch": N_("Database row names another project folder"),
    "cwd-missing": N_("Project folder missing on this computer"),
    "history-only": N_("Kept as history (folder not on this computer)"),
    "desktop-project-missing": N_("Project missing from Codex Desktop's list"),
    "unknown-provider": N_("Unknown model provider"),
    "other-provider": N_("Not the default model provider"),
    "non-interactive-source": N_("Non-interactive session"),
    "file-without-row": N_("No database row yet"),
    "row-without-file": N_("Database row without a session file"),
    "unreadable-file": N_("Session file cannot be read"),
    "db-unreadable": N_("Codex's database cannot be read"),
    "db-integrity": N_("Codex's database fails its integrity check"),
    "config-unreadable": N_("config.toml cannot be read"),
    "backfill-running": N_("Stuck database rebuild"),
    "backfill-lease": N_("Database rebuild under way"),
    "other": N_("Another problem"),
}

#: How a finding gets fixed: by the safe fixes, by choosing folders in Repair, by the user
#: (the engine's fix says how), or not at all (a note: Codex works as designed).
SAFE, REPAIR, MANUAL, NOTHING = "safe", "repair", "manual", "nothing"

#: Findings a rewritten DB row clears (rebind writes the row from the rollout: this file's
#: absolute path, its history mode, and a preview when the row had none).
ROW_CODES = frozenset(
    {
        "row-path-relative",
        "row-path-missing",
        "row-path-outside-home",
        "row-path-other-file",
        "history-mode-mismatch",
        "empty-preview",
        "file-without-row",
    }
)
BACKFILL_CODES = frozenset({"backfill-running", "backfill-lease"})
#: Findings that need a folder on this machine: Repair's mapping (``rebind --map``).
REPAIR_CODES = frozenset({"cwd-missing", "cwd-mismatch"})

#: Sessions listed per table before the rest is left to ``codex-migrate doctor --json``.
MAX_SHOWN = 100
#: Fixes shown per finding code in the summary (one per project folder for cwd-missing).
MAX_FIXES = 5

#: What the safe fixes change, by kind, in the order the page lists them.
FIX_KINDS = (
    "row_path",
    "row_missing",
    "name_only",
    "history_mode",
    "row_other",
    "drop",
    "backfill",
)


def safe_plan(catalog: Catalog) -> RebindPlan:
    """``codex-migrate rebind`` with no ``--map``: only DB rows and the backfill state."""
    return preview_doctor_fixes(catalog)


def fix_route(finding: Finding, diagnosis: Diagnosis | None, plan: RebindPlan) -> str:
    """How this finding is fixed, given what the safe plan actually contains."""
    code = finding.code
    if code in ROW_CODES and diagnosis is not None:
        item = next((i for i in plan.items if i.id == diagnosis.id), None)
        if item is not None and item.row_action:
            return SAFE
    if code == "row-without-file" and diagnosis is not None and diagnosis.id in plan.drop_rows:
        return SAFE
    if code in BACKFILL_CODES and plan.reset_backfill:
        return SAFE
    if code in REPAIR_CODES:
        return REPAIR
    return NOTHING if finding.severity == NOTE else MANUAL


def plan_kinds(plan: RebindPlan) -> dict[str, int]:
    """The safe plan's changes by kind (a row may count under several kinds)."""
    counts: Counter[str] = Counter()
    for item in plan.items:
        if not item.row_action:
            continue
        kinds = set()
        if item.row_action == "insert":
            kinds.add("row_missing")
        for reason in item.reasons:
            if reason.startswith("rollout_path "):
                kinds.add("row_path")
            elif reason.startswith("name only in session_index"):
                kinds.add("name_only")
            elif reason.startswith("history_mode "):
                kinds.add("history_mode")
        counts.update(kinds or {"row_other"})
    counts["drop"] = len(plan.drop_rows)
    counts["backfill"] = 1 if plan.reset_backfill else 0
    return {k: counts[k] for k in FIX_KINDS if counts[k]}


@dataclass
class ShownFinding:
    finding: Finding
    route: str

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def label(self) -> str:
        return CODE_LABELS.get(self.code, self.code)


@dataclass
class ShownThread:
    diagnosis: Diagnosis
    findings: list[ShownFinding]

    @property
    def problems(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == PROBLEM)

    @property
    def safe(self) -> bool:
        return any(f.route == SAFE for f in self.findings)


@dataclass
class CodeGroup:
    code: str
    severity: str
    count: int
    summary: str
    fixes: list[str]
    routes: dict[str, int] = field(default_factory=dict)
    #: The project folders of the sessions with this finding (a Repair button each).
    projects: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return CODE_LABELS.get(self.code, self.code)


@dataclass
class DoctorView:
    """Everything the Doctor page shows, from one catalog, diagnosis and safe plan."""

    report: DoctorReport
    plan: RebindPlan
    summary: dict[str, Any]
    groups: list[CodeGroup]
    home_findings: list[ShownFinding]
    flagged: list[ShownThread]
    clean: list[Diagnosis]
    fix_kinds: dict[str, int]
    safe_findings: int
    repair_findings: int
    repair_folders: list[str]
    manual_findings: int

    @property
    def state_db_name(self) -> str | None:
        return Path(self.report.state_db).name if self.report.state_db else None

    @property
    def problems(self) -> list[CodeGroup]:
        return [g for g in self.groups if g.severity == PROBLEM]

    @property
    def notes(self) -> list[CodeGroup]:
        return [g for g in self.groups if g.severity == NOTE]


def _verdict_order(t: ShownThread) -> tuple[int, int, str]:
    listed = t.diagnosis.listed
    rank = 0 if listed is False else 1 if listed is None else 2 if t.problems else 3
    return rank, -t.problems, t.diagnosis.id


def build_view(catalog: Catalog, report: DoctorReport, plan: RebindPlan) -> DoctorView:
    routes: Counter[tuple[str, str]] = Counter()

    def shown(f: Finding, d: Diagnosis | None) -> ShownFinding:
        route = fix_route(f, d, plan)
        routes[(f.code, route)] += 1
        return ShownFinding(f, route)

    home_findings = [shown(f, None) for f in report.home_findings]
    flagged: list[ShownThread] = []
    clean: list[Diagnosis] = []
    for d in report.diagnoses:
        if d.findings:
            flagged.append(ShownThread(d, [shown(f, d) for f in d.findings]))
        else:
            clean.append(d)
    flagged.sort(key=_verdict_order)
    groups = [
        CodeGroup(
            code,
            g["severity"],
            g["count"],
            g["summary"],
            list(g["fixes"]),
            {r: n for (c, r), n in routes.items() if c == code},
        )
        for code, g in report.by_code().items()
    ]
    folders: dict[str, set[str]] = {}
    for t in flagged:
        for f in t.findings:
            if t.diagnosis.cwd:
                folders.setdefault(f.code, set()).add(t.diagnosis.cwd)
    for group in groups:
        group.projects = sorted(folders.get(group.code, ()))
    everything = [f for t in flagged for f in t.findings] + home_findings
    repair_folders = sorted(
        {t.diagnosis.cwd for t in flagged if t.diagnosis.cwd and _needs_repair(t)}
    )
    return DoctorView(
        report=report,
        plan=plan,
        summary=report.to_dict()["summary"],
        groups=groups,
        home_findings=home_findings,
        flagged=flagged,
        clean=clean,
        fix_kinds=plan_kinds(plan),
        safe_findings=sum(1 for f in everything if f.route == SAFE),
        repair_findings=sum(1 for f in everything if f.route == REPAIR),
        repair_folders=repair_folders,
        manual_findings=sum(1 for f in everything if f.route == MANUAL),
    )


def _needs_repair(t: ShownThread) -> bool:
    return any(f.route == REPAIR for f in t.findings)


def read_view(home_path: Path, progress: ProgressFn | None = None) -> DoctorView:
    catalog = home_catalog(home_path, progress)
    return build_view(catalog, diagnose(catalog), safe_plan(catalog))


def _start(request: Request, total: int) -> int:
    """The first flagged session on this page (pages of ``MAX_SHOWN``)."""
    try:
        start = int(request.query_params.get("from", "0"))
    except ValueError:
        start = 0
    return max(0, min(start - start % MAX_SHOWN, max(total - 1, 0)))


def doctor_page(request: Request) -> Response:
    home = config_of(request).codex_home
    try:
        loaded_view = loaded(request, home, "doctor", lambda p: read_view(home, p))
        if isinstance(loaded_view, Response):
            return loaded_view  # a big home: its progress page
        view = loaded_view
    except (CodexMigrateError, OSError) as exc:
        return unreadable_home_page(request, exc, _t(request, "Doctor"))
    return render(
        request,
        "doctor.html",
        {
            "v": view,
            "max_shown": MAX_SHOWN,
            "start": _start(request, len(view.flagged)),
            "max_fixes": MAX_FIXES,
            "SAFE": SAFE,
            "REPAIR": REPAIR,
            "MANUAL": MANUAL,
        },
    )


def doctor_preview(request: Request) -> Response:
    """The dry run of the safe fixes: exactly what Apply writes, nothing written yet (read as
    a job with progress when the home is big, like the Doctor page)."""
    home = config_of(request).codex_home
    try:
        loaded_view = loaded(request, home, "doctor-preview", lambda p: read_view(home, p))
    except HomeNotFound:
        return see_other("/doctor")
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/doctor", status=409)
    if isinstance(loaded_view, Response):
        return loaded_view  # a big home: its progress page
    view = loaded_view
    confirm = offer(
        request,
        "doctor",
        fingerprint(view.plan),
        action="/doctor/fix",
        preview_url="/doctor/preview",
    )
    fixed = [t for t in view.flagged if t.safe]
    return render(
        request,
        "doctor_preview.html",
        {
            "v": view,
            "plan": view.plan,
            "summary": view.plan.to_dict()["summary"],
            "offer": confirm,
            "fixed": fixed,
            "SAFE": SAFE,
        },
    )


@confirmed("doctor", "/doctor/preview")
def doctor_fix(request: Request) -> Response:
    home_path = config_of(request).codex_home

    def plan(progress: ProgressFn) -> RebindPlan:
        return preview_doctor_fixes(home_catalog(home_path, progress))

    def write(plan: RebindPlan, progress: ProgressFn) -> RepairResult:
        outcome = run_rebind(plan, progress=progress, with_doctor=True)
        return RepairResult(
            plan, outcome.report, outcome.problems, outcome.doctor, outcome.findings
        )

    return run_confirmed(request, "rebind", plan, fingerprint, write, back="/doctor")
