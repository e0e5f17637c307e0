"""The one way to open a Codex home for writing.

Every command that changes a home (import, rebind, the doctor's fixes, rolling back a
transaction, recover, putting back times after Codex touched them) does it inside
:func:`open_for_writing`, so the rules live here once:

1. take our own lock (``migration_transactions/lock``): one codex-migrate writer at a time;
2. refuse while Codex runs on the home or another program holds its state DB;
3. roll back what a crash left unfinished (``recover``);
4. call ``check_fresh`` (a plan re-checking, under the lock, that what it read has not
   changed since it was built);
5. hand out transactions; any error inside the block rolls back those not committed, and
   an ``OSError`` (a full disk above all) becomes one clear message saying it was rolled back.

Nesting: a caller that already holds a :class:`HomeWriter` (the service runs import,
registration and restore-times under one lock) passes it as ``writer``; the inner use then
only adds its transactions to it.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import CodexHome
from codex_migrate.inuse import HomeLock, check_db_writable, ensure_not_running
from codex_migrate.recovery import recover
from codex_migrate.transaction import UNFINISHED, Transaction
from codex_migrate.undo import UndoPlan


@dataclass
class HomeWriter:
    """A home opened for writing: the lock is held for as long as this object is in use."""

    home: CodexHome
    what: str
    #: what recovery found unfinished (ids of those rolled back in ``recovered``)
    recovery: list[UndoPlan] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)

    def transaction(self, kind: str) -> Transaction:
        """A new transaction on this home, rolled back if the block fails before its commit."""
        tx = Transaction(self.home, kind)
        self.transactions.append(tx)
        return tx

    @property
    def recovered(self) -> list[str]:
        return [p.tx_id for p in self.recovery]

    def rollback_unfinished(self, reason: str) -> bool:
        """False when a rollback could not finish (a full disk): its journal then stays
        unfinished, and ``recover`` finishes it once the cause is gone."""
        finished = True
        for tx in self.transactions:
            if tx.journal.state in UNFINISHED:
                try:
                    tx.rollback(reason)
                except Exception:
                    finished = False
        return finished


def no_space(exc: BaseException) -> bool:
    """A full disk, or no inodes or quota left."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _as_user_error(exc: OSError, what: str) -> CodexMigrateError:
    if no_space(exc):
        return CodexMigrateError(
            f"the disk is full; the {what} was rolled back and nothing changed.",
            hint="Free some space and run the same command again.",
            code="disk-full",
        )
    where = f" ({exc.filename})" if exc.filename else ""
    return CodexMigrateError(
        f"{exc.strerror or exc}{where}; the {what} was rolled back.", code="rolled-back"
    )


@contextmanager
def open_for_writing(
    home: CodexHome,
    what: str,
    *,
    check_fresh: Callable[[], None] | None = None,
    writer: HomeWriter | None = None,
    check_codex: bool = True,
) -> Iterator[HomeWriter]:
    """Open ``home`` for writing (see the module docstring); ``what`` names the operation in
    messages (``"import"``, ``"rebind"``, ``"rollback"`` …)."""
    if writer is not None:
        if writer.home.root != home.root:
            raise ValueError("a writer opened for another home was passed")
        if check_fresh is not None:
            check_fresh()
        yield writer
        return
    with HomeLock(home.transactions_dir):
        if check_codex:
            ensure_not_running(home.root)
            if home.state_db is not None and home.state_db.exists():
                check_db_writable(home.state_db)
        w = HomeWriter(home, what, recovery=recover(home))
        if check_fresh is not None:
            check_fresh()
        try:
            yield w
        except BaseException as exc:
            if not w.rollback_unfinished(str(exc) or type(exc).__name__):
                raise CodexMigrateError(
                    f"the {what} failed ({exc}) and rolling it back stopped part way.",
                    hint="Free some space if the disk is full, then run "
                    "`codex-migrate recover`: it finishes the rollback.",
                    code="rollback-incomplete",
                ) from exc
            if isinstance(exc, OSError):
                raise _as_user_error(exc, what) from exc
            raise
