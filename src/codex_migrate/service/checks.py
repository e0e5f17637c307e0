"""One set of checks behind every surface that counts problems.

The doctor's rules (:mod:`codex_migrate.doctor.rules`) are the one registry of finding codes;
``verify`` reports in the same codes (:func:`codex_migrate.verify.verify_findings`). The UI's
home page, its Doctor screen, ``codex-migrate scan`` and ``codex-migrate doctor`` all count
through :func:`scan_home`/:func:`home_summary`/:func:`diagnose_home`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from codex_migrate.catalog import Catalog
from codex_migrate.doctor import NOTE as NOTE  # severities, for the faces
from codex_migrate.doctor import PROBLEM as PROBLEM
from codex_migrate.doctor import DoctorReport, diagnose

if TYPE_CHECKING:
    from codex_migrate.verify import Check


def diagnose_home(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> DoctorReport:
    """The doctor's diagnosis of a home (or of some threads): read-only."""
    return diagnose(catalog, thread_ids=thread_ids)


@dataclass
class HomeSummary:
    """The counts a home page shows (see :func:`home_summary`)."""

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


class HomeFinding(NamedTuple):
    """One finding of a home as every surface shows it: a doctor rule ``code`` (the message key
    the UI translates), its severity, the thread and the file (relative to the home) it is
    about, the engine's English message and the fix. Immutable; a named tuple, not a frozen
    dataclass, whose ``__init__`` cost 4x as much (a scan makes one per finding, thousands)."""

    code: str
    severity: str
    message: str
    fix: str
    thread: str | None = None
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return next(finding_dicts((self,)))  # the keys' order is said there, once


@dataclass
class HomeScan:
    """What ``scan``, the UI's home page and Doctor count: the doctor's findings, flattened."""

    summary: HomeSummary
    findings: list[HomeFinding]
    by_code: dict[str, dict[str, Any]]

    def of_thread(self, thread_id: str) -> list[HomeFinding]:
        return [f for f in self.findings if f.thread == thread_id]

    def to_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """``lazy``: findings as an iterator of dicts, made one at a time as they are written."""
        findings = finding_dicts(self.findings)
        return {
            "summary": self.summary.to_dict(),
            "by_code": {
                code: {"severity": g["severity"], "count": g["count"], "summary": g["summary"]}
                for code, g in self.by_code.items()
            },
            "findings": findings if lazy else list(findings),
        }


def findings_of(report: DoctorReport) -> list[HomeFinding]:
    """The report's findings, home-wide ones first, each naming its thread and file."""
    new = tuple.__new__  # HomeFinding's own __new__ with its fields in order, minus a call
    out = [
        new(HomeFinding, (f.code, f.severity, f.message, f.fix, None, f.file or None))
        for f in report.home_findings
    ]
    for d in report.diagnoses:
        thread, rel = d.id, d.rel_path
        for f in d.findings:
            out.append(
                new(HomeFinding, (f.code, f.severity, f.message, f.fix, thread, f.file or rel))
            )
    return out


def finding_dicts(findings: Iterable[HomeFinding]) -> Iterator[dict[str, Any]]:
    """Each finding as a dict (:meth:`HomeFinding.to_dict`), made one at a time as they are
    written (a scan writes thousands): the one place that says their keys' order."""
    for code, severity, message, fix, thread, file in findings:
        yield {
            "code": code,
            "severity": severity,
            "thread": thread,
            "file": file,
            "message": message,
            "fix": fix,
        }


def scan_home(catalog: Catalog, report: DoctorReport | None = None) -> HomeScan:
    """The findings of a whole home and their counts: one call behind ``scan`` (text and
    ``--json``) and the UI's home page, the same counts as Doctor and ``doctor --json``."""
    report = report or diagnose(catalog)
    by_code = report.by_code()
    # the report's problem and note counts, from the groups already counted (one pass, not two)
    summary = HomeSummary(
        threads=len(catalog.threads),
        projects=len(catalog.projects),
        missing=sum(1 for p in catalog.projects if not p.exists),
        problems=sum(g["count"] for g in by_code.values() if g["severity"] == PROBLEM),
        notes=sum(g["count"] for g in by_code.values() if g["severity"] == NOTE),
    )
    return HomeScan(summary, findings_of(report), by_code)


def checks_of(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> list[Check]:
    """Verification findings of a home, or of the given threads (home-wide ones included)."""
    from codex_migrate.verify import verify_findings  # not loaded by a scan, which never verifies

    checks = verify_findings(catalog)
    if thread_ids is None:
        return checks
    ids = set(thread_ids)
    return [c for c in checks if c.thread is None or c.thread in ids]


def problems_of(catalog: Catalog, thread_ids: Iterable[str] | None = None) -> list[str]:
    """:func:`checks_of` as lines of text ("id: problem")."""
    return [c.text for c in checks_of(catalog, thread_ids)]
