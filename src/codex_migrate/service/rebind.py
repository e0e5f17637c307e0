"""Rebind and the doctor's fixes, as both faces run them: plan → apply → verify.

The doctor's safe fixes are a rebind plan without any folder mapping (rows, names, stuck
backfill); :func:`preview_doctor_fixes` builds it, :func:`run_rebind` applies either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.catalog import Catalog, ProgressFn, build_catalog
from codex_migrate.doctor import diagnose
from codex_migrate.home import open_home
from codex_migrate.pathmap import PathMapper
from codex_migrate.rebind import RebindPlan, RebindReport, apply_rebind, build_rebind_plan
from codex_migrate.service.checks import checks_of
from codex_migrate.verify import Check
from codex_migrate.writing import open_for_writing


@dataclass
class RebindOutcome:
    plan: RebindPlan
    report: RebindReport
    #: verification of the home afterwards ("id: problem")
    problems: list[str] = field(default_factory=list)
    #: the doctor's summary afterwards (counts), when asked for
    doctor: dict[str, Any] | None = None
    #: the same verification as structured findings (doctor's codes), for a face to word
    findings: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": False,
            "plan": self.plan.to_dict(),
            "report": self.report.to_dict(),
            "problems": self.problems,
            "findings": [c.to_dict() for c in self.findings],
        }


def preview_rebind(
    catalog: Catalog,
    mapper: PathMapper,
    *,
    thread_ids: list[str] | None = None,
    all_projects: bool = False,
    rewrite_text: bool = False,
    upgrade_bare: bool = False,
    bare_cwd: str | None = None,
) -> RebindPlan:
    """What ``rebind`` would change (``--dry-run``)."""
    return build_rebind_plan(
        catalog,
        mapper,
        thread_ids=thread_ids or [],
        all_projects=all_projects,
        rewrite_text=rewrite_text,
        upgrade_bare=upgrade_bare,
        bare_cwd=bare_cwd,
    )


def preview_doctor_fixes(catalog: Catalog) -> RebindPlan:
    """The fixes the doctor applies without asking for folders: no mapping, only repairs."""
    return build_rebind_plan(catalog, PathMapper())


def run_rebind(
    plan: RebindPlan,
    *,
    progress: ProgressFn | None = None,
    check_fresh: Callable[[], None] | None = None,
    with_doctor: bool = False,
) -> RebindOutcome:
    """Apply a rebind (or doctor-fix) plan in one transaction, then verify the home."""
    home = plan.catalog.home
    with open_for_writing(home, "rebind", check_fresh=check_fresh) as writer:
        report = apply_rebind(plan, progress, writer)
    after = build_catalog(open_home(home.root))
    checks = checks_of(after)
    outcome = RebindOutcome(plan, report, [c.text for c in checks], findings=checks)
    if with_doctor:
        outcome.doctor = diagnose(after).to_dict()["summary"]
    return outcome
