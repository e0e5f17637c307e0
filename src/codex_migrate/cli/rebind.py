"""``rebind``: point sessions of a home at the folders their projects live in here."""

from __future__ import annotations

from pathlib import Path

import click

from codex_migrate.cli.common import (
    codex_home_option,
    confirm_write,
    emit_json,
    json_option,
    progress_bar,
)
from codex_migrate.cli.options import (
    _absolute_rules,
    _mapper,
    mapping_options,
    print_home_files,
    rebind_bare_options,
    rewrite_text_option,
)
from codex_migrate.fingerprint import TargetChanged
from codex_migrate.home import open_home
from codex_migrate.rebind import RebindPlan
from codex_migrate.service import home_catalog, preview_rebind, run_rebind


@click.command()
@codex_home_option("The home to repair")
@mapping_options
@rewrite_text_option
@click.option("--thread", "threads", multiple=True, metavar="ID", help="Only this thread.")
@click.option("--all", "all_projects", is_flag=True, help="Every project, not only missing ones.")
@rebind_bare_options
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing.")
@json_option
def rebind(
    codex_home: Path | None,
    maps: tuple[str, ...],
    history_only: tuple[str, ...],
    wsl: bool,
    rewrite_text: bool,
    threads: tuple[str, ...],
    all_projects: bool,
    upgrade_bare: bool,
    bare_cwd: Path | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Repair a home that was copied or synced, in place.

    Projects whose folder is missing here (all with --all) are moved with --map; DB rows that
    point at another home's files, relative or missing paths, rows missing for rollouts,
    names only in session_index.jsonl and a stuck backfill are fixed too. One transaction,
    like import.
    """
    mapper = _mapper(_absolute_rules(maps), history_only, wsl)
    home = open_home(codex_home)

    def make_plan() -> RebindPlan:
        with progress_bar("Reading sessions") as progress:
            catalog = home_catalog(home, progress)
        return preview_rebind(
            catalog,
            mapper,
            thread_ids=list(threads),
            all_projects=all_projects,
            rewrite_text=rewrite_text,
            upgrade_bare=upgrade_bare,
            bare_cwd=str(bare_cwd.absolute()) if bare_cwd else None,
        )

    plan = make_plan()
    if as_json and dry_run:
        emit_json({"dry_run": True, "plan": plan.to_dict()})
        return
    if not as_json:
        print_rebind_plan(plan)
    if plan.empty:
        if as_json:
            emit_json({"dry_run": dry_run, "plan": plan.to_dict(), "report": None})
        else:
            click.echo("Nothing to repair.")
        return
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    confirm_write(yes, "Apply these repairs?")
    while True:
        try:
            with progress_bar("Rewriting sessions") as progress:
                outcome = run_rebind(plan, progress=progress)
            break
        except TargetChanged as exc:
            if yes or as_json:
                raise
            click.secho(f"The home changed since the preview: {', '.join(exc.changes)}.")
            click.echo("The new plan:")
            plan = make_plan()
            print_rebind_plan(plan)
            confirm_write(yes, "Apply these repairs?")
    report = outcome.report
    if as_json:
        emit_json(outcome.to_dict())
        return
    click.secho(
        f"Done in {report.seconds:.1f} s: {report.files} files rewritten, {report.rows} DB rows "
        f"written, {report.dropped} dropped, {report.offsets_translated} history offsets "
        f"translated.",
        fg="green",
    )
    for problem in outcome.problems:
        click.secho(f"  verify: {problem}", fg="yellow")
    click.echo(
        f"Transaction {report.transaction_id}: undo with "
        f"`codex-migrate transactions rollback {report.transaction_id}`."
    )


def print_rebind_plan(plan: RebindPlan) -> None:
    catalog = plan.catalog
    counts = {p.cwd: len(p.thread_ids) for p in catalog.projects}
    click.secho(f"Repair {catalog.home.root}", bold=True)
    if plan.mapping.projects:
        click.echo("Projects:")
        for p in plan.mapping.projects:
            click.echo(f"  {p.recorded}  ({counts.get(p.recorded, 0)} sessions)")
            if p.new_path:
                state = "exists" if p.exists else "does not exist here"
                click.echo(f"    -> {p.new_path}  [{p.rule or 'history only'}] ({state})")
            else:
                click.secho("    no rule: pass --map OLD=NEW", fg="yellow")
    for item in plan.items:
        click.echo(f"  {item.id}  {item.thread.rel_path}")
        if item.new_cwd:
            click.echo(f"      cwd {item.thread.cwd} -> {item.new_cwd}")
        if item.rewrite:
            click.echo(f"      file: {item.values_changed} path values rewritten in place")
        if item.row_action:
            click.echo(f"      DB row {item.row_action}: {'; '.join(item.reasons) or 'new cwd'}")
    for tid in plan.drop_rows:
        click.echo(f"  {tid}  DB row dropped: no rollout file in this home")
    if plan.reset_backfill:
        click.echo("  backfill_state: 'running' reset so Codex rescans the rollouts")
    for note in plan.bare_notes:
        click.secho(f"  {note}", fg="yellow")
    print_home_files(sorted(plan.files))
