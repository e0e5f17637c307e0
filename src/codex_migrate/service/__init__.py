"""The one library API under both faces: what the CLI and the web UI call, and nothing else.

Each operation is one function that runs every step in the same order for every caller and
returns a typed result; the faces only format it. A script can do what a command does::

    from codex_migrate.service import preview_import, run_import
"""

from __future__ import annotations

from codex_migrate.service.checks import (
    HomeFinding,
    HomeScan,
    HomeSummary,
    checks_of,
    diagnose_home,
    findings_of,
    home_summary,
    problems_of,
    scan_home,
)
from codex_migrate.service.importing import (
    ImportOutcome,
    Registration,
    find_codex,
    preview_import,
    register_import,
    run_import,
)
from codex_migrate.service.rebind import (
    RebindOutcome,
    home_catalog,
    preview_doctor_fixes,
    preview_rebind,
    run_rebind,
)
from codex_migrate.service.syncing import (
    SyncOptions,
    SyncReport,
    SyncSetup,
    run_sync,
    sync_digest,
    sync_machines,
    sync_preview,
    sync_setup,
)
from codex_migrate.service.tools import (
    BackupReport,
    DoctorReport,
    ExportReport,
    diagnose,
    export_threads,
    plan_backup,
    plan_export,
    run_backup,
    verify_backup,
)
from codex_migrate.service.transactions import (
    TransactionInfo,
    delete_transaction,
    find_transaction,
    preview_rollback,
    recover_home,
    rollback_transaction,
    transactions_of,
)

__all__ = [
    "BackupReport",
    "DoctorReport",
    "ExportReport",
    "HomeFinding",
    "HomeScan",
    "HomeSummary",
    "ImportOutcome",
    "RebindOutcome",
    "Registration",
    "SyncOptions",
    "SyncReport",
    "SyncSetup",
    "TransactionInfo",
    "checks_of",
    "delete_transaction",
    "diagnose",
    "diagnose_home",
    "export_threads",
    "find_codex",
    "find_transaction",
    "findings_of",
    "home_catalog",
    "home_summary",
    "plan_backup",
    "plan_export",
    "preview_doctor_fixes",
    "preview_import",
    "preview_rebind",
    "preview_rollback",
    "problems_of",
    "recover_home",
    "register_import",
    "rollback_transaction",
    "run_backup",
    "run_import",
    "run_rebind",
    "run_sync",
    "scan_home",
    "sync_digest",
    "sync_machines",
    "sync_preview",
    "sync_setup",
    "transactions_of",
    "verify_backup",
]
