"""What a failed write tells the user, after undoing what it did: :func:`abort` rolls a
transaction back (never a committed one) and raises the error worded for its cause (Ctrl-C,
a full disk, another OS error), or says how ``recover`` finishes a rollback that stopped."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, NoReturn

from codex_migrate import statedb
from codex_migrate.errors import EXIT_INTERRUPTED, CodexMigrateError

if TYPE_CHECKING:
    from codex_migrate.transaction import Transaction

#: Errors of a full disk or exhausted inodes/quota.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_no_space(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno in NO_SPACE) or statedb.is_full(exc)


class Interrupted(CodexMigrateError):
    """Ctrl-C during a write: it was rolled back."""

    exit_code = EXIT_INTERRUPTED
    code = "interrupted"


def error_reason(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc) or type(exc).__name__


def abort(tx: Transaction, exc: BaseException, what: str) -> NoReturn:
    """Roll back after ``exc`` (inside an ``except`` block) and raise what the user should
    read. When the rollback itself fails (the disk is still full), the journal stays
    unfinished and the message says how ``recover`` finishes it."""
    reason = error_reason(exc)
    if tx.committed:
        undo = f"`codex-migrate transactions rollback {tx.journal.id}` undoes it"
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(f"interrupted after the {what} was complete: it was kept ({undo}).")
        raise CodexMigrateError(
            f"the {what} was complete and kept, but its clean-up failed ({reason}); {undo}.",
            code="cleanup-failed",
        ) from exc
    try:
        plan = tx.rollback(reason)
    except Exception as undo_exc:
        raise CodexMigrateError(
            f"the {what} failed ({reason}) and rolling it back stopped part way "
            f"({error_reason(undo_exc)}).",
            hint="Free some space if the disk is full, then run `codex-migrate recover`: "
            "it finishes the rollback.",
            code="rollback-incomplete",
        ) from exc
    kept = ""
    if plan.left:
        kept = " Kept, as changed meanwhile: " + "; ".join(plan.left) + "."
    if isinstance(exc, KeyboardInterrupt):
        raise Interrupted(f"interrupted: the {what} was rolled back; nothing changed.{kept}")
    if is_no_space(exc):
        raise CodexMigrateError(
            f"the disk is full; the {what} was rolled back and nothing changed.{kept}",
            hint="Free some space and run the same command again.",
            code="disk-full",
        ) from exc
    if isinstance(exc, OSError):
        raise CodexMigrateError(
            f"{reason}; the {what} was rolled back.{kept}", code="rolled-back"
        ) from exc
    raise exc
