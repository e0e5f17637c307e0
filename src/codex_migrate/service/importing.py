"""Import, as both faces run it: plan → apply → register with Codex → restore times → verify.

The CLI's ``import`` and the web UI's Migrate call :func:`preview_import` and
:func:`run_import` and only format what they return, so the two cannot drift apart.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_migrate.catalog import Catalog, ProgressFn, build_catalog
from codex_migrate.catalog_cache import cached_catalog
from codex_migrate.catalog_workers import read_all_parallel
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import CodexHome, open_target
from codex_migrate.importer import ImportReport, apply_import
from codex_migrate.pathmap import PathMapper
from codex_migrate.plan import (
    ON_CONFLICT,
    ImportPlan,
    build_import_plan,
    raise_on_conflicts,
    settle_conflicts,
)
from codex_migrate.registration import Registration, register_import
from codex_migrate.verify import verify_written
from codex_migrate.writing import open_for_writing

if TYPE_CHECKING:  # loaded when Codex is looked for: not by an import with --no-codex
    from codex_migrate.codex_listing import CodexListing
    from codex_migrate.codexbin import FoundCodex


@dataclass
class ImportOutcome:
    """Everything an import did: the plan, the engine's report, registration, verification."""

    plan: ImportPlan
    report: ImportReport
    registration: Registration
    #: what verification found wrong with the imported threads afterwards ("id: problem")
    problems: list[str] = field(default_factory=list)
    listing: CodexListing | None = None

    def to_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """``lazy``: the plan's threads as an iterator (see :meth:`ImportPlan.to_dict`)."""
        return {
            "dry_run": False,
            "plan": self.plan.to_dict(lazy=lazy),
            "report": self.report.to_dict(),
            "codex_registration": self.registration.to_dict(),
            "problems": self.problems,
        }


def preview_import(
    source: CodexHome | Catalog,
    target: Path,
    mapper: PathMapper,
    *,
    projects: list[str] | None = None,
    threads: list[str] | None = None,
    exclude: list[str] | None = None,
    rewrite_text: bool = False,
    skip_damaged: bool = False,
    upgrade_bare: bool = True,
    bare_cwd: str | None = None,
    progress: ProgressFn | None = None,
    on_conflict: str | None = None,
    choices: Mapping[str, str] | None = None,
    check_damage: bool = True,
) -> ImportPlan:
    """The plan (``import --dry-run``): read both homes, match threads, compare files;
    ``on_conflict`` settles every conflict the same way, ``choices`` each thread's own way
    (the web UI asks per thread; see ``plan.settle_conflicts``); ``check_damage=False`` for
    a plan applied at once (see ``plan.build_import_plan``)."""
    if isinstance(source, CodexHome):
        refuse_same_home(source, target)
        # the target is always read anew; both on every core (the write waits for the plan)
        src_cat = cached_catalog(source, progress, read_all_parallel)
    else:
        src_cat = source
    tgt_cat = build_catalog(open_target(target), progress, read_all_parallel)
    plan = build_import_plan(
        src_cat,
        tgt_cat,
        mapper,
        projects=projects or [],
        threads=threads or [],
        exclude=exclude or [],
        rewrite_text=rewrite_text,
        skip_damaged=skip_damaged,
        upgrade_bare=upgrade_bare,
        bare_cwd=bare_cwd,
        progress=progress,
        check_damage=check_damage,
    )
    if on_conflict:
        settle_conflicts(plan, on_conflict)
    for choice in ON_CONFLICT:
        ids = [i for i, c in (choices or {}).items() if c == choice]
        if ids:
            settle_conflicts(plan, choice, ids)
    return plan


def refuse_same_home(source: CodexHome, target: Path) -> None:
    """SOURCE is not the home it would be imported into, however either is spelled."""
    if source.root.resolve() == target.absolute().resolve():
        raise CodexMigrateError(
            "SOURCE and the target are the same home.",
            hint="Choose the copied folder or backup, not this machine's Codex home.",
            code="same-home",
        )


def check_selection(catalog: Catalog, mapper: PathMapper, threads: list[str]) -> None:
    """The refusals a preview makes before reading the target (a bad rule, an unknown
    session, selected projects with no folder here): the plan's own checks, run against an
    empty target, so no file is read or compared."""
    build_import_plan(catalog, Catalog(home=catalog.home), mapper, threads=threads)


def find_codex(codex_bin: Path | None, no_codex: bool) -> FoundCodex | None:
    if no_codex:
        return None
    from codex_migrate.codexbin import locate_codex

    return locate_codex(codex_bin)


def recheck_after_codex(plan: ImportPlan, registration: Registration) -> list[str]:
    """What is wrong, after Codex had the home, with the rows of the threads Codex touched.

    The transaction verified every file and row it wrote before it committed (inode and size
    of each file as hashed, each row's path and mapped cwd, the DB's integrity), so without a
    Codex round trip there is nothing new to look at, and the rest of the home is not ours to
    re-read. Codex (projecting history, setting names) may rewrite those rows: their path and
    cwd are checked again, and nothing else is read."""
    if registration.codex is None:
        return []
    touched = set(registration.paginated)
    if registration.names:
        touched |= {i.id for i in plan.items if i.thread.name and i.action != "keep"}
    items = [i for i in plan.items if i.id in touched and i.bare_cwd is None]
    if not items:
        return []
    home = open_target(plan.target.home.root)  # Codex may have built the state DB just now
    return verify_written(home, {}, items, home.root)


def run_import(
    plan: ImportPlan,
    *,
    codex_bin: Path | None = None,
    no_codex: bool = False,
    progress: ProgressFn | None = None,
    check_fresh: Any = None,
    listing: bool = False,
) -> ImportOutcome:
    """Apply ``plan`` and finish the job the same way for every face.

    ``check_fresh`` is called under the lock before anything is written (a face's own check
    that the plan still matches what it showed). ``listing``: also ask Codex what it lists.
    """
    raise_on_conflicts(plan)
    home = plan.target.home
    home.root.mkdir(parents=True, exist_ok=True)
    found = find_codex(codex_bin, no_codex)
    # The plan's thousands of records live to the end: set aside from the cycle collector
    # while the write runs, instead of re-walked by every full collection (3 % of its CPU
    # at 30 000 threads). New objects are collected as ever.
    gc.freeze()
    try:
        with open_for_writing(home, "import", check_fresh=check_fresh) as writer:
            report = apply_import(plan, progress, writer)
            if progress and found is not None:
                progress("register", 0, 1)
            registration = register_import(writer, plan, report, found, progress)
    finally:
        gc.unfreeze()
    outcome = ImportOutcome(plan, report, registration)
    if progress:
        progress("verify", 0, 1)
    ids = {i.id for i in plan.items}
    outcome.problems = recheck_after_codex(plan, registration)
    if listing and found is not None and report.transaction_id:
        if progress:
            progress("listing", 0, 1)
        from codex_migrate.codex_listing import list_in_codex

        outcome.listing = list_in_codex(found.path, home.root, sorted(ids))
    if progress:
        progress("verify", 1, 1)
    return outcome
