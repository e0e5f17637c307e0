"""One set of checks behind every surface that counts problems.

The doctor's rules (:mod:`codex_migrate.doctor.rules`) are the one registry of finding codes;
``verify`` reports in the same codes (:func:`codex_migrate.verify.verify_findings`). The UI's
home page, its Doctor screen and ``codex-migrate doctor`` all count through
:func:`home_summary`/:func:`diagnose_home`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from codex_migrate.catalog import Catalog
from codex_migrate.doctor import DoctorReport, diagnose
from codex_migrate.verify import Check, verify_findings


def diagnose_home(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> DoctorReport:
    """The doctor's diagnosis of a home (or of some threads): read-only."""
    return diagnose(catalog, thread_ids=thread_ids)


@dataclass
class HomeSummary:
    threads: int
    projects: int
    missing: int
    problems: int
    notes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def home_summary(catalog: Catalog, report: DoctorReport | None = None) -> HomeSummary:
    """The counts a home page shows; problems and notes are the doctor's."""
    report = report or diagnose(catalog)
    return HomeSummary(
        threads=len(catalog.threads),
        projects=len(catalog.projects),
        missing=sum(1 for p in catalog.projects if not p.exists),
        problems=report.problem_count,
        notes=report.note_count,
    )


def checks_of(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> list[Check]:
    """Verification findings of a home, or of the given threads (home-wide ones included)."""
    checks = verify_findings(catalog)
    if thread_ids is None:
        return checks
    ids = set(thread_ids)
    return [c for c in checks if c.thread is None or c.thread in ids]


def problems_of(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> list[str]:
    """:func:`checks_of` as lines of text ("id: problem")."""
    return [c.text for c in checks_of(catalog, thread_ids)]
