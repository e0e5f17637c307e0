"""``recover``, ``transactions`` and ``verify``: the safety net of a home, inspected and used."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codex_migrate.catalog import build_catalog
from codex_migrate.cli.common import codex_home_option, confirm_write, emit_json, json_option
from codex_migrate.errors import EXIT_FAILURE
from codex_migrate.home import CodexHome, default_home, open_home, open_target
from codex_migrate.service.transactions import (
    delete_transaction,
    find_transaction,
    preview_rollback,
    recover_home,
    rollback_transaction,
    transactions_of,
)
from codex_migrate.transaction import left_hint
from codex_migrate.verify import verify_home


@click.command()
@codex_home_option("The home to recover")
@json_option
def recover(codex_home: Path | None, as_json: bool) -> None:
    """Roll back any transaction a crash or kill left unfinished in this home.

    Only what the transaction wrote, and only where it is still as it left it: anything
    changed after it (new threads, renames, prompt history) is kept and listed.
    """
    home = open_target((codex_home or default_home()).absolute())
    plans = recover_home(home)
    refused = [p for p in plans if p.refused]
    if as_json:
        emit_json(
            {
                "rolled_back": [p.tx_id for p in plans if not p.refused],
                "refused": [p.tx_id for p in refused],
                "transactions": [p.to_dict() for p in plans],
            }
        )
    else:
        for plan in plans:
            if plan.refused:
                click.secho(
                    f"Refused transaction {plan.tx_id}: {plan.refused} Nothing of it was "
                    "undone; it no longer blocks other commands.",
                    fg="red",
                    err=True,
                )
                continue
            click.echo(f"Rolled back unfinished transaction {plan.tx_id}.")
            for text in plan.descriptions:
                click.echo(f"  {text}")
            if plan.left:
                click.secho("  Kept, as changed after the crash:", fg="yellow")
                for text in plan.left:
                    click.echo(f"    {text}")
                click.echo(f"  {left_hint(home.transactions_dir / plan.tx_id)}")
        if not plans:
            click.echo("Nothing to recover.")
    if refused:
        sys.exit(EXIT_FAILURE)


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
def tx_rollback(tx_id: str, codex_home: Path | None, dry_run: bool, yes: bool) -> None:
    """Undo a committed transaction (refused if anything it wrote changed since)."""
    home = _tx_home(codex_home)
    plan = preview_rollback(home, tx_id)  # raises when it would be refused
    click.echo(f"Rolling back {tx_id} would:")
    for text in plan.descriptions or ["change nothing (it is already undone)"]:
        click.echo(f"  {text}")
    if dry_run:
        click.echo("Dry run: nothing was changed.")
        return
    confirm_write(yes, "Roll back?")
    rollback_transaction(home, tx_id)
    click.echo(f"Rolled back {tx_id}.")


@transactions.command("delete")
@click.argument("tx_id")
@codex_home_option("The home whose transactions to use")
def tx_delete(tx_id: str, codex_home: Path | None) -> None:
    """Delete a finished transaction's snapshot (it can no longer be rolled back)."""
    home = _tx_home(codex_home)
    delete_transaction(home, tx_id)
    click.echo(f"Deleted {tx_id}.")


@click.command()
@codex_home_option("The home to check")
@json_option
def verify(codex_home: Path | None, as_json: bool) -> None:
    """Check a home's rollouts against its state DB (read-only). Exit 1 on problems."""
    home = open_home(codex_home)
    result = verify_home(build_catalog(home))
    if as_json:
        emit_json(result)
    else:
        for p in result["problems"]:
            click.echo(f"  {p}")
        click.echo(f"{result['threads']} threads, {len(result['problems'])} problems.")
    if result["problems"]:
        sys.exit(EXIT_FAILURE)
