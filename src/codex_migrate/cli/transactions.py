"""``recover``, ``transactions`` and ``verify``: the safety net of a home, inspected and used."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codex_migrate.cli.common import codex_home_option, confirm_write, emit_json, json_option
from codex_migrate.errors import EXIT_FAILURE
from codex_migrate.home import CodexHome, default_home, open_home, open_target
from codex_migrate.recovery import left_hint
from codex_migrate.service.reading import verify_home
from codex_migrate.service.transactions import (
    delete_transaction,
    find_transaction,
    preview_delete,
    preview_rollback,
    recover_home,
    rollback_transaction,
    transactions_of,
)
from codex_migrate.undo import UndoPlan


@click.command()
@codex_home_option("The home to recover")
@click.option("--dry-run", is_flag=True, help="Say what would be undone and kept; change nothing.")
@json_option
def recover(codex_home: Path | None, dry_run: bool, as_json: bool) -> None:
    """Roll back any transaction a crash or kill left unfinished in this home.

    Only what the transaction wrote, and only where it is still as it left it: anything
    changed after it (new threads, renames, prompt history) is kept and listed. --dry-run
    makes the same checks and says the same, changing nothing (not even the lock file).

    Exit status: 0 done (or nothing to recover), 1 a transaction was refused (its journal
    names a path outside the home; nothing of it was undone) or recovery stopped part way,
    3 the home does not exist, 4 another codex-migrate command is working on the home. A
    dry run exits as the recovery would.
    """
    home = open_target((codex_home or default_home()).absolute())
    plans = recover_home(home, dry_run=dry_run)
    refused = [p for p in plans if p.refused]
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "rolled_back": [p.tx_id for p in plans if not p.refused],
                "refused": [p.tx_id for p in refused],
                "transactions": [p.to_dict() for p in plans],
            }
        )
    else:
        _print_recovery(home, plans, dry_run)
    if refused:
        sys.exit(EXIT_FAILURE)


def _print_recovery(home: CodexHome, plans: list[UndoPlan], dry_run: bool) -> None:
    would = "Would refuse" if dry_run else "Refused"
    for plan in plans:
        if plan.refused:
            click.secho(
                f"{would} transaction {plan.tx_id}: {plan.refused} Nothing of it "
                f"{'would be' if dry_run else 'was'} undone; it no longer blocks other commands.",
                fg="red",
                err=True,
            )
            continue
        verb = "Would roll back" if dry_run else "Rolled back"
        click.echo(f"{verb} unfinished transaction {plan.tx_id}.")
        for text in plan.descriptions:
            click.echo(f"  {text}")
        if plan.left:
            kept = "Would keep" if dry_run else "Kept"
            click.secho(f"  {kept}, as changed after the crash:", fg="yellow")
            for text in plan.left:
                click.echo(f"    {text}")
            click.echo(f"  {left_hint(home.transactions_dir / plan.tx_id)}")
    if not plans:
        click.echo("Nothing to recover.")
    if dry_run:
        click.echo("Dry run: nothing was changed.")


@click.group()
def transactions() -> None:
    """Inspect, undo or delete past transactions of a home."""


def _tx_home(codex_home: Path | None) -> CodexHome:
    return open_target((codex_home or default_home()).absolute())


@transactions.command("list")
@codex_home_option("The home whose transactions to use")
@json_option
def tx_list(codex_home: Path | None, as_json: bool) -> None:
    """List transactions, oldest first."""
    rows = [info.to_dict() for info in transactions_of(_tx_home(codex_home))]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No transactions.")
    for r in rows:
        click.echo(
            f"{r['id']}  {r['kind']:<7} {r['state']:<12} {r['threads']:>5} threads  "
            f"{r['snapshot_bytes'] / 1e6:8.1f} MB  {r['created']}"
        )


@transactions.command("show")
@click.argument("tx_id")
@codex_home_option("The home whose transactions to use")
def tx_show(tx_id: str, codex_home: Path | None) -> None:
    """Print a transaction's journal."""
    _, journal = find_transaction(_tx_home(codex_home), tx_id)
    emit_json(journal.to_dict())


@transactions.command("rollback")
@click.argument("tx_id")
@codex_home_option("The home whose transactions to use")
@click.option("--dry-run", is_flag=True, help="Say what would be undone; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing.")
@json_option
def tx_rollback(
    tx_id: str, codex_home: Path | None, dry_run: bool, yes: bool, as_json: bool
) -> None:
    """Undo a committed transaction (refused if anything it wrote changed since).

    Exit status: 0 rolled back, 1 refused (not committed, written by an older version, or
    changed since), no such transaction, or not confirmed (no terminal to ask and no
    --yes), 4 Codex or another codex-migrate command is using the home. A dry run exits as
    the rollback would, but does not look for Codex.
    """
    home = _tx_home(codex_home)
    plan = preview_rollback(home, tx_id)  # raises when it would be refused
    if not as_json:
        click.echo(f"Rolling back {tx_id} would:")
        for text in plan.descriptions or ["change nothing (it is already undone)"]:
            click.echo(f"  {text}")
    if not dry_run:
        confirm_write(yes, "Roll back?")
        rollback_transaction(home, tx_id)
    if as_json:
        emit_json(
            {"dry_run": dry_run, "id": tx_id, "undone": plan.descriptions, "done": not dry_run}
        )
    elif dry_run:
        click.echo("Dry run: nothing was changed.")
    else:
        click.echo(f"Rolled back {tx_id}.")


@transactions.command("delete")
@click.argument("tx_id")
@codex_home_option("The home whose transactions to use")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@json_option
def tx_delete(tx_id: str, codex_home: Path | None, dry_run: bool, as_json: bool) -> None:
    """Delete a finished transaction's snapshot (it can no longer be rolled back).

    Exit status: 0 deleted, 1 no such transaction or it is unfinished (run `recover`), 4
    another codex-migrate command is working on the home. A dry run exits as the delete would.
    """
    home = _tx_home(codex_home)
    info = preview_delete(home, tx_id)  # raises what the delete would raise
    if not dry_run:
        delete_transaction(home, tx_id)
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "id": tx_id,
                "path": str(info.path),
                "snapshot_bytes": info.snapshot_bytes,
                "done": not dry_run,
            }
        )
    elif dry_run:
        click.echo(
            f"Deleting {tx_id} would remove {info.path} ({info.snapshot_bytes / 1e6:.1f} MB); "
            "it could no longer be rolled back."
        )
        click.echo("Dry run: nothing was changed.")
    else:
        click.echo(f"Deleted {tx_id}.")


@click.command()
@codex_home_option("The home to check")
@json_option
def verify(codex_home: Path | None, as_json: bool) -> None:
    """Check a home's rollouts against its state DB (read-only). Exit 1 on problems."""
    result = verify_home(open_home(codex_home))
    if as_json:
        emit_json(result)
    else:
        for p in result["problems"]:
            click.echo(f"  {p}")
        click.echo(f"{result['threads']} threads, {len(result['problems'])} problems.")
    if result["problems"]:
        sys.exit(EXIT_FAILURE)
