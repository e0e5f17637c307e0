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

import os
import shlex
import sqlite3
import time
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog, Thread, cwd_exists
from codex_migrate.errors import EXIT_FAILURE, EXIT_OK
from codex_migrate.statedb import StateDBError, connect_readonly, is_inside, table_columns

PROBLEM = "problem"
NOTE = "note"

#: Provider ids compiled into Codex: ``openai`` and ``oss`` (builds up to late 2025), then
#: ``openai``, ``ollama`` and ``lmstudio`` (codex-rs ``built_in_model_providers``).
BUILT_IN_PROVIDERS = frozenset({"openai", "oss", "ollama", "lmstudio"})
DEFAULT_PROVIDER = "openai"
#: Sources ``thread/list`` and ``codex resume`` show when no source filter is given.
INTERACTIVE_SOURCES = frozenset({"cli", "vscode"})
#: Codex's backfill lease (codex-rs ``BACKFILL_LEASE_SECONDS``).
BACKFILL_LEASE_SECONDS = 900

REBIND_FIX = "codex-migrate rebind --map OLD=NEW"
ROW_REBUILD = (
    "or delete this thread's DB row (or set backfill_state.status to 'pending'): Codex then "
    "rebuilds the row from the rollout"
)


@dataclass(frozen=True)
class Rule:
    """What a finding code means: its severity, its effect on listing, and the generic fix."""

    severity: str
    #: False: Codex does not list the thread; None: cannot tell; True: no effect on listing.
    listed: bool | None
    summary: str
    fix: str


RULES: dict[str, Rule] = {
    "not-found": Rule(
        PROBLEM,
        False,
        "No rollout file and no DB row for this id in this home.",
        "Check the id, or import the thread: codex-migrate import SOURCE --thread ID",
    ),
    "empty-file": Rule(
        PROBLEM,
        False,
        "The rollout file is empty: Codex cannot list it.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "no-session-meta": Rule(
        PROBLEM,
        False,
        "The rollout has no session_meta record: Codex cannot list it.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "meta-id-mismatch": Rule(
        PROBLEM,
        None,
        "session_meta names another thread id than the file name.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "bare-era": Rule(
        PROBLEM,
        False,
        "A bare-era (2025, Codex <= 0.29) rollout: current Codex does not list it and "
        "`codex migrate-rollouts` fails on it.",
        "Keep it as history (codex-migrate export-md or export-html renders it); it cannot "
        "be resumed.",
    ),
    "no-user-message": Rule(
        PROBLEM,
        False,
        "No user message near the head of the rollout: Codex records an empty preview and "
        "hides the thread.",
        "Nothing to repair: Codex never lists a thread that has no user message near its start.",
    ),
    "unreadable-lines": Rule(
        PROBLEM,
        True,
        "Lines that are not valid JSON (a crash-cut last line, bad bytes): Codex skips them.",
        "Import a complete copy from the old machine or a backup (codex-migrate import SOURCE).",
    ),
    "row-path-relative": Rule(
        PROBLEM,
        False,
        "The DB row's rollout_path is relative: Codex resolves it against the folder it runs "
        "in, so the thread is hidden everywhere else.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-missing": Rule(
        PROBLEM,
        False,
        "The DB row's rollout_path names a file that does not exist: Codex hides the thread "
        "and `codex exec resume` fails with 'no rollout found'.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-outside-home": Rule(
        PROBLEM,
        True,
        "The DB row's rollout_path points into another home: Codex reads and appends to that "
        "other file, not this home's copy.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-other-file": Rule(
        PROBLEM,
        None,
        "The DB row's rollout_path names another file of this home than the thread's rollout.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "empty-preview": Rule(
        PROBLEM,
        False,
        "The DB row's preview is empty although the rollout has a user message: Codex hides "
        "the thread.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "history-mode-mismatch": Rule(
        PROBLEM,
        True,
        "The DB row's history_mode differs from the rollout's: Codex lists the thread but "
        "cannot open it ('list_turns is not supported yet').",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "cwd-mismatch": Rule(
        PROBLEM,
        True,
        "The DB row's cwd differs from the rollout's: Codex lists the row's, and a rebuilt DB "
        "would list the rollout's.",
        f"{REBIND_FIX} (rewrites the rollout and the row together).",
    ),
    "cwd-missing": Rule(
        PROBLEM,
        True,
        "The thread's project folder does not exist on this machine: it is listed under a dead "
        "path and cannot be continued in its project.",
        f"{REBIND_FIX} binds the old folder to one on this machine.",
    ),
    "unknown-provider": Rule(
        PROBLEM,
        True,
        "The thread's model provider is neither built into Codex nor defined in this home's "
        "config.toml: Codex cannot resume it.",
        "Add a [model_providers.ID] table for it to config.toml.",
    ),
    "other-provider": Rule(
        NOTE,
        True,
        "The thread's provider is not this home's default provider: `codex resume` and "
        "thread/list without modelProviders do not show it.",
        "Pick it with model_provider in config.toml, or list with every provider "
        "(app-server thread/list modelProviders: []).",
    ),
    "non-interactive-source": Rule(
        NOTE,
        True,
        "A non-interactive session (e.g. `codex exec`): listed only when every source kind is "
        "asked for.",
        "Pass --all to `codex resume`, or sourceKinds to app-server thread/list.",
    ),
    "file-without-row": Rule(
        NOTE,
        True,
        "No DB row although the backfill completed: Codex adds the row the next time it lists.",
        "Nothing to do (measured: Codex lists the thread and writes its row).",
    ),
    "row-without-file": Rule(
        PROBLEM,
        False,
        "A DB row whose rollout is not in this home: Codex hides it, or, when the path exists "
        "in another home, lists it from there.",
        "Import the rollout (codex-migrate import SOURCE --thread ID), or delete the row.",
    ),
    "unreadable-file": Rule(
        PROBLEM,
        None,
        "A rollout file that cannot be read, or a second rollout with the same thread id.",
        "Fix the file's permissions, or keep only one rollout per thread id.",
    ),
    "db-unreadable": Rule(
        PROBLEM,
        None,
        "The state DB cannot be read: what Codex lists cannot be told from it.",
        "Move the state DB away while Codex is closed: Codex rebuilds it from the rollouts.",
    ),
    "config-unreadable": Rule(
        PROBLEM,
        True,
        "config.toml cannot be parsed: Codex will not start, and providers cannot be checked.",
        "Fix the TOML syntax of config.toml.",
    ),
    "backfill-running": Rule(
        PROBLEM,
        None,
        "backfill_state is 'running' with a fresh lease and no Codex has this home open: Codex "
        "waits 30 s at start-up and then fails until the 15-minute lease expires.",
        "Wait until the lease expires (Codex then retakes it and finishes the backfill), or set "
        "backfill_state.status to 'pending' while Codex is closed.",
    ),
    "backfill-lease": Rule(
        NOTE,
        True,
        "backfill_state is 'running': either a Codex that has this home open is indexing, or "
        "the lease is stale and the next Codex start retakes it.",
        "Nothing to do: Codex finishes the backfill.",
    ),
    "other": Rule(
        PROBLEM,
        None,
        "Another problem the scan found.",
        "See the message.",
    ),
}


@dataclass
class Finding:
    """One thing wrong (problem) or worth knowing (note), with how to fix it."""

    code: str
    severity: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


def finding(code: str, message: str | None = None, fix: str | None = None) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, message or rule.summary, fix or rule.fix)


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
        groups: dict[str, dict[str, Any]] = {}
        for _, f in self.all_findings():
            g = groups.setdefault(
                f.code,
                {
                    "severity": f.severity,
                    "count": 0,
                    "summary": RULES[f.code].summary,
                    "fixes": [],
                },
            )
            g["count"] += 1
            if f.fix not in g["fixes"]:
                g["fixes"].append(f.fix)
        order = sorted(
            groups.items(), key=lambda kv: (kv[1]["severity"] != PROBLEM, -kv[1]["count"], kv[0])
        )
        return dict(order)

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


# -- config.toml -------------------------------------------------------------------------------


def _parse_toml(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    return data if isinstance(data, dict) else {}


def read_provider_config(home_root: Path) -> ProviderConfig:
    """Providers this home's Codex knows: built-ins plus ``[model_providers.*]``, and the
    default (``model_provider``, or the active profile's), else ``openai``."""
    path = home_root / "config.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProviderConfig()
    except (OSError, UnicodeDecodeError) as exc:
        return ProviderConfig(found=True, error=f"cannot read {path}: {exc}")
    try:
        data = _parse_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        return ProviderConfig(found=True, error=f"{path}: {exc}")
    providers = data.get("model_providers")
    configured = frozenset(providers) if isinstance(providers, dict) else frozenset()
    default = data.get("model_provider")
    profile_name = data.get("profile")
    profiles = data.get("profiles")
    if isinstance(profile_name, str) and isinstance(profiles, dict):
        profile = profiles.get(profile_name)
        if isinstance(profile, dict) and isinstance(profile.get("model_provider"), str):
            default = profile["model_provider"]
    if not isinstance(default, str) or not default:
        default = DEFAULT_PROVIDER
    return ProviderConfig(default=default, configured=configured, found=True)


# -- the checks --------------------------------------------------------------------------------


def _q(path: str) -> str:
    return shlex.quote(path)


def _rebind_fix(old: str) -> str:
    return f"codex-migrate rebind --map {_q(old)}=NEW  (NEW: the folder it is in on this machine)"


#: Catalog problem codes that doctor recomputes itself, with more detail and a fix.
_CATALOG_RECOMPUTED = frozenset(
    {
        "row-path-relative",
        "row-path-outside-home",
        "row-path-missing",
        "file-without-row",
        "cwd-mismatch",
        "history-mode-mismatch",
    }
)
_CATALOG_KNOWN = frozenset(
    {
        "empty-file",
        "no-session-meta",
        "meta-id-mismatch",
        "bare-era",
        "no-user-message",
        "unreadable-lines",
    }
)


def _from_catalog(thread: Thread) -> list[Finding]:
    out: list[Finding] = []
    for text in thread.problems:
        code = getattr(text, "code", "other")
        if code in _CATALOG_RECOMPUTED:
            continue
        if code not in _CATALOG_KNOWN:
            code = "other"
        if code == "unreadable-lines":
            detail = ", ".join(f"{n} {k}" for k, n in thread.issues.to_dict().items())
            first = thread.issues.first_bad_line
            where = f", first at line {first}" if first else ""
            out.append(finding(code, f"unreadable lines ({detail}{where}): Codex skips them"))
        elif code == "other":
            out.append(finding(code, text))
        else:
            out.append(finding(code))
    return out


def _row_path_findings(thread: Thread, home_root: Path) -> list[Finding]:
    row = thread.row
    if row is None:
        return []
    path = str(row.get("rollout_path") or "")
    if not path or not os.path.isabs(path):
        message = f"DB row rollout_path {path!r} is relative: hidden except from that folder"
        return [finding("row-path-relative", message)]
    inside = is_inside(path, home_root) or is_inside(
        os.path.realpath(path), Path(os.path.realpath(home_root))
    )
    if not os.path.exists(path):
        where = "in this home" if inside else "outside this home: a copied or moved home?"
        message = f"DB row rollout_path does not exist ({where}): {path}"
        return [finding("row-path-missing", message)]
    try:
        if os.path.samefile(path, thread.rollout_path):
            return []  # the thread's own file, maybe spelled through a symlink
    except OSError:
        pass
    if not inside:
        message = f"DB row rollout_path is in another home, where Codex reads and appends: {path}"
        return [finding("row-path-outside-home", message)]
    message = f"DB row rollout_path names another file of this home: {path}"
    return [finding("row-path-other-file", message)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _row_content_findings(thread: Thread, has_user_message: bool) -> list[Finding]:
    row = thread.row
    if row is None:
        return []
    out: list[Finding] = []
    column = "preview" if "preview" in row else "first_user_message"
    if has_user_message and column in row and not (_str(row[column]) or "").strip():
        out.append(finding("empty-preview", f"DB row {column} is empty: Codex hides the thread"))
    row_mode = _str(row.get("history_mode"))
    if row_mode and row_mode != thread.history_mode:
        out.append(
            finding(
                "history-mode-mismatch",
                f"DB row history_mode={row_mode}, rollout {thread.history_mode}: listed but "
                "cannot be opened",
            )
        )
    if thread.row_cwd and thread.rollout_cwd and thread.row_cwd != thread.rollout_cwd:
        out.append(
            finding(
                "cwd-mismatch",
                f"DB row cwd {thread.row_cwd!r}, rollout cwd {thread.rollout_cwd!r}: Codex "
                "lists the row's",
            )
        )
    return out


class _CwdCache:
    def __init__(self) -> None:
        self._seen: dict[str, bool] = {}

    def exists(self, cwd: str) -> bool:
        if cwd not in self._seen:
            self._seen[cwd] = cwd_exists(cwd)
        return self._seen[cwd]


def diagnose_thread(
    thread: Thread,
    catalog: Catalog,
    providers: ProviderConfig,
    cwds: _CwdCache | None = None,
) -> Diagnosis:
    """Every finding for one thread, and whether Codex lists it."""
    cwds = cwds or _CwdCache()
    findings = _from_catalog(thread)
    has_user_message = not any(f.code == "no-user-message" for f in findings)
    findings += _row_path_findings(thread, catalog.home.root)
    findings += _row_content_findings(thread, has_user_message)
    if thread.row is None and catalog.db is not None and catalog.db.backfill_status == "complete":
        findings.append(finding("file-without-row", "no DB row yet: Codex adds it when it lists"))
    cwd = thread.cwd
    # A bare-era thread records its cwd only in free text: rebinding cannot move it.
    if cwd and thread.era != "bare" and not cwds.exists(cwd):
        findings.append(
            finding(
                "cwd-missing",
                f"project folder {cwd} does not exist here",
                _rebind_fix(cwd),
            )
        )
    provider = thread.model_provider
    if provider and providers.error is None:
        if provider not in providers.known:
            where = "config.toml" if providers.found else "config.toml (this home has none)"
            findings.append(
                finding(
                    "unknown-provider",
                    f"provider {provider!r} is not built in and not defined in {where}: "
                    "Codex cannot resume the thread",
                    f"Add a [model_providers.{provider}] table to config.toml.",
                )
            )
        elif provider != providers.default:
            findings.append(
                finding(
                    "other-provider",
                    f"provider {provider!r} is not the default {providers.default!r}: hidden "
                    "from `codex resume` and thread/list without modelProviders",
                )
            )
    source = thread.source
    if source and thread.era != "bare" and source not in INTERACTIVE_SOURCES:
        findings.append(
            finding(
                "non-interactive-source",
                f"source {source!r}: listed only with `codex resume --all` or sourceKinds",
            )
        )
    return Diagnosis(
        id=thread.id,
        rel_path=thread.rel_path,
        listed=_listed(findings),
        findings=findings,
        title=thread.name or _str((thread.row or {}).get("title")) or thread.title,
        cwd=cwd,
        archived=thread.archived,
    )


def _listed(findings: list[Finding]) -> bool | None:
    effects = [RULES[f.code].listed for f in findings]
    if False in effects:
        return False
    if None in effects:
        return None
    return True


def _orphan_diagnosis(catalog: Catalog, row_id: str) -> Diagnosis:
    orphan = next(r for r in catalog.orphan_rows if r.id == row_id)
    path = orphan.rollout_path
    elsewhere = bool(path) and os.path.isabs(path) and os.path.exists(path)
    if elsewhere:
        message = f"no rollout in this home; Codex lists it from another home's file: {path}"
    else:
        message = (
            f"no rollout in this home, and its rollout_path does not exist: {path or '(empty)'}"
        )
    row = catalog.db.rows.get(row_id, {}) if catalog.db else {}
    return Diagnosis(
        id=row_id,
        rel_path=path or None,
        listed=elsewhere,
        findings=[
            finding(
                "row-without-file",
                message,
                f"Import the rollout (codex-migrate import SOURCE --thread {row_id}), or delete "
                "this row.",
            )
        ],
        kind="row",
        title=_str(row.get("title")) or None,
        cwd=orphan.cwd,
        archived=bool(row["archived"]) if "archived" in row else None,
    )


def read_backfill_lease(db: Path) -> tuple[str | None, int | None]:
    """``(status, updated_at)`` of ``backfill_state``, read from a private copy."""
    try:
        with connect_readonly(db) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "backfill_state" not in tables:
                return None, None
            cols = table_columns(conn, "backfill_state")
            if "status" not in cols:
                return None, None
            updated = "updated_at" if "updated_at" in cols else "NULL"
            got = conn.execute(f"SELECT status, {updated} FROM backfill_state LIMIT 1").fetchone()
    except (StateDBError, sqlite3.Error):
        return None, None  # the catalog read the same DB: a failure here is not news
    if got is None:
        return None, None
    status = got[0] if isinstance(got[0], str) else None
    stamp = got[1] if isinstance(got[1], int) else None
    return status, stamp


def _backfill_findings(catalog: Catalog, now: float) -> list[Finding]:
    db = catalog.db
    state_db = catalog.home.state_db
    if db is None or state_db is None or db.backfill_status != "running":
        return []
    _, updated_at = read_backfill_lease(state_db)
    if updated_at is not None and updated_at > now - BACKFILL_LEASE_SECONDS:
        from codex_migrate.inuse import running_codex

        holders = running_codex(catalog.home.root)
        if not holders:
            expires = time.strftime(
                "%Y-%m-%d %H:%M:%S", time.localtime(updated_at + BACKFILL_LEASE_SECONDS)
            )
            return [
                finding(
                    "backfill-running",
                    f"{RULES['backfill-running'].summary} The lease expires at {expires}.",
                )
            ]
        pids = ", ".join(str(p.pid) for p in holders)
        return [finding("backfill-lease", f"Codex (pid {pids}) is indexing this home.")]
    return [
        finding(
            "backfill-lease",
            "backfill_state is 'running' but its lease is stale: the next Codex start retakes "
            "it and finishes the backfill.",
        )
    ]


def diagnose(
    catalog: Catalog,
    *,
    thread_ids: Iterable[str] | None = None,
    providers: ProviderConfig | None = None,
    now: float | None = None,
) -> DoctorReport:
    """Diagnose every thread and DB row of a home (or only ``thread_ids``): read-only."""
    home = catalog.home
    providers = providers or read_provider_config(home.root)
    report = DoctorReport(
        home=str(home.root),
        state_db=str(home.state_db) if home.state_db else None,
        backfill_status=catalog.db.backfill_status if catalog.db else None,
        providers=providers,
    )
    if catalog.db_error:
        report.home_findings.append(finding("db-unreadable", catalog.db_error))
    if providers.error:
        report.home_findings.append(finding("config-unreadable", providers.error))
    report.home_findings += _backfill_findings(catalog, time.time() if now is None else now)
    for item in catalog.unreadable:
        report.home_findings.append(finding("unreadable-file", f"{item['path']}: {item['reason']}"))

    wanted = None if thread_ids is None else [t.strip().lower() for t in thread_ids if t.strip()]
    orphan_ids = {r.id for r in catalog.orphan_rows}
    cwds = _CwdCache()
    if wanted is None:
        report.threads = [diagnose_thread(t, catalog, providers, cwds) for t in catalog.threads]
        report.rows = [_orphan_diagnosis(catalog, r.id) for r in catalog.orphan_rows]
        return report
    known = [t.id for t in catalog.threads] + sorted(orphan_ids)
    for given in dict.fromkeys(wanted):
        tid = _resolve_id(given, known)
        thread = catalog.thread(tid)
        if thread is not None:
            report.threads.append(diagnose_thread(thread, catalog, providers, cwds))
        elif tid in orphan_ids:
            report.rows.append(_orphan_diagnosis(catalog, tid))
        else:
            report.threads.append(
                Diagnosis(id=tid, rel_path=None, listed=False, findings=[finding("not-found")])
            )
    return report


def _resolve_id(given: str, known: list[str]) -> str:
    """A full id as is; a prefix that names exactly one thread or row, that one."""
    if given in known:
        return given
    matches = [k for k in known if k.startswith(given)]
    return matches[0] if len(matches) == 1 else given
