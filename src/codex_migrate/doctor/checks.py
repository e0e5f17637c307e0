"""The checks: one diagnosis per thread and per DB row, read-only."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from codex_migrate import statedb
from codex_migrate.catalog import Catalog, cwd_exists
from codex_migrate.catalog_thread import Thread, shown
from codex_migrate.choices import Choices, load_choices
from codex_migrate.desktop import GLOBAL_STATE, missing_in
from codex_migrate.doctor.config import read_provider_config
from codex_migrate.doctor.report import Diagnosis, DoctorReport, Finding, ProviderConfig, finding
from codex_migrate.doctor.rules import BACKFILL_LEASE_SECONDS, RULES
from codex_migrate.doctor.shared import Shared
from codex_migrate.home import CodexHome
from codex_migrate.rowcheck import names_backup_origin
from codex_migrate.statedb import StateDBError, connect_readonly, is_inside, table_columns

# -- the checks --------------------------------------------------------------------------------


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
#: Catalog problems whose own message says more than the rule's summary (which ids, how a
#: 2025 rollout gets converted): scan, doctor and the UI show that message.
_CATALOG_WORDED = frozenset({"other", "meta-id-mismatch", "bare-era"})
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
        elif code in _CATALOG_WORDED:
            out.append(finding(code, str(text)))
        else:
            out.append(finding(code))
    return out


def _row_path_findings(thread: Thread, home: CodexHome) -> list[Finding]:
    row = thread.row
    if row is None:
        return []
    home_root = home.root
    path = str(row.get("rollout_path") or "")
    if not path or not os.path.isabs(path):
        message = f"DB row rollout_path {path!r} is relative: hidden except from that folder"
        return [finding("row-path-relative", message)]
    if names_backup_origin(home, path, thread):
        return []  # a backup's DB names the files of the home it was taken from: expected
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
    row_cwd, rollout_cwd = shown(thread)[0], thread.rollout_cwd
    if row_cwd and rollout_cwd and row_cwd != rollout_cwd:
        out.append(
            finding(
                "cwd-mismatch",
                f"DB row cwd {row_cwd!r}, rollout cwd {rollout_cwd!r}: Codex lists the row's",
            )
        )
    return out


def diagnose_thread(
    thread: Thread,
    catalog: Catalog,
    providers: ProviderConfig,
    shared: Shared | None = None,
    choices: Choices | None = None,
) -> Diagnosis:
    """Every finding for one thread, and whether Codex lists it."""
    shared = shared or Shared(providers)
    findings = _from_catalog(thread) if thread.problems else []
    row = thread.row
    if row is not None:
        has_user_message = not any(f.code == "no-user-message" for f in findings)
        findings += _row_path_findings(thread, catalog.home)
        findings += _row_content_findings(thread, has_user_message)
    elif catalog.db is not None and catalog.db.backfill_status == "complete":
        findings.append(finding("file-without-row", "no DB row yet: Codex adds it when it lists"))
    _, _, cwd, name, archived = shown(thread)  # in one call: a scan diagnoses thousands
    bare = thread.era == "bare"
    # A bare-era thread records its cwd only in free text: rebinding cannot move it.
    if cwd and not bare and (missing := shared.cwd_missing(cwd)) is not None:
        findings.append(
            finding(
                "history-only",
                f"kept as history, folder {cwd} not on this machine",
            )
            if choices is not None and thread.id in choices.history_only
            else missing
        )
    provider = thread.model_provider
    if provider and providers.error is None and (about := shared.provider(provider)) is not None:
        findings.append(about)
    source = thread.source
    if source and not bare and (about := shared.source(source)) is not None:
        findings.append(about)
    return Diagnosis(  # positional, in the fields' order (tests pin it): one per thread
        thread.id,  # id
        thread.rel_path,  # rel_path
        _listed(findings),  # listed
        findings,
        "thread",  # kind
        name or _str((row or {}).get("title")) or thread.title,
        cwd,
        archived,
    )


def _listed(findings: list[Finding]) -> bool | None:
    listed: bool | None = True
    for f in findings:  # a loop, no list: most threads have one or two findings
        effect = RULES[f.code].listed
        if effect is False:
            return False
        if effect is None:
            listed = None
    return listed


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
    except (StateDBError, statedb.DBError):
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
    db_name = home.state_db.name if home.state_db else None
    if catalog.db_error:
        report.home_findings.append(finding("db-unreadable", catalog.db_error, file=db_name))
    if providers.error:
        report.home_findings.append(
            finding("config-unreadable", providers.error, file="config.toml")
        )
    for f in _backfill_findings(catalog, time.time() if now is None else now):
        f.file = db_name
        report.home_findings.append(f)
    for item in catalog.unreadable:
        rel = _home_relative(item["path"], home.root)
        report.home_findings.append(
            finding("unreadable-file", f"{rel}: {item['reason']}", file=rel)
        )
    choices = load_choices(home.root)
    mapped_here = [p for p in choices.mapped_projects if cwd_exists(p)]
    for root in missing_in(home.root, mapped_here):
        report.home_findings.append(
            finding(
                "desktop-project-missing",
                f"project {root} is not in the Desktop's list",
                file=GLOBAL_STATE,
            )
        )

    wanted = None if thread_ids is None else [t.strip().lower() for t in thread_ids if t.strip()]
    orphan_ids = {r.id for r in catalog.orphan_rows}
    shared = Shared(providers)
    if wanted is None:
        report.threads = [
            diagnose_thread(t, catalog, providers, shared, choices) for t in catalog.threads
        ]
        report.rows = [_orphan_diagnosis(catalog, r.id) for r in catalog.orphan_rows]
        return report
    known = dict.fromkeys([*(t.id for t in catalog.threads), *sorted(orphan_ids)])
    for given in dict.fromkeys(wanted):
        tid = _resolve_id(given, known, str(home.root))
        thread = catalog.thread(tid)
        if thread is not None:
            report.threads.append(diagnose_thread(thread, catalog, providers, shared, choices))
        elif tid in orphan_ids:
            report.rows.append(_orphan_diagnosis(catalog, tid))
        else:
            report.threads.append(
                Diagnosis(id=tid, rel_path=None, listed=False, findings=[finding("not-found")])
            )
    return report


def _home_relative(path: str, root: Path) -> str:
    """``path`` relative to the home when it is inside, else as given."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _resolve_id(given: str, known: dict[str, None], where: str) -> str:
    """The thread or row an id or unique prefix names (an ambiguous prefix is refused); an id
    that names nothing is diagnosed as ``not-found``."""
    from codex_migrate.selection import SelectionError, resolve_id  # only for given ids

    try:
        return resolve_id(given, known, where)
    except SelectionError as exc:
        if exc.candidates:
            raise
        return given
