"""Backup, export and diagnosis, as both faces call them.

These operations already are single engine calls with typed reports (:class:`BackupReport`,
:class:`ExportReport`, :class:`DoctorReport`); the service names them so that a face imports
nothing below this layer for them, and a script finds them in one place.
"""

from __future__ import annotations

from codex_migrate.backup import BackupPlan, BackupReport, free_path, plan_backup, run_backup
from codex_migrate.backup.verify import VerifyReport, verify_backup
from codex_migrate.doctor import NOTE, PROBLEM, Diagnosis, DoctorReport, Finding, diagnose
from codex_migrate.export.api import ExportReport, Selection, export_threads
from codex_migrate.export.dry_run import ExportPlan, plan_export

__all__ = [
    "NOTE",
    "PROBLEM",
    "BackupPlan",
    "BackupReport",
    "Diagnosis",
    "DoctorReport",
    "ExportPlan",
    "ExportReport",
    "Finding",
    "Selection",
    "VerifyReport",
    "diagnose",
    "export_threads",
    "free_path",
    "plan_backup",
    "plan_export",
    "run_backup",
    "verify_backup",
]
