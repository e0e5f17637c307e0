"""Repairing a home that was copied or synced: new project folders, and a DB that agrees.

People copy ``~/.codex`` with rsync, a cloud drive or git. Sessions are then on disk but
Codex shows them under dead folders, or not at all: DB rows still point at the old machine's
rollout files (measured: such threads are invisible), rows are missing, names live only in
``session_index.jsonl``. Rebind fixes all of it in place, as one transaction like import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.aborting import abort
from codex_migrate.bare import bare_choice, keep_original, original_rel
from codex_migrate.catalog import Catalog, ProgressFn, cwd_exists
from codex_migrate.catalog_thread import Thread
from codex_migrate.choices import CHOICES_REL
from codex_migrate.desktop import GLOBAL_STATE
from codex_migrate.fingerprint import Fingerprint
from codex_migrate.fsutil import sync_files
from codex_migrate.homefiles import declare, stage_bytes
from codex_migrate.merge import raw_lines
from codex_migrate.pathmap import MappingPlan, PathMapper
from codex_migrate.projectfiles import for_rebind
from codex_migrate.rebind_rows import fix_rows, translate_offsets
from codex_migrate.rewrite import line_changes
from codex_migrate.selection import Selection
from codex_migrate.staging import StagedFile, StageJob, stage_many
from codex_migrate.transaction import crash_point
from codex_migrate.writing import HomeWriter, open_for_writing


@dataclass
class RebindItem:
    thread: Thread
    new_cwd: str | None
    rewrite: bool
    values_changed: int
    row_action: str | None  # "update" | "insert" | None
    reasons: list[str] = field(default_factory=list)
    #: a 2025 bare rollout converted in place (bare.py), with this cwd before mapping
    bare_cwd: str | None = None

    @property
    def id(self) -> str:
        return self.thread.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.thread.rel_path,
            "old_cwd": self.thread.cwd,
            "new_cwd": self.new_cwd,
            "rewrite_file": self.rewrite,
            "values_changed": self.values_changed,
            "row": self.row_action,
            "reasons": list(self.reasons),
            "upgrade_bare": self.bare_cwd is not None,
        }


@dataclass
class RebindPlan:
    catalog: Catalog
    mapper: PathMapper
    mapping: MappingPlan
    items: list[RebindItem] = field(default_factory=list)
    drop_rows: list[str] = field(default_factory=list)
    reset_backfill: bool = False
    rewrite_text: bool = False
    bare_notes: list[str] = field(default_factory=list)
    #: What the plan read; re-checked under the lock before writing.
    fingerprint: Fingerprint | None = None
    #: small files of the home this rebind updates (Desktop project list, our choices)
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.items or self.drop_rows or self.reset_backfill or self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": str(self.catalog.home.root),
            "mapping": self.mapping.to_dict(),
            "threads": [i.to_dict() for i in self.items],
            "drop_rows": list(self.drop_rows),
            "reset_backfill": self.reset_backfill,
            "summary": {
                "files": sum(1 for i in self.items if i.rewrite),
                "rows_updated": sum(1 for i in self.items if i.row_action == "update"),
                "rows_inserted": sum(1 for i in self.items if i.row_action == "insert"),
                "rows_dropped": len(self.drop_rows),
                "bare_upgraded": sum(1 for i in self.items if i.bare_cwd is not None),
            },
            "bare_kept": list(self.bare_notes),
            "home_files": sorted(self.files),
        }


def projects_to_rebind(catalog: Catalog, *, all_projects: bool) -> list[str]:
    """Projects whose recorded folder is missing here (or every project with ``--all``)."""
    return [p.cwd for p in catalog.projects if p.cwd and (all_projects or not p.exists)]


def _count_changes(thread: Thread, mapper: PathMapper, rewrite_text: bool) -> int:
    if not mapper.rules:
        return 0
    return sum(
        len(line_changes(raw, mapper, rewrite_text=rewrite_text))
        for raw in raw_lines(thread.rollout_path)
    )


def _row_reasons(thread: Thread, catalog: Catalog, new_cwd: str | None) -> list[str]:
    row = thread.row
    if catalog.db is None:
        return []
    if row is None:
        return ["no DB row for this rollout"]
    reasons = []
    path = str(row.get("rollout_path") or "")
    if path != str(thread.rollout_path):
        reasons.append(f"rollout_path {path!r} is not this file")
    if new_cwd and row.get("cwd") != new_cwd:
        reasons.append(f"cwd {row.get('cwd')!r} -> {new_cwd!r}")
    if "history_mode" in row and row.get("history_mode") != thread.history_mode:
        reasons.append(f"history_mode {row.get('history_mode')} -> {thread.history_mode}")
    if thread.index_name and not row.get("name"):
        reasons.append("name only in session_index.jsonl")
    return reasons


def build_rebind_plan(
    catalog: Catalog,
    mapper: PathMapper,
    *,
    thread_ids: list[str] = (),  # type: ignore[assignment]
    all_projects: bool = False,
    rewrite_text: bool = False,
    upgrade_bare: bool = False,
    bare_cwd: str | None = None,
) -> RebindPlan:
    """What rebind would change, computed without writing anything."""
    wanted = set(Selection(tuple(thread_ids)).resolve(catalog)) if thread_ids else set()
    projects = projects_to_rebind(catalog, all_projects=all_projects)
    plan = RebindPlan(
        catalog, mapper, mapper.plan(projects, exists=cwd_exists), rewrite_text=rewrite_text
    )
    chosen = set(projects)
    for thread in catalog.threads:
        if wanted and thread.id not in wanted:
            continue
        if upgrade_bare and thread.era == "bare":
            _plan_bare(plan, thread, mapper, bare_cwd)
            continue
        in_scope = thread.cwd in chosen or bool(wanted)
        new_cwd = mapper.map(thread.cwd) if (thread.cwd and in_scope) else None
        if new_cwd == thread.cwd:
            new_cwd = None
        changes = (
            _count_changes(thread, mapper, rewrite_text)
            if in_scope and not thread.compressed
            else 0
        )
        target_cwd = new_cwd or thread.cwd
        reasons = _row_reasons(thread, catalog, target_cwd)
        row_action = None
        if reasons or changes:
            row_action = "insert" if thread.row is None else "update"
            if catalog.db is None:
                row_action = None
        if changes or row_action:
            item = RebindItem(thread, new_cwd, changes > 0, changes, row_action, reasons)
            plan.items.append(item)
    if catalog.db is not None:
        plan.drop_rows = [r.id for r in catalog.orphan_rows]
        plan.reset_backfill = catalog.db.backfill_status == "running"
    plan.fingerprint = _fingerprint(plan)
    for rel in (GLOBAL_STATE, CHOICES_REL):  # read by for_rebind: taken before it reads
        plan.fingerprint.add_file(rel)
    plan.files = for_rebind(plan)
    return plan


def _plan_bare(plan: RebindPlan, thread: Thread, mapper: PathMapper, bare_cwd: str | None) -> None:
    """Convert a 2025 rollout in place (docs/STORAGE.md §8), or say why it is kept as it is."""
    convert, note = bare_choice(thread, bare_cwd)
    if convert is None:
        plan.bare_notes.append(f"{thread.id}: {note}")
        return
    mapped = mapper.map(convert)
    new_cwd = mapped if mapped and mapped != convert else None
    reason = "2025 format converted so current Codex lists and resumes it"
    plan.items.append(RebindItem(thread, new_cwd, True, 0, None, [reason], bare_cwd=convert))


def _fingerprint(plan: RebindPlan) -> Fingerprint:
    fp = Fingerprint(plan.catalog.home.root)
    db = plan.catalog.db
    for item in plan.items:
        if item.rewrite:
            fp.add_file(item.thread.rel_path)
        if item.row_action:
            fp.add_row(item.id, item.thread.row)
    for tid in plan.drop_rows:
        fp.add_row(tid, db.rows.get(tid) if db else None)
    return fp


@dataclass
class RebindReport:
    transaction_id: str | None
    files: int = 0
    rows: int = 0
    dropped: int = 0
    offsets_translated: int = 0
    projections_dropped: int = 0
    home_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recovered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def apply_rebind(
    plan: RebindPlan, progress: ProgressFn | None = None, writer: HomeWriter | None = None
) -> RebindReport:
    """Execute ``plan`` in its home as one transaction (``writer``: the home already open)."""
    started = time.monotonic()
    home = plan.catalog.home
    root = home.root
    report = RebindReport(None)
    with open_for_writing(home, "rebind", writer=writer) as w:
        report.recovered = w.recovered
        files = for_rebind(plan)  # Desktop project list, our choices
        if plan.empty and not files:
            return report
        if plan.fingerprint is not None:
            plan.fingerprint.recheck(home.state_db)
        tx = w.transaction("rebind")
        report.transaction_id = tx.journal.id
        rewrites = [i for i in plan.items if i.rewrite]
        try:
            for item in rewrites:
                tx.will_replace(item.thread.rel_path)
            originals = [
                (i, original_rel(i.thread.rel_path))
                for i in rewrites
                if i.bare_cwd is not None and not (root / original_rel(i.thread.rel_path)).exists()
            ]
            for _item, rel in originals:
                tx.will_create(rel)
            needs_db = any(i.row_action for i in plan.items) or plan.drop_rows
            if (needs_db or plan.reset_backfill) and home.state_db is not None:
                tx.will_change_db(home.state_db)
            paginated = [i for i in rewrites if i.thread.history_mode == "paginated"]
            if paginated and home.history_db is not None:
                tx.will_change_db(home.history_db)
            for rel in files:
                declare(tx, rel)
            tx.journal.threads = sorted({i.id for i in plan.items} | set(plan.drop_rows))
            tx.journal.summary = plan.to_dict()["summary"]
            tx.prepare()

            jobs = [
                StageJob(
                    i.thread.rollout_path,
                    tx.staged_path(i.thread.rel_path),
                    i.thread.mtime,
                    offsets=i.thread.history_mode == "paginated",
                    rewrite_text=plan.rewrite_text,
                    bare_cwd=i.bare_cwd,
                )
                for i in rewrites
            ]
            results = stage_many(
                jobs,
                plan.mapper,
                total_bytes=sum(i.thread.size for i in rewrites),
                on_done=(lambda n: progress("rewrite", n, len(rewrites))) if progress else None,
            )
            staged: dict[str, StagedFile] = {
                i.id: r for i, r in zip(rewrites, results, strict=True)
            }
            kept = {
                rel: keep_original(i.thread.rollout_path, tx.staging / rel) for i, rel in originals
            }
            sync_files([s.path for s in staged.values()] + [tx.staging / r for r in kept])
            crash_point("staged")
            ours = {rel: stage_bytes(tx, rel, data) for rel, data in files.items()}
            tx.will_install(
                {i.thread.rel_path: staged[i.id].sha256 for i in rewrites} | kept | ours
            )
            tx.set_state("applying")
            for item in rewrites:
                tx.install(item.thread.rel_path, staged[item.id].path)
            for rel in kept:
                tx.install(rel)
            for rel in files:
                tx.install(rel)
            report.home_files = sorted(files)
            tx.sync_installed()
            tx.save()
            report.files = len(rewrites)
            crash_point("files")

            if home.state_db is not None:
                report.rows, report.dropped = fix_rows(tx, plan, staged)
            if paginated and home.history_db is not None:
                translated, dropped = translate_offsets(
                    tx, home.history_db, paginated, staged, plan.mapper
                )
                report.offsets_translated, report.projections_dropped = translated, dropped
            crash_point("db")
            tx.commit()
        except BaseException as exc:
            abort(tx, exc, "rebind")
    report.seconds = time.monotonic() - started
    return report
