"""What a diagnosis returns: findings per thread and per DB row, and the whole report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import Any

from codex_migrate.doctor.rules import BUILT_IN_PROVIDERS, DEFAULT_PROVIDER, NOTE, PROBLEM, RULES
from codex_migrate.errors import EXIT_FAILURE, EXIT_OK


@dataclass
class Finding:
    """One thing wrong (problem) or worth knowing (note), with how to fix it. Never changed
    once made: threads with the same folder, provider or source share one (doctor.shared)."""

    code: str
    severity: str
    message: str
    fix: str
    #: The file it is about, relative to the home (absolute when outside it); a thread's
    #: findings are about its rollout (:attr:`Diagnosis.rel_path`) and leave this empty.
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "file": self.file,
        }


_CODE_SEVERITY_FIX = attrgetter("code", "severity", "fix")


def finding(
    code: str, message: str | None = None, fix: str | None = None, *, file: str | None = None
) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, message or rule.summary, fix or rule.fix, file)


@dataclass
class Diagnosis:
    """One thread (``kind='thread'``) or one DB row without a rollout (``kind='row'``)."""

    id: str
    rel_path: str | None
    listed: bool | None
    findings: list[Finding] = field(default_factory=list)
    kind: str = "thread"
    title: str | None = None
    cwd: str | None = None
    archived: bool | None = None

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == NOTE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "rollout_path": self.rel_path,
            "listed": self.listed,
            "title": self.title,
            "cwd": self.cwd,
            "archived": self.archived,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class ProviderConfig:
    """What this home's config.toml says about model providers."""

    default: str = DEFAULT_PROVIDER
    configured: frozenset[str] = frozenset()
    found: bool = False
    error: str | None = None

    @property
    def known(self) -> frozenset[str]:
        return BUILT_IN_PROVIDERS | self.configured

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_toml": self.found,
            "default": self.default,
            "known": sorted(self.known),
            "error": self.error,
        }


@dataclass
class DoctorReport:
    """Every diagnosis of a home: per thread, per DB row without a rollout, home-wide."""

    home: str
    state_db: str | None
    backfill_status: str | None
    providers: ProviderConfig
    threads: list[Diagnosis] = field(default_factory=list)
    rows: list[Diagnosis] = field(default_factory=list)
    home_findings: list[Finding] = field(default_factory=list)

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return self.threads + self.rows

    def all_findings(self) -> Iterable[tuple[Diagnosis | None, Finding]]:
        for f in self.home_findings:
            yield None, f
        for d in self.diagnoses:
            for f in d.findings:
                yield d, f

    @property
    def problem_count(self) -> int:
        return sum(1 for _, f in self.all_findings() if f.severity == PROBLEM)

    @property
    def note_count(self) -> int:
        return sum(1 for _, f in self.all_findings() if f.severity == NOTE)

    @property
    def exit_code(self) -> int:
        """0 when nothing is a problem (notes allowed), else 1."""
        return EXIT_FAILURE if self.problem_count else EXIT_OK

    def by_code(self) -> dict[str, dict[str, Any]]:
        """Counts and fixes per finding code, problems first, most frequent first."""
        # Counted in C, by (code, severity, fix) in the order each first appears (a home's
        # thousands of findings share a handful of those): a Python loop over every finding
        # cost a scan ~2 % of its instructions. A code's severity is its first finding's.
        counted = Counter(map(_CODE_SEVERITY_FIX, self._findings()))
        groups: dict[str, dict[str, Any]] = {}
        for (code, severity, fix), n in counted.items():
            g = groups.get(code)
            if g is None:
                g = groups[code] = {
                    "severity": severity,
                    "count": 0,
                    "summary": RULES[code].summary,
                    "fixes": [],
                }
            g["count"] += n
            if fix not in g["fixes"]:
                g["fixes"].append(fix)
        order = sorted(
            groups.items(), key=lambda kv: (kv[1]["severity"] != PROBLEM, -kv[1]["count"], kv[0])
        )
        return dict(order)

    def _findings(self) -> Iterator[Finding]:
        """The findings of :meth:`all_findings`, in its order, without their diagnoses."""
        return chain(self.home_findings, *[d.findings for d in self.threads + self.rows])

    def to_dict(self) -> dict[str, Any]:
        listed = Counter(d.listed for d in self.threads)
        return {
            "home": self.home,
            "state_db": self.state_db,
            "backfill_status": self.backfill_status,
            "providers": self.providers.to_dict(),
            "summary": {
                "threads": len(self.threads),
                "listed": listed[True],
                "hidden": listed[False],
                "unknown": listed[None],
                "rows_without_file": len(self.rows),
                "problems": self.problem_count,
                "notes": self.note_count,
                "exit_code": self.exit_code,
            },
            "by_code": self.by_code(),
            "home_findings": [f.to_dict() for f in self.home_findings],
            "threads": [d.to_dict() for d in self.threads],
            "rows_without_file": [d.to_dict() for d in self.rows],
        }
