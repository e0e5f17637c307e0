"""The safety net as both faces use it: list, roll back, delete transactions; recover."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_migrate.errors import CodexMigrateError, HomeNotFound
from codex_migrate.home import CodexHome
from codex_migrate.inuse import HomeLock
from codex_migrate.journal import Journal
from codex_migrate.recovery import plan_committed_undo, recover, undo_committed
from codex_migrate.transaction import list_transactions
from codex_migrate.undo import UndoPlan
from codex_migrate.writing import open_for_writing

FINISHED = ("committed", "rolled_back", "refused")


@dataclass
class TransactionInfo:
    id: str
    path: Path
    journal: Journal | None
    snapshot_bytes: int

    @property
    def finished(self) -> bool:
        """Only a finished transaction's snapshot may be deleted."""
        return self.journal is not None and self.journal.state in FINISHED

    def to_dict(self) -> dict[str, Any]:
        j = self.journal
        return {
            "id": self.id,
            "kind": j.kind if j else "?",
            "state": j.state if j else "unreadable",
            "created": j.created if j else None,
            "threads": len(j.threads) if j else 0,
            "snapshot_bytes": self.snapshot_bytes,
        }


def _size(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def transactions_of(home: CodexHome) -> list[TransactionInfo]:
    """Every transaction of a home, oldest first (read-only)."""
    return [
        TransactionInfo(d.name, d, j, _size(d)) for d, j in list_transactions(home.transactions_dir)
    ]


def find_transaction(home: CodexHome, tx_id: str) -> tuple[Path, Journal]:
    for tx_dir, journal in list_transactions(home.transactions_dir):
        if tx_dir.name == tx_id and journal is not None:
            return tx_dir, journal
    raise CodexMigrateError(
        f"no transaction {tx_id} in {home.transactions_dir}.",
        code="tx-not-found",
        params={"id": tx_id},
    )


def recover_home(home: CodexHome, *, dry_run: bool = False) -> list[UndoPlan]:
    """Roll back what a crash or kill left unfinished: one plan per transaction (refused
    ones say why and were left alone). A home that does not exist is an error, not made to
    say there was nothing to recover (a mistyped path would become a folder).

    ``dry_run``: the same checks and plans, nothing written: the lock is looked at, not
    taken (another command holding it stops both alike), and each DB is read through a
    private copy."""
    if not home.root.exists():
        raise HomeNotFound(
            f"{home.root} does not exist.",
            hint="Pass the folder of the Codex home to recover (default ~/.codex).",
            code="home-missing",
            params={"path": str(home.root)},
        )
    if dry_run:
        HomeLock(home.transactions_dir).check_free()
        return recover(home, dry_run=True)
    with open_for_writing(home, "recovery", check_codex=False) as writer:
        return writer.recovery


def preview_rollback(home: CodexHome, tx_id: str) -> UndoPlan:
    """What rolling back ``tx_id`` would do, read-only; raises the refusal the rollback
    itself would raise, so a dry run and a confirm page never promise more (another
    command holding the lock included; only a running Codex is left to the rollback)."""
    HomeLock(home.transactions_dir).check_free()
    tx_dir, journal = find_transaction(home, tx_id)
    return plan_committed_undo(home, tx_dir, journal)


def rollback_transaction(home: CodexHome, tx_id: str) -> Journal:
    """Undo a committed transaction (refused when its files changed since)."""
    tx_dir, journal = find_transaction(home, tx_id)
    with open_for_writing(home, "rollback"):
        undo_committed(home, tx_dir, journal)
    return journal


def _deletable(home: CodexHome, tx_id: str) -> tuple[Path, Journal]:
    tx_dir, journal = find_transaction(home, tx_id)
    if journal.state not in FINISHED:
        raise CodexMigrateError(
            f"{tx_id} is unfinished; run `codex-migrate recover` first.",
            code="tx-unfinished",
            params={"id": tx_id},
        )
    return tx_dir, journal


def preview_delete(home: CodexHome, tx_id: str) -> TransactionInfo:
    """What deleting ``tx_id`` would remove, read-only; raises what the delete would raise
    (unknown, unfinished, or another command holding the lock)."""
    HomeLock(home.transactions_dir).check_free()
    tx_dir, journal = _deletable(home, tx_id)
    return TransactionInfo(tx_dir.name, tx_dir, journal, _size(tx_dir))


def delete_transaction(home: CodexHome, tx_id: str) -> Journal:
    """Delete a finished transaction's snapshot: it can no longer be rolled back."""
    tx_dir, journal = _deletable(home, tx_id)
    with open_for_writing(home, "delete", check_codex=False):
        shutil.rmtree(tx_dir)
    return journal
