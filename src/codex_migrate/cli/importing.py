"""``import``: copy sessions from another home into this one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import click

from codex_migrate.catalog import Catalog
from codex_migrate.cli.common import (
    PlainItems,
    codex_home_option,
    confirm_write,
    emit_json,
    json_option,
    progress_bar,
    shorten,
)
from codex_migrate.cli.options import (
    _absolute_rules,
    _mapper,
    bare_options,
    mapping_options,
    print_home_files,
    print_mapping,
    rewrite_text_option,
)
from codex_migrate.damage import CODEX_EFFECT
from codex_migrate.errors import UsageError
from codex_migrate.fingerprint import TargetChanged
from codex_migrate.home import default_home, open_target
from codex_migrate.plan import ON_CONFLICT, ImportPlan, raise_on_conflicts
from codex_migrate.projectfiles import for_import
from codex_migrate.service import preview_import, run_import
from codex_migrate.source import open_source


def print_plan(plan: ImportPlan) -> None:
    click.secho(f"Import from {plan.source.home.root}", bold=True)
    click.secho(f"       into {plan.target.home.root}", bold=True)
    print_mapping(plan.mapping)
    click.echo("")
    labels = {
        "import": "import",
        "skip": "skip (identical)",
        "replace": "replace (target is a prefix)",
        "keep": "keep target (source is a prefix)",
        "conflict": "CONFLICT",
        "skip-damaged": "left out (damaged)",
    }
    for item in plan.items:
        title = shorten(item.thread.name or item.thread.title or "(untitled)", 48)
        flag = " [archived]" if item.archived else ""
        label = labels[item.action]
        if item.action == "conflict":
            label = click.style(f"{label} at line {item.first_difference}", fg="red")
        click.echo(f"  {item.id}  {label:<32} {title}{flag}")
    _print_damage(plan)
    summary = ", ".join(f"{n} {a}" for a, n in plan.summary().items() if n)
    click.echo(f"\nPlan: {summary or 'nothing selected'}.")
    upgraded = sum(1 for i in plan.writes if i.bare_cwd is not None)
    if upgraded:
        click.echo(
            f"{upgraded} sessions in the 2025 format are converted so current Codex lists and "
            "resumes them (originals kept under codex-migrate/bare-originals/)."
        )
    for note in plan.bare_notes:
        click.secho(f"  {note}", fg="yellow")
    print_home_files(sorted(for_import(plan)))


def _print_damage(plan: ImportPlan, *, unreadable: bool = True) -> None:
    """Say before any write which rollouts have unreadable lines, and which files could not
    be read at all (left out). A plan applied at once (``--yes``) found the damage while
    writing: it is said after the write, with the same words."""
    if plan.damaged:
        skipping = any(i.action == "skip-damaged" for i in plan.damaged)
        what = "left out (--skip-damaged)" if skipping else "imported with their bytes as they are"
        click.secho(f"\nDamaged rollouts, {what}:", fg="yellow")
        for item in plan.damaged:
            assert item.damage is not None
            click.echo(f"  {item.thread.rollout_path}")
            click.echo(f"    {item.damage.describe()}")
        click.echo(f"  {CODEX_EFFECT}")
        if not skipping:
            click.echo("  To leave these threads out instead, run again with --skip-damaged.")
    if plan.source.unreadable and unreadable:
        click.secho("\nLeft out, cannot be read:", fg="yellow")
        for entry in plan.source.unreadable:
            click.echo(f"  {entry['path']}: {entry['reason']}")


def _refuse_same_home(source: Path, target: Path) -> None:
    same = source.resolve() == target.resolve()
    with contextlib.suppress(OSError):
        same = same or os.path.samefile(source, target)
    if same:
        raise UsageError(
            f"SOURCE and the target are the same home ({source}).",
            hint="Pass the home to import into with --codex-home (default ~/.codex).",
            code="same-home",
        )


@click.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@codex_home_option("The home to import into")
@mapping_options
@rewrite_text_option
@click.option("--project", "projects", multiple=True, metavar="CWD", help="Import this project.")
@click.option("--thread", "threads", multiple=True, metavar="ID", help="Import this thread.")
@click.option("--exclude-thread", "exclude", multiple=True, metavar="ID", help="Leave it out.")
@click.option(
    "--codex-bin",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The Codex binary used to register imported threads (default: `codex` on PATH).",
)
@click.option("--no-codex", is_flag=True, help="Do not run Codex after the import.")
@click.option(
    "--skip-damaged",
    is_flag=True,
    help="Leave out threads whose rollout has unreadable lines (default: import them with "
    "their bytes as they are, after saying so in the plan; with --yes, in the report).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(ON_CONFLICT),
    default=None,
    help="When a thread differs in both homes: keep this computer's version (keep-target) or "
    "leave it out of this import (skip). Default: stop before writing. Never spliced.",
)
@bare_options
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing.")
@json_option
def import_(
    source: Path,
    codex_home: Path | None,
    maps: tuple[str, ...],
    history_only: tuple[str, ...],
    wsl: bool,
    rewrite_text: bool,
    projects: tuple[str, ...],
    threads: tuple[str, ...],
    exclude: tuple[str, ...],
    codex_bin: Path | None,
    no_codex: bool,
    skip_damaged: bool,
    on_conflict: str | None,
    upgrade_bare: bool,
    bare_cwd: Path | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Merge sessions from SOURCE (a home, copy or backup) into a Codex home.

    Threads are matched by id: new ones are imported, identical ones skipped, a shorter copy
    is replaced by the longer one, and any real divergence stops everything before a write
    (exit status 5). Every write is one transaction: see `codex-migrate transactions`.
    """
    mapper = _mapper(_absolute_rules(maps), history_only, wsl)
    # A backup archive is verified and extracted for as long as the command runs.
    src_home = click.get_current_context().with_resource(open_source(source))
    target_path = (codex_home or default_home()).absolute()
    _refuse_same_home(src_home.root, target_path)
    tgt_home = open_target(target_path)
    # The target may be the folder that holds the home (X for X/.codex): compare the homes.
    _refuse_same_home(src_home.root, tgt_home.root)

    def make_plan(src_cat: Catalog | None = None) -> ImportPlan:
        with progress_bar("Reading sessions") as progress:
            return preview_import(
                src_cat or src_home,
                target_path,
                mapper,
                projects=list(projects),
                threads=list(threads),
                exclude=list(exclude),
                rewrite_text=rewrite_text,
                skip_damaged=skip_damaged,
                progress=progress,
                upgrade_bare=upgrade_bare,
                bare_cwd=str(bare_cwd.absolute()) if bare_cwd else None,
                on_conflict=on_conflict,
                # Nobody is asked to confirm: the write finds the damage as it reads.
                check_damage=dry_run or not yes,
            )

    plan = make_plan()
    if as_json and (dry_run or plan.conflicts):
        emit_json(
            {
                "dry_run": dry_run,
                "plan": _plain_threads(plan.to_dict(lazy=True)),
                "home_files": sorted(for_import(plan)),
            }
        )
    elif not as_json:
        print_plan(plan)
    raise_on_conflicts(plan)
    if dry_run:
        if not as_json:
            click.echo("Dry run: nothing was written.")
        return
    confirm_write(yes, "Apply this plan?")
    while True:
        try:
            with progress_bar("Copying sessions") as progress:
                outcome = run_import(
                    plan, codex_bin=codex_bin, no_codex=no_codex, progress=progress
                )
            break
        except TargetChanged as exc:
            if yes or as_json:
                raise  # a script gets its own exit status and runs again
            # A person sees what changed and the new plan, and is asked again.
            click.secho(f"The target changed since the preview: {', '.join(exc.changes)}.")
            click.echo("The new plan:")
            plan = make_plan(plan.source)
            print_plan(plan)
            raise_on_conflicts(plan)
            confirm_write(yes, "Apply this plan?")
    report, reg = outcome.report, outcome.registration
    if as_json:
        data = outcome.to_dict(lazy=True)
        data["plan"] = _plain_threads(data["plan"])
        emit_json(data)
        return
    for tx in report.recovered:
        click.echo(f"Recovered an interrupted transaction first: {tx} (rolled back).")
    if report.transaction_id is None:
        click.echo("Nothing to write: the target already has all of it.")
        return
    click.secho(
        f"Done in {report.seconds:.1f} s: {plan.count('import')} imported, "
        f"{plan.count('replace')} replaced, {plan.count('skip')} skipped, "
        f"{plan.count('keep')} kept; {report.rows_written} DB rows, "
        f"{report.names_written} names, {report.history_entries} prompt-history entries, "
        f"{report.bytes_written / 1e6:.1f} MB.",
        fg="green",
    )
    if plan.target.home.state_db is None:
        click.echo("The target has no state DB yet: Codex builds it from the rollouts.")
    if reg.index_carried:
        click.echo(f"{reg.index_carried} threads open at once: their turn index came with them.")
    if reg.paginated:
        if reg.codex:
            click.echo(
                f"Codex ({reg.codex}, found in {reg.found_in}) registered "
                f"{reg.threads} paginated threads' history in {reg.seconds:.1f} s."
            )
            for failure in reg.failed:
                click.secho(f"  could not register {failure}", fg="yellow")
        else:
            click.echo(
                f"{len(reg.paginated)} paginated threads have no turn index yet and no Codex was "
                "found (PATH, npm global prefix, Desktop app): Codex shows their turns after "
                "each is resumed once; or run the import again with --codex-bin."
            )
            if plan.target.home.history_db is None:
                click.echo(
                    "  (This home has no thread_history_1.sqlite yet, so the turn index could "
                    "not come along: after a first Codex session here, import again.)"
                )
    if not plan.damage_checked:
        _print_damage(plan, unreadable=False)
    for problem in outcome.problems:
        click.secho(f"  verify: {problem}", fg="yellow")
    click.echo(
        f"Transaction {report.transaction_id}: undo with "
        f"`codex-migrate transactions rollback {report.transaction_id}`."
    )


def _plain_threads(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan's threads, written one by one as they are made and encoded by orjson (see
    :class:`PlainItems`: a third of the stdlib encoder's time for thousands of threads)."""
    plan["threads"] = PlainItems(plan["threads"])
    return plan
