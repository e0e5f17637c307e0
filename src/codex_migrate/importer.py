"""Applying an import plan to the target home as one transaction.

Order matters for crash safety: everything is declared and snapshotted first (nothing in the
home changes until the journal says ``prepared``), new rollouts are staged and fsynced beside
the home (their new day folders made meanwhile), then renamed into place, then the DB changes
in one SQLite transaction; a thread checks all that while turn indexes, names and prompts are
written. Any failure rolls back.

That SQLite transaction is opened before staging and takes each row as its rollout comes back
from the workers, but commits only after the renames (its row log journalled first): until
then no row is visible, and a crash or an error leaves the DB as it was.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from codex_migrate.aborting import abort
from codex_migrate.bare import keep_original, original_rel
from codex_migrate.catalog import ProgressFn, read_session_index
from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import sync_files
from codex_migrate.home import HISTORY_JSONL, SESSION_INDEX
from codex_migrate.homefiles import declare, stage_bytes
from codex_migrate.merge import REPLACE, SKIP
from codex_migrate.plan import IMPORT, ImportPlan, PlanItem, damage_now
from codex_migrate.projectfiles import for_import
from codex_migrate.prompthistory import history_lines
from codex_migrate.session_names import index_lines
from codex_migrate.staging import StageJob, iter_staged, workers_ahead
from codex_migrate.threadrow import (
    RowFacts,
    RowWriter,
    build_row,
    delete_projection,
    watch_projection,
)
from codex_migrate.transaction import Transaction, crash_point
from codex_migrate.turnindex import (
    ThreadIndex,
    indexes_to_carry,
    rewritten_offsets,
    translate,
    write_indexes,
)
from codex_migrate.verify import Identities, files_meanwhile, verify_meanwhile
from codex_migrate.writing import HomeWriter, open_for_writing


@dataclass
class ImportReport:
    transaction_id: str | None
    summary: dict[str, int]
    rows_written: int = 0
    names_written: int = 0
    history_entries: int = 0
    #: paginated threads whose turn index was carried (they open without Codex's help)
    index_carried: list[str] = field(default_factory=list)
    #: 2025 bare rollouts written converted (originals kept under codex-migrate/)
    bare_upgraded: int = 0
    #: small files of the home updated too (Desktop project list, our choices)
    home_files: list[str] = field(default_factory=list)
    bytes_written: int = 0
    seconds: float = 0.0
    recovered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _needs_row(item: PlanItem, root: Path) -> bool:
    """A skipped thread still gets its row repaired when the row is missing or stale."""
    if item.action in (IMPORT, REPLACE):
        return True
    if item.action != SKIP:
        return False
    row = item.target_thread.row if item.target_thread else None
    if row is None:
        return True
    return (
        row.get("rollout_path") != str(root / item.target_rel)
        or row.get("cwd") != item.new_cwd
        or ("history_mode" in row and row.get("history_mode") != item.thread.history_mode)
        or (bool(item.thread.name) and row.get("name") != item.thread.name)
    )


def _gets_row(item: PlanItem, root: Path) -> bool:
    """A converted 2025 rollout gets its row from Codex (measured, docs/STORAGE.md §8)."""
    return item.bare_cwd is None and _needs_row(item, root)


def row_for(
    item: PlanItem, root: Path, facts: RowFacts | None, mtime: float | None = None
) -> dict[str, Any]:
    """The state DB row an imported thread gets (the import writes it; the registration puts
    its times back after a Codex round trip). ``mtime``: the file's as staged (a rename keeps
    it), else it is looked at in place."""
    path = os.path.join(root, item.target_rel.replace("/", os.sep))  # as str(root / rel)
    if mtime is None:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = item.thread.mtime
    source_row = item.thread.row
    archived_at = None
    if item.archived:
        archived_at = (source_row or {}).get("archived_at") or int(mtime)
    return build_row(
        thread_id=item.id,
        rollout_path=path,
        cwd=item.new_cwd or "",
        meta=item.thread.meta,
        title=item.thread.title,
        name=item.thread.name,
        archived=item.archived,
        archived_at=archived_at,
        history_mode=item.thread.history_mode,
        mtime=mtime,
        facts=facts or RowFacts(),
        source_row=source_row,
    )


def apply_import(
    plan: ImportPlan, progress: ProgressFn | None = None, writer: HomeWriter | None = None
) -> ImportReport:
    """Execute ``plan`` in the target home; the plan must have no conflicts. ``writer``: the
    home already opened for writing by the caller (see :mod:`codex_migrate.writing`)."""
    started = time.monotonic()
    home = plan.target.home
    root = home.root
    report = ImportReport(transaction_id=None, summary=plan.summary())
    if home.state_db is not None and plan.target.db_error:
        raise CodexMigrateError(
            f"the target's state DB cannot be used: {plan.target.db_error} Nothing was written.",
            hint="`codex-migrate doctor` explains it; Codex rebuilds a deleted state DB "
            "from the rollouts.",
            code="target-db-unusable",
        )
    with open_for_writing(home, "import", writer=writer) as w, ExitStack() as ahead:
        report.recovered = w.recovered
        writes = plan.writes
        db_items = [i for i in plan.items if _gets_row(i, root)] if home.state_db else []
        originals = [
            (i, original_rel(i.target_rel))
            for i in writes
            if i.bare_cwd is not None and not (root / original_rel(i.target_rel)).exists()
        ]
        index_names = read_session_index(home.session_index)
        names = [
            i
            for i in plan.items
            if i.action in (IMPORT, REPLACE, SKIP)
            and i.thread.name
            and index_names.get(i.id) != i.thread.name
        ]
        imported_ids = {i.id for i in plan.items if i.action in (IMPORT, REPLACE, SKIP)}
        history = history_lines(plan, imported_ids)
        files = for_import(plan)  # Desktop project list, our choices
        indexes, skipped_indexed = indexes_to_carry(plan)
        if not (writes or db_items or names or history or files or skipped_indexed):
            report.seconds = time.monotonic() - started
            return report
        total = sum(i.thread.size for i in writes)
        ahead.enter_context(workers_ahead(len(writes), total))  # while the journal is made
        if plan.fingerprint is not None:
            plan.fingerprint.recheck(home.state_db)
        tx = w.transaction("import")
        report.transaction_id = tx.journal.id
        try:
            # What the fingerprint saw absent (re-checked just now, under the lock) is
            # absent: no second look at each of thousands of new files.
            seen = plan.fingerprint.files if plan.fingerprint is not None else {}
            for item in writes:
                rel = item.target_rel
                absent = rel in seen and seen[rel] is None
                if not absent and os.path.exists(os.path.join(root, rel)):
                    tx.will_replace(item.target_rel)
                else:
                    tx.will_create(item.target_rel)
                old = item.target_thread
                if old is not None and old.compressed:
                    tx.will_remove(old.rel_path)
            for _item, rel in originals:
                tx.will_create(rel)
            if names:
                tx.will_append(SESSION_INDEX)
            if history:
                tx.will_append(HISTORY_JSONL)
            if db_items and home.state_db is not None:
                tx.will_change_db(home.state_db)
            replaced = [i for i in writes if i.action == REPLACE]
            if (replaced or indexes) and home.history_db is not None:
                tx.will_change_db(home.history_db)
            for rel in files:
                declare(tx, rel)
            tx.journal.threads = sorted(imported_ids)
            del imported_ids
            tx.journal.summary = {"source": str(plan.source.home.root), **plan.summary()}
            tx.prepare()
            tx.make_folders()  # the day folders, as the workers stage

            jobs = (  # made as the workers take them
                StageJob(  # paths as strings: cheaper to make and to send (see StageJob)
                    os.path.join(i.thread.home_root, i.thread.rel_path),
                    tx.staged_name(i.target_rel),
                    i.thread.mtime,
                    offsets=i.id in indexes,
                    rewrite_text=plan.rewrite_text,
                    bare_cwd=i.bare_cwd,
                    check_damage=not damage_now(plan, i),
                )
                for i in writes
            )
            hashes: dict[str, str] = {}
            identities = Identities()  # inode, size of each as staged (in hashes' order)
            offsets: dict[str, dict[int, int]] = {}  # for the turn indexes carried
            results = iter_staged(
                jobs,
                plan.mapper,
                count=len(writes),
                total_bytes=total,
                on_done=(lambda n: progress("copy", n, len(writes))) if progress else None,
            )
            with ExitStack() as db:
                # an error here stops the workers (and their writeback thread) before the
                # rollback: a generator left suspended would keep them staging meanwhile
                db.enter_context(closing(results))
                rows = None
                if db_items and home.state_db is not None:
                    # The state DB's one write transaction is open from the first staged file
                    # to after the last rename: each row goes in as its rollout is staged
                    # (while the workers stage the rest), and none is seen before the commit
                    # (an error or a crash before it leaves the DB as it was).
                    rows = RowWriter(db.enter_context(tx.db_write(home.state_db)))
                    rows.watch([i.id for i in db_items])
                # rows go in in the plan's order (a new row's rowid is its place in a SELECT
                # without ORDER BY): a skipped thread's repaired row just before the next
                # staged thread's
                in_order = iter(db_items)

                def rows_before(item: PlanItem | None) -> None:
                    for j in in_order:
                        if j is item:
                            return
                        if rows is not None and j.action not in (IMPORT, REPLACE):
                            rows.add(row_for(j, root, None))

                for i, r in zip(writes, results, strict=True):
                    if not damage_now(plan, i):  # damage left to the write: copied as is, named
                        i.damage = r.damage
                    report.bytes_written += r.size
                    hashes[i.target_rel] = r.sha256
                    identities.add(i.target_rel, r.inode, r.size)
                    if r.offsets:
                        offsets[i.id] = r.offsets
                    if rows is not None and _gets_row(i, root):  # mtime: the staged file's
                        rows_before(i)
                        rows.add(row_for(i, root, r.facts, r.mtime))
                rows_before(None)
                kept = {
                    rel: keep_original(i.thread.rollout_path, tx.staging / rel)
                    for i, rel in originals
                }
                if writes or kept:
                    sync_files(
                        chain(
                            (tx.staged_name(i.target_rel) for i in writes),
                            (tx.staging / rel for rel in kept),  # staged as staging/<rel>
                        ),
                        folder=tx.staging,
                    )
                crash_point("staged")
                ours = {rel: stage_bytes(tx, rel, data) for rel, data in files.items()}
                for more in (kept, ours):  # one dict, which the journal takes as it is
                    hashes.update(more)
                tx.will_install(hashes)
                del hashes
                tx.set_state("applying")
                for n, item in enumerate(writes, 1):
                    tx.install(item.target_rel, tx.staged_name(item.target_rel))
                    if n == 1:
                        crash_point("installed-first")
                    old = item.target_thread
                    if old is not None and old.compressed:
                        tx.remove(old.rel_path)
                for rel in kept:
                    tx.install(rel)
                for rel in files:
                    tx.install(rel)
                report.home_files = sorted(files)
                tx.sync_installed()  # the journal is as "applying" saved it: no save here
                tx.clear_staging()  # all installed: its empty folder goes meanwhile
                placed = files_meanwhile(tx.journal.written, root, identities)  # as rows commit
                tx.waits_for(placed)  # (a rollback waits for that check)
                report.bare_upgraded = len([i for i in writes if i.bare_cwd is not None])
                crash_point("files")
                if rows is not None:
                    rows.flush()  # the row log is journalled and the rows committed next
                    report.rows_written = len(db_items)
            rows = None  # its log's digests: 0.2 KB a thread
            # the rows committed are checked on a thread while the rest (turn indexes, names,
            # prompts) is written, mostly waiting for the disk
            checking = verify_meanwhile(home, tx.journal.written, db_items, root, placed)
            try:
                carried = [
                    t
                    for i in writes
                    if i.id in indexes
                    and (t := translate(indexes[i.id], offsets.get(i.id, {}), plan.mapper))
                ] + [
                    t
                    for i in skipped_indexed
                    if (t := translate(indexes[i.id], _offsets_of(plan, i), plan.mapper))
                ]
                if (replaced or carried) and home.history_db is not None:
                    _write_projections(tx, home.history_db, [i.id for i in replaced], carried)
                    report.index_carried = sorted(t.thread_id.lower() for t in carried)
                crash_point("db")
                appends: dict[str, tuple[list[bytes], int | None]] = {}
                if names:
                    appends[SESSION_INDEX] = (index_lines(i.thread for i in names), None)
                    report.names_written = len(names)
                if history:
                    appends[HISTORY_JSONL] = ([history.data], 0o600)  # appended as is
                    report.history_entries = history.lines
                if appends:
                    tx.append_all(appends)  # one journal save for both
                crash_point("appended")
            except BaseException:
                checking.join()  # the rollback next needs the files and the DB as they are
                raise
            problems = checking.result()
            if problems:
                raise CodexMigrateError(
                    "verification failed after writing; everything was rolled back:\n  "
                    + "\n  ".join(problems),
                    code="verify-failed",
                    params={"count": len(problems)},
                )
            tx.commit()
        except BaseException as exc:
            abort(tx, exc, "import")
    report.seconds = time.monotonic() - started
    return report


def _offsets_of(plan: ImportPlan, item: PlanItem) -> dict[int, int]:
    return rewritten_offsets(item.thread.rollout_path, plan.mapper, plan.rewrite_text)


def _write_projections(
    tx: Transaction, db: Path, dropped: list[str], carried: list[ThreadIndex]
) -> None:
    """Drop the replaced threads' stale turn index, then write the carried ones; every row
    they touch is journalled first."""
    with tx.db_write(db) as log:
        for tid in [*dropped, *(t.thread_id for t in carried)]:
            watch_projection(log, tid)
        for tid in dropped:
            delete_projection(log.conn, tid)
        write_indexes(log.conn, carried)
