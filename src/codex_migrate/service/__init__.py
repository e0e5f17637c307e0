"""The one library API under both faces: what the CLI and the web UI call, and nothing else.

Each operation is one function that runs every step in the same order for every caller and
returns a typed result; the faces only format it. A script can do what a command does::

    from codex_migrate.service import preview_import, run_import
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        check_selection,
        find_codex,
        preview_import,
        refuse_same_home,
        register_import,
        run_import,
    )
    from codex_migrate.service.reading import home_catalog, listed_catalog, verify_home
    from codex_migrate.service.rebind import (
        RebindOutcome,
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
        preview_delete,
        preview_rollback,
        recover_home,
        rollback_transaction,
        transactions_of,
    )

#: Where each name lives: a face imports only what it calls (``scan`` would otherwise
#: pay for the exporter's templates and the importer at every start).
_WHERE = {
    "HomeFinding": "checks",
    "HomeScan": "checks",
    "HomeSummary": "checks",
    "checks_of": "checks",
    "diagnose_home": "checks",
    "findings_of": "checks",
    "home_summary": "checks",
    "problems_of": "checks",
    "scan_home": "checks",
    "ImportOutcome": "importing",
    "Registration": "importing",
    "check_selection": "importing",
    "find_codex": "importing",
    "refuse_same_home": "importing",
    "preview_import": "importing",
    "register_import": "importing",
    "run_import": "importing",
    "RebindOutcome": "rebind",
    "preview_doctor_fixes": "rebind",
    "preview_rebind": "rebind",
    "run_rebind": "rebind",
    "home_catalog": "reading",
    "listed_catalog": "reading",
    "verify_home": "reading",
    "SyncOptions": "syncing",
    "SyncReport": "syncing",
    "SyncSetup": "syncing",
    "run_sync": "syncing",
    "sync_digest": "syncing",
    "sync_machines": "syncing",
    "sync_preview": "syncing",
    "sync_setup": "syncing",
    "BackupReport": "tools",
    "DoctorReport": "tools",
    "ExportReport": "tools",
    "diagnose": "tools",
    "export_threads": "tools",
    "plan_backup": "tools",
    "plan_export": "tools",
    "run_backup": "tools",
    "verify_backup": "tools",
    "TransactionInfo": "transactions",
    "delete_transaction": "transactions",
    "find_transaction": "transactions",
    "preview_delete": "transactions",
    "preview_rollback": "transactions",
    "recover_home": "transactions",
    "rollback_transaction": "transactions",
    "transactions_of": "transactions",
}


def __getattr__(name: str) -> Any:
    """Import a name's module on first use (PEP 562), then keep the name here."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
    "check_selection",
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
    "listed_catalog",
    "plan_backup",
    "plan_export",
    "preview_delete",
    "preview_doctor_fixes",
    "preview_import",
    "preview_rebind",
    "preview_rollback",
    "problems_of",
    "recover_home",
    "refuse_same_home",
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
    "verify_home",
]
