"""Undoing whole transactions: recovery of unfinished ones, rollback of committed ones.

Each has one planning path for the real run and its dry run (:func:`recover` with
``dry_run``, :func:`plan_committed_undo`), so what a dry run says is what the run does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from codex_migrate.aborting import error_reason, is_no_space
from codex_migrate.home import CodexHome
from codex_migrate.journal import JOURNAL, UNFINISHED, Journal
from codex_migrate.transaction import list_transactions
from codex_migrate.undo import LEFT_HINT, TransactionError, UndoPlan, execute, plan_undo


def _never_started(tx_dir: Path) -> bool:
    """A folder whose journal was never written (the disk filled up at once): nothing in
    the home was touched, since the journal is always saved before the first change."""
    names = {p.name for p in tx_dir.iterdir()}
    return JOURNAL not in names and names <= {"staging", JOURNAL + ".part"}


def recover(
    home: CodexHome,
    on_recovered: Callable[[UndoPlan], None] | None = None,
    *,
    dry_run: bool = False,
) -> list[UndoPlan]:
    """Roll back every unfinished transaction of ``home`` (the home given, never one named
    inside a journal). The caller holds the lock.

    ``dry_run``: the same plans, made by the same checks, but from a private copy of each
    DB and with nothing run or saved (no journal marked, no folder removed): what a real
    recovery would undo, keep and refuse, with not a byte of the home changed."""
    done: list[UndoPlan] = []
    for tx_dir, journal in list_transactions(home.transactions_dir):
        if journal is None:
            if _never_started(tx_dir) and not dry_run:
                shutil.rmtree(tx_dir, ignore_errors=True)
            continue
        if journal.state not in UNFINISHED:
            continue
        plan = plan_undo(home, tx_dir, journal, live=not dry_run)
        if dry_run:
            pass
        elif plan.refused:
            journal.state = "refused"
            journal.error = plan.refused
            journal.save(tx_dir)
        else:
            try:
                execute(plan, tx_dir, journal, error="interrupted; rolled back by recovery")
            except OSError as exc:
                full = " (the disk is full)" if is_no_space(exc) else ""
                raise TransactionError(
                    f"recovering {journal.id} stopped part way{full}: {error_reason(exc)}.",
                    hint="Nothing was lost: free some space (or fix the cause) and run "
                    "`codex-migrate recover` again; it continues where it stopped.",
                    code="recovery-incomplete",
                ) from exc
        done.append(plan)
        if on_recovered:
            on_recovered(plan)
    return done


def plan_committed_undo(home: CodexHome, tx_dir: Path, journal: Journal) -> UndoPlan:
    """What ``transactions rollback`` would do; raises when it would be refused, so the dry
    run and the real rollback say the same."""
    if journal.state != "committed":
        raise TransactionError(
            f"{journal.id} is {journal.state}, not committed.",
            hint="Unfinished transactions are undone by `codex-migrate recover`.",
            code="tx-not-committed",
        )
    if journal.version < 2:
        raise TransactionError(
            f"{journal.id} was written by an older codex-migrate that kept no record of its "
            "DB rows and appended lines: it cannot be undone safely.",
            hint=f"Its copies of the replaced files and databases are in {tx_dir}.",
            code="tx-old-format",
        )
    plan = plan_undo(home, tx_dir, journal, live=False)
    if plan.refused:
        raise TransactionError(f"{journal.id}: {plan.refused}", hint="Nothing was changed.")
    if plan.left:
        listed = "\n  ".join(plan.left[:10])
        more = f"\n  … and {len(plan.left) - 10} more" if len(plan.left) > 10 else ""
        raise TransactionError(
            f"{len(plan.left)} change(s) of {journal.id} were changed after it was committed; "
            f"rolling back would lose that work:\n  {listed}{more}",
            hint="Nothing was changed.",
            code="tx-changed-after",
            params={"count": len(plan.left)},
        )
    return plan


def undo_committed(home: CodexHome, tx_dir: Path, journal: Journal) -> UndoPlan:
    """Undo a committed transaction, all or nothing: refused when anything it wrote
    changed since. The caller holds the lock."""
    plan_committed_undo(home, tx_dir, journal)
    live = plan_undo(home, tx_dir, journal)  # the same, read under the lock
    if live.left:
        raise TransactionError(f"{journal.id} changed while being checked.", hint="Run again.")
    execute(live, tx_dir, journal)
    return live


def left_hint(tx_dir: Path) -> str:
    return LEFT_HINT.format(dir=tx_dir)
