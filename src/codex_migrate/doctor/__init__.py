"""Why the real Codex does (not) list a thread: one diagnosis per thread and per DB row.

The engine behind ``codex-migrate doctor``. It reads a :class:`Catalog` (built read-only: the
DB is read from a private copy) plus the home's ``config.toml``, and never prints or writes.

What "listed" means here: the thread appears in Codex's full listing, i.e. app-server
``thread/list`` asked for every source kind and every provider (archived threads in the archived
listing). A **problem** is something that hides a thread, stops it from being opened or resumed,
or ties it to a place that is wrong on this machine. A **note** is Codex working as designed but
showing the thread only in some views (e.g. ``exec`` sessions need ``--all``/``sourceKinds``); a
clean home may have notes and still passes (exit 0).

Every rule below was measured with Codex 0.169.0; tests/test_doctor_codex.py re-measures each
one except the fresh-lease start-up failure (measured by hand: it costs Codex's 30 s wait):

* a row whose ``rollout_path`` does not exist hides the thread; so does a relative path, unless
  it happens to resolve from the folder Codex runs in;
* a row with an empty ``preview`` hides the thread (0.169 filters on ``preview``; older schemas
  without that column filter on ``first_user_message``);
* a rollout without a row is listed (Codex adds the row), even after backfill completed;
* ``thread/list`` without ``sourceKinds`` shows only ``cli`` and ``vscode`` sessions, and without
  ``modelProviders`` only the configured default provider's (default ``openai``); the rollout's
  ``session_meta.source`` decides, not the row;
* ``backfill_state.status='running'`` is a 900 s lease: while it is fresh and nobody finishes it,
  Codex waits 30 s at start-up and then fails to start; a stale lease is retaken and the
  backfill finishes.
"""

from __future__ import annotations

from codex_migrate.doctor.checks import diagnose, diagnose_thread, read_backfill_lease
from codex_migrate.doctor.config import read_provider_config
from codex_migrate.doctor.report import Diagnosis, DoctorReport, Finding, ProviderConfig, finding
from codex_migrate.doctor.rules import (
    BACKFILL_LEASE_SECONDS,
    BUILT_IN_PROVIDERS,
    DEFAULT_PROVIDER,
    INTERACTIVE_SOURCES,
    NOTE,
    PROBLEM,
    REBIND_FIX,
    ROW_REBUILD,
    RULES,
    Rule,
)

__all__ = [
    "BACKFILL_LEASE_SECONDS",
    "BUILT_IN_PROVIDERS",
    "DEFAULT_PROVIDER",
    "INTERACTIVE_SOURCES",
    "NOTE",
    "PROBLEM",
    "REBIND_FIX",
    "ROW_REBUILD",
    "RULES",
    "Diagnosis",
    "DoctorReport",
    "Finding",
    "ProviderConfig",
    "Rule",
    "diagnose",
    "diagnose_thread",
    "finding",
    "read_backfill_lease",
    "read_provider_config",
]
