"""Pull: bring in another machine's threads through the normal import, one thread at a time
as far as the merge rule is concerned.

Only files that match that machine's manifest are taken, and they are first copied (and
hashed) into a private snapshot, so a file the sync engine replaces meanwhile never slips in.
Projects are mapped by the portable roots; a project outside every root comes in history-only.
The merge rule decides per thread (identical: skip; ours is a prefix: replace; theirs is a
prefix: keep); a thread that diverged is a conflict, reported and left alone on both sides,
while every other thread still comes in, in one transaction per machine. Archive state is never
taken over for a thread this home already has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.catalog_thread import Thread, read_thread
from codex_migrate.codexbin import FoundCodex
from codex_migrate.home import ARCHIVED_DIR, CodexHome, RolloutRef
from codex_migrate.importer import ImportReport, apply_import
from codex_migrate.manifest import FileEntry, ManifestError
from codex_migrate.merge import CONFLICT
from codex_migrate.pathmap import PathMapper, Rule, Status
from codex_migrate.paths import try_parse
from codex_migrate.plan import ImportPlan, build_import_plan
from codex_migrate.registration import register_import
from codex_migrate.rollout import parse_rollout_name
from codex_migrate.session_names import read_session_index
from codex_migrate.statedb import StateDBError, read_thread_rows
from codex_migrate.sync.layout import (
    SIDE_FILES,
    SyncState,
    copy_verified,
    delay,
    leftovers,
    read_manifest,
    sync_info,
    thread_of,
)
from codex_migrate.transaction import JOURNAL
from codex_migrate.writing import HomeWriter


@dataclass
class MachinePull:
    """What pulling from one machine found and would do (or did)."""

    machine: str
    pushed_at: str | None = None
    hostname: str | None = None
    published: int = 0
    error: str | None = None
    in_flight: list[dict[str, str]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    history_only: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    plan: ImportPlan | None = None
    settled: dict[str, str] = field(default_factory=dict)
    report: ImportReport | None = None
    registration: dict[str, Any] | None = None
    #: nothing was taken in because the home could not be written now (Codex runs)
    blocked: bool = False

    @property
    def summary(self) -> dict[str, int]:
        base = self.plan.summary() if self.plan else {}
        return {**base, "conflict": len(self.conflicts), "in_flight": len(self.in_flight)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "hostname": self.hostname,
            "pushed_at": self.pushed_at,
            "published_threads": self.published,
            "error": self.error,
            "summary": self.summary,
            "threads": [i.to_dict() for i in self.plan.items] if self.plan else [],
            "conflicts": self.conflicts,
            "in_flight": self.in_flight,
            "leftovers": self.leftovers,
            "history_only_projects": self.history_only,
            "skipped": self.skipped,
            "transaction": self.report.transaction_id if self.report else None,
            "codex_registration": self.registration,
            "blocked": self.blocked,
        }


def local_catalog(home: CodexHome, refs: dict[str, RolloutRef], ids: set[str]) -> Catalog:
    """The target's view of just the threads in question (the whole home is not read)."""
    cat = Catalog(home=home)
    if home.state_db is not None:
        try:
            cat.db = read_thread_rows(home.state_db)
        except StateDBError as exc:
            cat.db_error = exc.message
    rows = cat.db.rows if cat.db else {}
    names = read_session_index(home.session_index)
    for tid in sorted(ids):
        ref = refs.get(tid)
        if ref is None:
            continue
        try:
            t = read_thread(home, ref)
        except OSError:
            continue
        t.index_name, t.row = names.get(tid), rows.get(tid)
        cat.threads.append(t)
    return cat


def _mapper(rules: list[Rule], threads: list[Thread], pull: MachinePull) -> PathMapper:
    """Rules from the roots; every project outside them is kept as recorded (history-only)."""
    base = PathMapper(rules)
    outside: list[str] = []
    for t in threads:
        if t.cwd and base.resolve(t.cwd).status is Status.UNMAPPED and t.cwd not in outside:
            outside.append(t.cwd)
    pull.history_only = sorted(outside)
    return PathMapper(rules, history_only=outside)


def root_rules(theirs: dict[str, str], mine: dict[str, str]) -> list[Rule]:
    """``their path = my path`` for every root both machines have."""
    return [Rule.of(theirs[name], mine[name]) for name in sorted(theirs) if name in mine]


def plan_pull(
    home: CodexHome,
    mdir: Path,
    machine: str,
    roots: tuple[dict[str, str], dict[str, str]],
    state: SyncState,
    local: dict[str, RolloutRef],
    snapshot: Path,
) -> MachinePull:
    """Decide what comes in from ``machine``; writes nothing but the private ``snapshot``."""
    pull = MachinePull(machine)
    try:
        manifest = read_manifest(mdir)
    except ManifestError as exc:
        pull.error = exc.message
        return pull
    pull.leftovers = leftovers(mdir)
    if manifest is None:
        pull.error = "no manifest yet: its first push has not arrived (in flight)"
        return pull
    info = sync_info(manifest)
    if info.get("machine") not in (None, machine):
        pull.error = f"its manifest is machine {info.get('machine')!r}'s, not {machine!r}'s"
        return pull
    pull.pushed_at = info.get("pushed_at") or manifest.created_at
    pull.hostname = info.get("hostname")
    done = state.pulled.get(machine, {})
    entries = {e.path: e for e in manifest.files}
    rollouts: dict[str, FileEntry] = {}
    for e in manifest.files:
        tid = thread_of(e.path)
        if tid:
            rollouts[tid] = e
    pull.published = len(rollouts)
    wanted = {t: e for t, e in rollouts.items() if done.get(t) != e.sha256 or t not in local}
    if not wanted:
        return pull
    for name in SIDE_FILES:
        if name in entries:
            why = copy_verified(mdir / name, snapshot / name, entries[name])
            if why:
                pull.in_flight.append({"path": name, **why})
    if pull.in_flight:  # names and prompt history must come with their threads
        side = pull.in_flight[0]["path"]
        waits = delay("waits", "waits for " + side, name=side)
        pull.in_flight += [{"path": e.path, **waits} for e in wanted.values()]
        return pull
    src_home = CodexHome(root=snapshot, kind="home")
    src = Catalog(home=src_home)
    names = read_session_index(snapshot / "session_index.jsonl")
    for tid, e in sorted(wanted.items()):
        why = copy_verified(mdir / e.path, snapshot / e.path, e)
        if why:
            pull.in_flight.append({"path": e.path, **why})
            continue
        parsed = parse_rollout_name(e.path.rsplit("/", 1)[-1])
        assert parsed is not None
        ref = RolloutRef(
            str(snapshot / e.path), tid, e.path.startswith(ARCHIVED_DIR + "/"), parsed[2]
        )
        try:
            t = read_thread(src_home, ref)
        except (OSError, ValueError) as exc:
            why = delay("rollout-unreadable", f"unreadable: {exc}", error=str(exc))
            pull.skipped.append({"thread": tid, **why})
            continue
        t.index_name = names.get(tid)
        if t.cwd and try_parse(t.cwd) is None:
            why = delay("cwd-relative", f"project path {t.cwd!r} is not absolute", cwd=t.cwd)
            pull.skipped.append({"thread": tid, **why})
            continue
        src.threads.append(t)
    try:
        rules = root_rules(*roots)
        mapper = _mapper(rules, src.threads, pull)
    except ValueError as exc:
        pull.error = f"the roots of codex-sync.toml cannot be used: {exc}"
        return pull
    target = local_catalog(home, local, {t.id for t in src.threads})
    plan = build_import_plan(src, target, mapper)
    kept = []
    for item in plan.items:
        if item.action == CONFLICT:
            tgt = item.target_thread
            pull.conflicts.append(
                {
                    "thread": item.id,
                    "machine": machine,
                    "title": item.thread.name or item.thread.title,
                    "first_difference_line": item.first_difference,
                    "local_path": str(tgt.rollout_path) if tgt else None,
                    "their_path": str(mdir / wanted[item.id].path),
                }
            )
            continue
        if item.target_thread is not None:  # archive changes are not propagated
            item.archived = item.target_thread.archived
        kept.append(item)
        pull.settled[item.id] = wanted[item.id].sha256
    plan.items = kept
    pull.plan = plan
    return pull


def apply_pull(
    pull: MachinePull,
    state: SyncState,
    found: FoundCodex | None,
    writer: HomeWriter,
    progress: ProgressFn | None = None,
) -> None:
    """Import the planned threads in one transaction, register them with Codex, and note in
    ``state`` what is settled (only after the transaction committed). ``writer``: the home,
    opened for writing once for every machine's pull."""
    plan = pull.plan
    if plan is None:
        return
    home = plan.target.home
    pull.report = apply_import(plan, progress, writer)
    if pull.report.transaction_id:
        reg = register_import(writer, plan, pull.report, found)
        pull.registration = reg.to_dict()
    tx = pull.report.transaction_id
    written: dict[str, str] = {}
    if tx:
        journal = json.loads((home.transactions_dir / tx / JOURNAL).read_text(encoding="utf-8"))
        written = journal.get("written") or {}
    outside = set(pull.history_only)
    for item in plan.writes:
        if item.thread.cwd in outside:  # bound later, once a root covers it (see .bind)
            state.unbound[item.id] = {"machine": pull.machine, "cwd": item.thread.cwd}
        else:
            state.unbound.pop(item.id, None)
        sha = written.get(item.target_rel)
        path = home.root / item.target_rel
        if sha and path.exists():
            st = path.stat()
            state.installed[item.id] = {
                "sha256": sha,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "from": pull.machine,
            }
    state.pulled.setdefault(pull.machine, {}).update(pull.settled)
