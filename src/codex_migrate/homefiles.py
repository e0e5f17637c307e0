"""Small whole files of the home written inside a transaction (our choices, the Desktop's
project list): declared before ``prepare`` (a copy is kept when the file exists), staged and
synced beside the home, then renamed into place, so a rollback restores them byte for byte."""

from __future__ import annotations

import hashlib
import os

from codex_migrate.transaction import Transaction


def declare(tx: Transaction, rel: str) -> None:
    """Say, before ``prepare``, that ``rel`` will be replaced (or created)."""
    if (tx.root / rel).exists():
        tx.will_replace(rel)
    else:
        tx.will_create(rel)


def stage_bytes(tx: Transaction, rel: str, data: bytes) -> str:
    """Write ``data`` durably into the staging folder (keeping the live file's mode);
    returns its sha256 for :meth:`Transaction.will_install`. :meth:`Transaction.install`
    then renames it over ``rel``."""
    staged = tx.staging / rel
    staged.parent.mkdir(parents=True, exist_ok=True)
    with open(staged, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    live = tx.root / rel
    if live.exists():
        os.chmod(staged, live.stat().st_mode & 0o777)
    return hashlib.sha256(data).hexdigest()
