"""The import plan: which threads move, where each lands, and what the merge rule says.

A plan is computed without writing anything; ``--dry-run`` prints it and the apply step
executes exactly it. Planning refuses early, before any write, when a selected project has no
mapping or when any thread conflicts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from codex_migrate.bare import bare_choice
from codex_migrate.catalog import Catalog, ProgressFn, cwd_exists
from codex_migrate.catalog_thread import Thread
from codex_migrate.damage import Damage, find_damage_many
from codex_migrate.errors import EXIT_CONFLICT, EXIT_UNMAPPED, CodexMigrateError
from codex_migrate.fingerprint import Fingerprint
from codex_migrate.home import ARCHIVED_DIR, SESSIONS_DIR
from codex_migrate.merge import CONFLICT, KEEP, REPLACE, SKIP, compare_files
from codex_migrate.pathmap import MappingPlan, PathMapper
from codex_migrate.selection import Selection

IMPORT = "import"
#: A selected thread with unreadable lines, left out because of ``--skip-damaged``.
SKIP_DAMAGED = "skip-damaged"


class UnmappedProjects(CodexMigrateError):
    exit_code = EXIT_UNMAPPED
    code = "unmapped-projects"


class MergeConflicts(CodexMigrateError):
    exit_code = EXIT_CONFLICT
    code = "merge-conflicts"


@dataclass(slots=True)
class PlanItem:
    thread: Thread
    action: str
    target_rel: str
    new_cwd: str | None
    archived: bool
    target_thread: Thread | None = None
    first_difference: int | None = None
    damage: Damage | None = None
    #: a 2025 bare rollout written converted (docs/STORAGE.md §8), with this cwd before mapping
    bare_cwd: str | None = None
    #: why a bare rollout is written as it is (not converted)
    bare_note: str | None = None

    @property
    def id(self) -> str:
        return self.thread.id

    def to_dict(self) -> dict[str, Any]:
        target = self.target_thread
        return {
            "id": self.id,
            "action": self.action,
            "title": self.thread.name or self.thread.title,
            "old_cwd": self.thread.cwd,
            "new_cwd": self.new_cwd,
            "archived": self.archived,
            "source_path": source_path(self.thread),
            "target_path": self.target_rel,
            "source_size": self.thread.size,
            "target_size": target.size if target else None,
            "first_difference_line": self.first_difference,
            "damage": self.damage.to_dict() if self.damage else None,
            "upgrade_bare": self.bare_cwd is not None,
            "bare_note": self.bare_note,
        }


def source_path(thread: Thread) -> str:
    """``str(thread.rollout_path)`` without making the Path (8 µs a thread, and a plan's JSON
    names every thread's file): joined as a string where that gives the same text (a clean
    relative path, as a catalog makes them, on a system whose separator is ``/``)."""
    rel = thread.rel_path
    clean = rel and "//" not in rel and "./" not in rel and rel[0] != "/" and rel[-1] not in "/."
    if clean and os.sep == "/" and _clean_root(thread.home_root):
        return os.path.join(thread.home_root, rel)
    return str(thread.rollout_path)


@lru_cache(maxsize=8)
def _clean_root(root: str) -> bool:
    """Whether ``root`` is spelled as a Path spells it (a home's threads share one root)."""
    return root.startswith("/") and str(PurePosixPath(root)) == root


@dataclass
class ImportPlan:
    source: Catalog
    target: Catalog
    mapper: PathMapper
    mapping: MappingPlan
    items: list[PlanItem] = field(default_factory=list)
    rewrite_text: bool = False
    #: What the plan read from the target; re-checked under the lock before writing.
    fingerprint: Fingerprint | None = None
    #: False when the plan left the damage check to the write (``check_damage=False``): the
    #: staging pass then finds each written rollout's unreadable lines on the bytes it reads.
    damage_checked: bool = True

    def count(self, action: str) -> int:
        return sum(1 for i in self.items if i.action == action)

    @property
    def conflicts(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == CONFLICT]

    @property
    def writes(self) -> list[PlanItem]:
        return [i for i in self.items if i.action in (IMPORT, REPLACE)]

    @property
    def damaged(self) -> list[PlanItem]:
        return [i for i in self.items if i.damage is not None]

    @property
    def bare_notes(self) -> list[str]:
        return [f"{i.id}: {i.bare_note}" for i in self.items if i.bare_note]

    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in (IMPORT, SKIP, REPLACE, KEEP, CONFLICT, SKIP_DAMAGED)}

    def to_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """``lazy``: threads as an iterator of dicts, made one at a time as they are written."""
        threads = (i.to_dict() for i in self.items)
        return {
            "source": str(self.source.home.root),
            "target": str(self.target.home.root),
            "summary": self.summary(),
            "mapping": self.mapping.to_dict(),
            "threads": threads if lazy else list(threads),
            "unreadable": list(self.source.unreadable),
            "bare_upgraded": sum(1 for i in self.writes if i.bare_cwd is not None),
            "bare_kept": self.bare_notes,
        }


def select_threads(
    catalog: Catalog,
    *,
    projects: list[str] = (),  # type: ignore[assignment]
    threads: list[str] = (),  # type: ignore[assignment]
    exclude: list[str] = (),  # type: ignore[assignment]
) -> list[Thread]:
    """Threads chosen by project and/or id (see :mod:`codex_migrate.selection`)."""
    return Selection(tuple(threads), tuple(projects), tuple(exclude)).threads_of(catalog)


def _target_rel(thread: Thread, archived: bool) -> str:
    """Where a new thread lands: the source's own layout, file name kept verbatim
    (a ``.zst`` source is written decompressed: the rewrite needs the text)."""
    # A clean relative path (as a catalog makes them) is split as a string: this runs for
    # every thread, and PurePosixPath costs more than the rest of the plan for it.
    text = thread.rel_path
    clean = text and "//" not in text and "./" not in text and text[0] != "/" != text[-1]
    parts = tuple(text.split("/")) if clean else PurePosixPath(text).parts
    name = parts[-1].removesuffix(".zst") if parts else ""
    if archived:
        rel = f"{ARCHIVED_DIR}/{name}"
        return text if rel == text else rel
    if parts and parts[0] == SESSIONS_DIR:
        rel = "/".join((*parts[:-1], name))
        return text if rel == text else rel  # the same layout: one string for both
    # An archived source thread has no date folder: derive it from the name's stamp.
    stamp = name[len("rollout-") : len("rollout-") + 10]
    y, m, d = stamp.split("-")
    return f"{SESSIONS_DIR}/{y}/{m}/{d}/{name}"


def build_import_plan(
    source: Catalog,
    target: Catalog,
    mapper: PathMapper,
    *,
    projects: list[str] = (),  # type: ignore[assignment]
    threads: list[str] = (),  # type: ignore[assignment]
    exclude: list[str] = (),  # type: ignore[assignment]
    rewrite_text: bool = False,
    skip_damaged: bool = False,
    progress: ProgressFn | None = None,
    upgrade_bare: bool = True,
    bare_cwd: str | None = None,
    check_damage: bool = True,
) -> ImportPlan:
    """What an import would do, thread by thread; every rollout it would write is read
    through once so damaged lines are named before anything is written.

    ``check_damage=False`` (a plan applied at once, nobody asked to confirm it, and no
    ``skip_damaged``): that read is left to the write, which parses every line once anyway
    and reports the same damage in the plan it returns."""
    selected = select_threads(source, projects=projects, threads=threads, exclude=exclude)
    cwds = sorted({t.cwd for t in selected if t.cwd})
    mapping = mapper.plan(cwds, exists=cwd_exists)
    fingerprint = Fingerprint(target.home.root)
    absent: dict[str, bool] = {}  # folders found absent while planning (their files too)
    plan = ImportPlan(
        source=source,
        target=target,
        mapper=mapper,
        mapping=mapping,
        rewrite_text=rewrite_text,
        fingerprint=fingerprint,
    )
    unmapped = [p for p in mapping.unmapped + mapping.invalid if not cwd_exists(p)]
    if unmapped:
        listed = "\n  ".join(unmapped)
        raise UnmappedProjects(
            f"{len(unmapped)} selected project(s) have no mapping and do not exist here:\n"
            f"  {listed}",
            params={"count": len(unmapped)},
            hint="Bind each with --map OLD=NEW (a parent folder maps everything under it), "
            "or keep it as recorded with --history-only OLD. Nothing was written.",
        )
    if target.home.unusable:
        listed = "\n  ".join(f"{u['path']}: {u['reason']}" for u in target.home.unusable)
        raise CodexMigrateError(
            f"The target home has files Codex needs that are not regular files:\n  {listed}",
            hint="Move them aside (Codex cannot use them either), then run again. "
            "Nothing was written.",
            code="target-not-regular",
        )
    total = len(selected)
    mapped: dict[str, str | None] = {}  # thousands of threads share a few folders: one each
    for thread in selected:
        cwd = thread.cwd  # asked once: a property, looked at several times per thread
        new_cwd = None
        if cwd:
            if cwd not in mapped:
                mapped[cwd] = mapper.map(cwd)
            new_cwd = mapped[cwd]
        if new_cwd is None:
            new_cwd = cwd
        existing = target.thread(thread.id)
        convert, note = (None, None)
        if upgrade_bare and thread.era == "bare" and (existing is None or existing.era != "bare"):
            convert, note = bare_choice(thread, bare_cwd)
            if convert is not None and not cwd:
                new_cwd = convert  # --bare-cwd, already a path on this machine
        elif upgrade_bare and thread.era == "bare" and existing is not None:
            note = "already in the target in the 2025 format: codex-migrate rebind --upgrade-bare"
        fingerprint.add_row(thread.id, target.db.rows.get(thread.id) if target.db else None)
        if existing is not None:
            fingerprint.add_file(existing.rel_path)  # before it is compared
        if existing is None:
            archived = thread.archived
            item = PlanItem(thread, IMPORT, _target_rel(thread, archived), new_cwd, archived)
            fingerprint.add_file(item.target_rel, absent)  # a new day folder: one look
        else:
            archived = thread.archived or existing.archived
            rel = existing.rel_path.removesuffix(".zst")
            cmp = compare_files(
                thread.rollout_path,
                existing.rollout_path,
                mapper,
                rewrite_text=rewrite_text,
                bare_cwd=convert,
            )
            item = PlanItem(thread, cmp.verdict, rel, new_cwd, archived, existing)
            fingerprint.add_file(rel)
            item.first_difference = cmp.first_difference
        item.bare_cwd, item.bare_note = convert, note
        plan.items.append(item)
    # Every rollout to be written is read through once (on all cores when large).
    plan.damage_checked = check_damage or skip_damaged
    checks = [i for i in plan.items if i.action in (IMPORT, REPLACE) and damage_now(plan, i)]
    found = find_damage_many(
        [i.thread.rollout_path for i in checks], sum(i.thread.size for i in checks)
    )
    with closing(found):  # an error here stops the workers before it leaves (see parallel)
        for n, (item, damage) in enumerate(zip(checks, found, strict=True), 1):
            _check_damage(item, plan, skip_damaged, damage)
            if progress and (n % 100 == 0 or n == len(checks)):
                progress("plan", n, len(checks))
    if progress and not checks:
        progress("plan", total, total)
    return plan


def damage_now(plan: ImportPlan, item: PlanItem) -> bool:
    """Whether the plan reads ``item`` for damage, rather than the write: always when asked,
    and for a compressed rollout, whose frames can turn out unreadable past the head (it is
    then left out by name, which the write could not do without failing the whole import)."""
    return plan.damage_checked or item.thread.compressed


def _check_damage(
    item: PlanItem, plan: ImportPlan, skip_damaged: bool, damage: Damage | OSError | None
) -> None:
    if isinstance(damage, OSError):
        # It read a moment ago (scan): treat a file gone bad since as wholly damaged.
        item.action = SKIP_DAMAGED
        plan.source.unreadable.append(
            {"path": str(item.thread.rollout_path), "reason": damage.strerror or str(damage)}
        )
        return
    item.damage = damage
    if item.damage is not None and skip_damaged:
        item.action = SKIP_DAMAGED


#: How a conflict may be settled (``import --on-conflict``); a history is never spliced and no
#: id is ever invented: this computer's copy stays as it is either way.
ON_CONFLICT = ("keep-target", "skip")


def settle_conflicts(plan: ImportPlan, choice: str, ids: Iterable[str] | None = None) -> list[str]:
    """Settle conflicting threads (all, or those in ``ids``): ``keep-target`` keeps this
    computer's version (the item becomes a ``keep``), ``skip`` leaves the thread out of this
    import. Returns the ids settled."""
    if choice not in ON_CONFLICT:
        raise ValueError(f"unknown conflict choice: {choice}")
    wanted = None if ids is None else set(ids)
    settled = []
    for item in list(plan.items):
        if item.action != CONFLICT or (wanted is not None and item.id not in wanted):
            continue
        if choice == "keep-target":
            item.action = KEEP
        else:
            plan.items.remove(item)
        settled.append(item.id)
    return settled


def raise_on_conflicts(plan: ImportPlan) -> None:
    if not plan.conflicts:
        return
    lines = []
    for item in plan.conflicts:
        tgt = item.target_thread
        lines.append(
            f"  {item.id}: first difference at line {item.first_difference}\n"
            f"    source {item.thread.rollout_path} ({item.thread.size} bytes)\n"
            f"    target {tgt.rollout_path if tgt else '?'} ({tgt.size if tgt else '?'} bytes)"
        )
    raise MergeConflicts(
        f"{len(plan.conflicts)} thread(s) differ in both homes; nothing was written:\n"
        + "\n".join(lines),
        params={"count": len(plan.conflicts)},
        hint="Keep this computer's version with --on-conflict keep-target, leave them out with "
        "--on-conflict skip (or --exclude-thread ID). Histories are never spliced.",
    )
