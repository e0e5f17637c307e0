"""``codex-migrate sync``: the thin face of :mod:`codex_migrate.service.syncing`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from codex_migrate.cli.common import (
    codex_home_option,
    confirm_write,
    emit_json,
    json_option,
    progress_bar,
)
from codex_migrate.errors import EXIT_CONFLICT, EXIT_IN_USE
from codex_migrate.home import default_home
from codex_migrate.service import (
    SyncOptions,
    SyncReport,
    find_codex,
    run_sync,
    sync_machines,
    sync_preview,
)
from codex_migrate.service.syncing import MachinePull


@click.command("sync")
@click.argument("folder", type=click.Path(path_type=Path))
@codex_home_option("The home to sync")
@click.option(
    "--machine",
    metavar="NAME",
    default=None,
    help="This home's name in FOLDER (default: the host name; remembered).",
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    metavar="NAME=PATH",
    help="This machine's folder for a portable project root (remembered in codex-sync.toml).",
)
@click.option(
    "--status", "status", is_flag=True, help="Show how each machine stands; write nothing."
)
@click.option(
    "--codex-bin",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The Codex binary that registers pulled threads (default: `codex` on PATH).",
)
@click.option("--no-codex", is_flag=True, help="Do not run Codex after pulling.")
@click.option("--dry-run", is_flag=True, help="Say what would go out and come in; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing.")
@json_option
def sync_command(
    folder: Path,
    codex_home: Path | None,
    machine: str | None,
    roots: tuple[str, ...],
    status: bool,
    codex_bin: Path | None,
    no_codex: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Keep Codex history in step across machines through FOLDER, a folder that a sync
    engine (Syncthing, Dropbox, iCloud Drive, OneDrive, a network share) carries.

    One run pushes this machine's new and grown threads into FOLDER/machines/NAME/ (only
    session files, names and prompt history: never auth, config, skills, plugins, logs or
    caches), then pulls every other machine's threads through the normal import: projects
    mapped by the portable roots of FOLDER/codex-sync.toml, the merge rule per thread, one
    transaction per machine, registration with Codex. A history that grew elsewhere
    replaces the shorter copy here. Files still being delivered are skipped and reported
    ("in flight"). A thread continued on two machines is a conflict: reported, each
    machine keeps its own, and every other thread still syncs (exit status 5). While Codex
    runs on this home, it still publishes but takes nothing in (exit status 4).

    Deletions and archive changes are never propagated: a thread deleted here comes back
    from the other machines' folders, and archiving it stays a local choice.
    """
    found = find_codex(codex_bin, no_codex)
    opts = SyncOptions(
        folder=folder,
        home=(codex_home or default_home()),
        machine=machine,
        roots=list(roots),
        codex=found,
    )
    if status or dry_run:
        with progress_bar("Reading") as progress:
            report = sync_preview(opts, progress)
        if as_json:
            data = report.to_dict()
            if status:
                data["machines"] = sync_machines(folder)
            emit_json(data)
        elif status:
            _print_status(report, sync_machines(folder))
        else:
            _print_report(report)
            click.echo("Dry run: nothing was written.")
        return

    def confirm(plan: SyncReport) -> bool:
        if not as_json:
            _print_report(plan)
        confirm_write(yes, "Sync now?")
        return True

    with progress_bar("Syncing") as progress:
        report = run_sync(opts, confirm=None if yes else confirm, progress=progress)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report)
        click.secho(
            "Done." if report.wrote else "Nothing new: nothing was written.",
            fg="green" if not report.conflicts else "yellow",
        )
    if any(p.blocked for p in report.pulls):
        click.get_current_context().exit(EXIT_IN_USE)
    if report.conflicts:
        click.get_current_context().exit(EXIT_CONFLICT)


def _print_report(report: SyncReport) -> None:
    click.echo(f"{report.home} is machine {report.machine!r} in {report.folder}")
    for name, path in sorted(report.roots.items()):
        click.echo(f"  root {name} = {path}")
    for warning in report.warnings:
        click.secho(f"  warning: {warning}", fg="yellow")
    items = report.push.items
    verb = "would go out" if report.dry_run else "went out"
    if items:
        kinds: dict[str, int] = {}
        for i in items:
            kinds[i.reason] = kinds.get(i.reason, 0) + 1
        detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        click.echo(f"Out: {len(items)} thread(s) {verb} ({detail}).")
    else:
        click.echo("Out: nothing new to publish.")
    if not report.pulls:
        click.echo("In: no other machine has pushed to this folder yet.")
    for pull in report.pulls:
        _print_pull(pull, report.dry_run)
    if report.binds:
        verb = "would move" if report.dry_run else "moved"
        click.echo(f"Under a root now: {len(report.binds)} history-only thread(s) {verb}:")
        for b in report.binds:
            click.echo(f"  {b.thread}: {b.old_cwd} -> {b.new_cwd}")
        for tx in report.bind_transactions:
            click.echo(f"  transaction {tx}")


def _print_pull(pull: MachinePull, dry_run: bool) -> None:
    head = f"In from {pull.machine!r}"
    if pull.pushed_at:
        head += f" (last push {pull.pushed_at})"
    if pull.error:
        click.secho(f"{head}: {pull.error}", fg="yellow")
        return
    s = pull.summary
    if pull.plan is None and not pull.in_flight:
        click.echo(f"{head}: nothing new.")
    else:
        click.echo(
            f"{head}: {s.get('import', 0)} new, {s.get('replace', 0)} longer there "
            f"({'would replace' if dry_run else 'replaced'} the copy here), "
            f"{s.get('skip', 0)} identical, {s.get('keep', 0)} longer here."
        )
    if pull.report and pull.report.transaction_id:
        click.echo(f"  transaction {pull.report.transaction_id}")
    reg: dict[str, Any] | None = pull.registration
    if reg and reg.get("codex"):
        for failure in reg.get("failed") or []:
            click.secho(f"  Codex could not register {failure}", fg="yellow")
    for f in pull.in_flight:
        click.echo(f"  in flight, taken next time: {f['path']} ({f['reason']})")
    for name in pull.leftovers:
        click.echo(f"  left by the sync engine, ignored: {name}")
    for s_ in pull.skipped:
        click.secho(f"  skipped {s_['thread']}: {s_['reason']}", fg="yellow")
    if pull.history_only:
        click.echo("  outside every root, kept history-only (as recorded there):")
        for cwd in pull.history_only:
            click.echo(f"    {cwd}")
        click.echo(
            "  to map such projects, name their root on each machine "
            "(codex-migrate sync FOLDER --root NAME=PATH);"
        )
        click.echo("  the threads that came in history-only then move under it at the next sync")
    for c in pull.conflicts:
        click.secho(
            f"  conflict: {c['thread']} ({c.get('title') or 'untitled'}) was continued on both "
            f"machines (differs from line {c['first_difference_line']}); each keeps its own.",
            fg="yellow",
        )
        click.echo(f"    theirs: {c['their_path']}")


def _print_status(report: SyncReport, machines: list[dict[str, Any]]) -> None:
    click.echo(f"{report.home} is machine {report.machine!r} in {report.folder}")
    click.echo(f"  last push: {report.last_push or 'never'}")
    click.echo(f"  waiting to go out: {len(report.push.items)} thread(s)")
    if report.binds:
        click.echo(f"  waiting to move under a root: {len(report.binds)} thread(s)")
    for c in report.my_conflicts:
        click.secho(f"  conflict with {c['machine']!r}: {c['thread']}", fg="yellow")
    pulls = {p.machine: p for p in report.pulls}
    for m in machines:
        if m["machine"] == report.machine:
            continue
        pull = pulls.get(m["machine"])
        click.echo(f"Machine {m['machine']!r} ({m.get('hostname') or '?'}):")
        click.echo(f"  last push: {m['last_push'] or 'never'}, {m['threads']} thread(s)")
        if pull is not None:
            waiting = pull.plan.writes if pull.plan else []
            click.echo(f"  waiting to come in: {len(waiting)} thread(s)")
            click.echo(f"  in flight: {len(pull.in_flight) + len(pull.leftovers)} file(s)")
            for f in pull.in_flight:
                click.echo(f"    {f['path']} ({f['reason']})")
            for name in pull.leftovers:
                click.echo(f"    {name}")
            if pull.error:
                click.secho(f"  {pull.error}", fg="yellow")
        for c in m["conflicts"]:
            click.secho(f"  conflict it reported with {c['machine']!r}: {c['thread']}", fg="yellow")
