"""The command line: a thin Click face over the engine. It parses, calls, and prints."""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from codex_migrate import __version__
from codex_migrate.catalog import Catalog, build_catalog, cwd_exists
from codex_migrate.cli_common import F, confirm_write, emit_json, json_option, progress_bar
from codex_migrate.codex_app import CodexAppError, project_threads
from codex_migrate.codexbin import locate_codex
from codex_migrate.errors import EXIT_FAILURE, CodexMigrateError, HomeNotFound
from codex_migrate.home import CodexHome, default_home, open_home
from codex_migrate.importer import apply_import, restore_times
from codex_migrate.inuse import HomeLock, ensure_not_running
from codex_migrate.launcher import command_line, version_message
from codex_migrate.pathmap import MappingPlan, PathMapper
from codex_migrate.paths import try_parse
from codex_migrate.plan import ImportPlan, build_import_plan, raise_on_conflicts
from codex_migrate.rebind import RebindPlan, apply_rebind, build_rebind_plan
from codex_migrate.source import open_source
from codex_migrate.transaction import Journal, list_transactions, undo_committed
from codex_migrate.transaction import recover as recover_transactions
from codex_migrate.verify import verify_home

#: Commands that live in modules of their own, imported only when used, so `scan` does not
#: pay for the web UI's or the exporter's imports. name -> "module:attribute".
LAZY_COMMANDS = {
    "backup": "codex_migrate.cli_backup:backup_command",
    "verify-backup": "codex_migrate.cli_backup:verify_backup_command",
    "doctor": "codex_migrate.cli_doctor:doctor",
    "export-html": "codex_migrate.cli_export:export_html",
    "export-md": "codex_migrate.cli_export:export_md",
    "ui": "codex_migrate.cli_ui:ui_command",
    "sync": "codex_migrate.cli_sync:sync_command",
}


class Group(click.Group):
    """Turns engine errors into a message and an exit status instead of a traceback, and
    loads the commands of :data:`LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CodexMigrateError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except (OSError, sqlite3.Error) as exc:
            # Writes roll back before this point; say what failed, not where in our code.
            click.secho(f"Error: {exc}", fg="red", err=True)
            click.echo("Hint: nothing was left half-done; see `codex-migrate recover`.", err=True)
            ctx.exit(EXIT_FAILURE)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codex-migrate", message=version_message())
def cli() -> None:
    """Move OpenAI Codex conversation history between machines, and keep it usable there.

    Every command reads or writes a Codex home (default: $CODEX_HOME, else ~/.codex).
    """


def _mapper(maps: tuple[str, ...], history_only: tuple[str, ...], wsl: bool) -> PathMapper:
    try:
        return PathMapper(maps, history_only=history_only, wsl=wsl)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map/--history-only") from exc


def _absolute_rules(maps: tuple[str, ...]) -> tuple[str, ...]:
    """Relative NEW folders given by the user are resolved: every path we write is absolute."""
    out = []
    for text in maps:
        old, sep, new = text.rpartition("=")
        if sep and new and not try_parse(new) and not new.startswith(("\\", "/")):
            new = str(Path(new).absolute())
            text = f"{old}={new}"
        out.append(text)
    return tuple(out)


def rewrite_text_option(f: F) -> F:
    return click.option(
        "--rewrite-text",
        is_flag=True,
        help="Also rewrite mapped paths inside free text (<environment_context>, image "
        "wrappers, AGENTS.md headers). Off by default: it is a record of what the model saw.",
    )(f)


def mapping_options(f: F) -> F:
    f = click.option(
        "--wsl",
        is_flag=True,
        help="Let a drive rule (D:\\x) also match its WSL mount (/mnt/d/x), and back.",
    )(f)
    f = click.option(
        "--history-only",
        "history_only",
        multiple=True,
        metavar="OLD",
        help="Keep this project (and all under it) with its recorded path.",
    )(f)
    f = click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="OLD=NEW",
        help="Bind an old project folder (and everything under it) to a folder here.",
    )(f)
    return f


@cli.command()
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("-t", "--threads", "show_threads", is_flag=True, help="List threads per project.")
@mapping_options
@json_option
def scan(
    source: Path | None,
    show_threads: bool,
    maps: tuple[str, ...],
    history_only: tuple[str, ...],
    wsl: bool,
    as_json: bool,
) -> None:
    """Show every session in a Codex home, copy or backup, grouped by project.

    SOURCE defaults to $CODEX_HOME, else ~/.codex. It may also be a copied folder, a
    Codex_backup/ folder or archive, or a folder holding exactly one of those. With --map, also show
    where each project would go. Nothing is written.
    """
    mapper = _mapper(_absolute_rules(maps), history_only, wsl) if maps or history_only else None
    home = click.get_current_context().with_resource(open_source(source))
    with progress_bar("Reading sessions") as progress:
        catalog = build_catalog(home, progress)
    mapping = None
    if mapper is not None:
        mapping = mapper.plan([p.cwd for p in catalog.projects if p.cwd], exists=cwd_exists)
    if as_json:
        data = catalog.to_dict()
        if mapping is not None:
            data["mapping"] = mapping.to_dict()
        emit_json(data)
        return
    print_catalog(catalog, show_threads=show_threads)
    if mapping is not None:
        click.echo("")
        print_mapping(mapping)


def print_mapping(mapping: MappingPlan) -> None:
    click.secho("Where each project would go:", bold=True)
    for p in mapping.projects:
        if p.status.value == "mapped":
            where = "" if p.exists else click.style("  (folder does not exist here)", fg="yellow")
            click.echo(f"  {p.recorded}\n    -> {p.new_path}   [{p.rule}]{where}")
        elif p.status.value == "history_only":
            click.echo(f"  {p.recorded}\n    kept as recorded (history only)")
        elif cwd_exists(p.recorded):
            click.echo(f"  {p.recorded}\n    kept (exists on this machine)")
        else:
            click.echo(click.style(f"  {p.recorded}\n    NOT MAPPED", fg="yellow"))
    for rule in mapping.unused_rules:
        click.secho(f"  rule {rule} matches no project", fg="yellow")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_catalog(catalog: Catalog, *, show_threads: bool = False) -> None:
    home = catalog.home
    click.secho(f"Codex home: {home.root}", bold=True, nl=False)
    click.echo(f"  ({home.kind})")
    if home.state_db:
        status = catalog.db.backfill_status if catalog.db else None
        extra = f", backfill {status}" if status else ""
        click.echo(f"State DB:   {home.state_db.name} (v{home.state_version}{extra})")
    else:
        click.echo("State DB:   none (Codex builds it from the rollouts)")
    if catalog.db_error:
        click.secho(f"State DB unreadable: {catalog.db_error}", fg="yellow")
    click.echo("")
    if not catalog.threads:
        click.echo("No sessions found.")
    else:
        width = max(20, min(70, max(len(p.cwd or "(no cwd)") for p in catalog.projects)))
        click.secho(f"{'PROJECT':<{width}}  {'THREADS':>7}  {'ARCHIVED':>8}  FOLDER", bold=True)
        by_id = {t.id: t for t in catalog.threads}
        for p in catalog.projects:
            label = _shorten(p.cwd or "(no cwd)", width)
            folder = "exists" if p.exists else click.style("missing", fg="yellow")
            click.echo(f"{label:<{width}}  {len(p.thread_ids):>7}  {p.archived:>8}  {folder}")
            if show_threads:
                for tid in p.thread_ids:
                    t = by_id[tid]
                    flag = " [archived]" if t.archived else ""
                    name = t.name or t.title or "(untitled)"
                    click.echo(f"    {t.id}  {_shorten(name, 60)}{flag}")
    archived = sum(1 for t in catalog.threads if t.archived)
    missing = sum(1 for p in catalog.projects if not p.exists)
    click.echo("")
    click.echo(
        f"{len(catalog.threads)} threads in {len(catalog.projects)} projects; "
        f"{archived} archived; {missing} project folders missing on this machine."
    )
    _print_problems(catalog)


def _print_problems(catalog: Catalog) -> None:
    lines: list[str] = []
    for t in catalog.threads:
        for problem in t.problems:
            lines.append(f"  {t.id}  {t.rel_path}: {problem}")
    for r in catalog.orphan_rows:
        lines.append(f"  {r.id}  (DB row) {r.reason}")
    for u in catalog.unreadable:
        lines.append(f"  {u['path']}: {u['reason']}")
    if not lines:
        return
    click.secho(f"Problems found ({len(lines)}):", fg="yellow")
    for line in lines[:50]:
        click.echo(line)
    if len(lines) > 50:
        click.echo(f"  … and {len(lines) - 50} more (see --json)")


@cli.command()
@click.option(
    "--path",
    "target",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to build the demo home (default: a folder in the system temp dir).",
)
def demo(target: Path | None) -> None:
    """Build a demo Codex home with sessions from a Mac, and scan it.

    Safe to run anywhere: it only writes the demo folder.
    """
    from codex_migrate.demo import build_demo_home, default_demo_dir

    root = target or default_demo_dir()
    home_path = build_demo_home(root)
    click.secho(f"Built a demo Codex home at {home_path}", bold=True)
    click.echo("It holds sessions recorded on a Mac under /Users/alex/Projects/…\n")
    catalog = build_catalog(open_home(home_path))
    print_catalog(catalog, show_threads=True)
    click.echo("")
    click.secho("Try next:", bold=True)
    click.echo(f"  codex-migrate scan {home_path} --json")
    click.echo(f"  codex-migrate scan {home_path} --threads")


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
    }
    for item in plan.items:
        title = _shorten(item.thread.name or item.thread.title or "(untitled)", 48)
        flag = " [archived]" if item.archived else ""
        label = labels[item.action]
        if item.action == "conflict":
            label = click.style(f"{label} at line {item.first_difference}", fg="red")
        click.echo(f"  {item.id}  {label:<32} {title}{flag}")
    summary = ", ".join(f"{n} {a}" for a, n in plan.summary().items() if n)
    click.echo(f"\nPlan: {summary or 'nothing selected'}.")


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--codex-home",
    type=click.Path(path_type=Path),
    default=None,
    help="The home to import into (default: $CODEX_HOME, else ~/.codex).",
)
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
    if src_home.root.resolve() == target_path.resolve():
        raise CodexMigrateError("SOURCE and the target are the same home.")
    tgt_home = open_target(target_path)
    with progress_bar("Reading sessions") as progress:
        src_cat = build_catalog(src_home, progress)
        tgt_cat = build_catalog(tgt_home, progress)
        plan = build_import_plan(
            src_cat,
            tgt_cat,
            mapper,
            projects=list(projects),
            threads=list(threads),
            exclude=list(exclude),
            rewrite_text=rewrite_text,
            progress=progress,
        )
    if as_json and (dry_run or plan.conflicts):
        emit_json({"dry_run": dry_run, "plan": plan.to_dict()})
    elif not as_json:
        print_plan(plan)
    raise_on_conflicts(plan)
    if dry_run:
        if not as_json:
            click.echo("Dry run: nothing was written.")
        return
    confirm_write(yes, "Apply this plan?")
    target_path.mkdir(parents=True, exist_ok=True)
    with progress_bar("Copying sessions") as progress:
        report = apply_import(plan, progress)
    # Threads whose turn index came with them open at once; Codex projects only the rest.
    carried = set(report.index_carried)
    paginated = [
        i.id for i in plan.writes if i.thread.history_mode == "paginated" and i.id not in carried
    ]
    archived = frozenset(i.id for i in plan.writes if i.archived)
    registered: dict[str, Any] = {
        "codex": None,
        "found_in": None,
        "threads": 0,
        "failed": [],
        "index_carried": len(carried),
    }
    found = None if no_codex else locate_codex(codex_bin)
    binary = found.path if found else None
    # A home without a state DB gets none from us, and Codex's own rebuild does not read
    # session_index.jsonl (measured): names are then set through Codex itself.
    names = (
        {i.id: i.thread.name for i in plan.items if i.thread.name and i.action != "keep"}
        if tgt_home.state_db is None
        else {}
    )
    if report.transaction_id and (paginated or names) and binary is not None:
        registered["codex"] = str(binary)
        registered["found_in"] = found.where if found else None
        try:
            registered["failed"] = project_threads(
                binary, tgt_home.root, paginated, archived, names=names
            )
        except (OSError, CodexAppError) as exc:
            registered["failed"] = [str(exc)]
        registered["threads"] = len(paginated) - len(registered["failed"])
        registered["names"] = len(names)
        restore_times(plan, [t for t in paginated if t in archived])
    if as_json:
        emit_json(
            {
                "dry_run": False,
                "plan": plan.to_dict(),
                "report": report.to_dict(),
                "codex_registration": registered,
            }
        )
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
    if tgt_home.state_db is None:
        click.echo("The target has no state DB yet: Codex builds it from the rollouts.")
    if carried:
        click.echo(f"{len(carried)} threads open at once: their turn index came with them.")
    if paginated:
        if registered["codex"]:
            click.echo(
                f"Codex ({registered['codex']}, found in {registered['found_in']}) registered "
                f"{registered['threads']} paginated threads' history."
            )
            for failure in registered["failed"]:
                click.secho(f"  could not register {failure}", fg="yellow")
        else:
            click.echo(
                f"{len(paginated)} paginated threads have no turn index yet and no Codex was "
                "found (PATH, npm global prefix, Desktop app): Codex shows their turns after "
                "each is resumed once; or run the import again with --codex-bin."
            )
    click.echo(
        f"Transaction {report.transaction_id}: undo with "
        f"`codex-migrate transactions rollback {report.transaction_id}`."
    )


def open_target(path: Path) -> CodexHome:
    """A target home may be new or empty: accept it as it is."""
    try:
        return open_home(path)
    except HomeNotFound:
        if path.is_dir() or not path.exists():
            return CodexHome(root=path, kind="home")
        raise


@cli.command()
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
@json_option
def recover(codex_home: Path | None, as_json: bool) -> None:
    """Roll back any transaction a crash or kill left unfinished."""
    home = open_target((codex_home or default_home()).absolute())
    with HomeLock(home.transactions_dir):
        done = recover_transactions(home.transactions_dir)
    if as_json:
        emit_json({"rolled_back": done})
    elif done:
        for tx in done:
            click.echo(f"Rolled back unfinished transaction {tx}.")
    else:
        click.echo("Nothing to recover.")


@cli.group()
def transactions() -> None:
    """Inspect, undo or delete past transactions of a home."""


def _tx_home(codex_home: Path | None) -> CodexHome:
    return open_target((codex_home or default_home()).absolute())


def _find_tx(home: CodexHome, tx_id: str) -> tuple[Path, Journal]:
    for tx_dir, journal in list_transactions(home.transactions_dir):
        if tx_dir.name == tx_id and journal is not None:
            return tx_dir, journal
    raise CodexMigrateError(f"no transaction {tx_id} in {home.transactions_dir}.")


@transactions.command("list")
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
@json_option
def tx_list(codex_home: Path | None, as_json: bool) -> None:
    """List transactions, oldest first."""
    home = _tx_home(codex_home)
    rows: list[dict[str, Any]] = []
    for tx_dir, j in list_transactions(home.transactions_dir):
        size = sum(p.stat().st_size for p in tx_dir.rglob("*") if p.is_file())
        rows.append(
            {
                "id": tx_dir.name,
                "kind": j.kind if j else "?",
                "state": j.state if j else "unreadable",
                "created": j.created if j else None,
                "threads": len(j.threads) if j else 0,
                "snapshot_bytes": size,
            }
        )
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
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
def tx_show(tx_id: str, codex_home: Path | None) -> None:
    """Print a transaction's journal."""
    _, journal = _find_tx(_tx_home(codex_home), tx_id)
    emit_json(journal.to_dict())


@transactions.command("rollback")
@click.argument("tx_id")
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
@click.option("--dry-run", is_flag=True, help="Say what would be undone; change nothing.")
def tx_rollback(tx_id: str, codex_home: Path | None, dry_run: bool) -> None:
    """Undo a committed transaction (refused if its threads changed since)."""
    home = _tx_home(codex_home)
    tx_dir, journal = _find_tx(home, tx_id)
    if dry_run:
        click.echo(
            f"Would remove {len(journal.creates)} files, restore "
            f"{len(journal.replaces) + len(journal.removes)}, and put back the DB rows of "
            f"{len(journal.threads)} threads."
        )
        return
    with HomeLock(home.transactions_dir):
        ensure_not_running(home.root)
        undo_committed(tx_dir, journal)
    click.echo(f"Rolled back {tx_id}.")


@transactions.command("delete")
@click.argument("tx_id")
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
def tx_delete(tx_id: str, codex_home: Path | None) -> None:
    """Delete a finished transaction's snapshot (it can no longer be rolled back)."""
    home = _tx_home(codex_home)
    tx_dir, journal = _find_tx(home, tx_id)
    if journal.state not in ("committed", "rolled_back"):
        raise CodexMigrateError(f"{tx_id} is unfinished; run `codex-migrate recover` first.")
    shutil.rmtree(tx_dir)
    click.echo(f"Deleted {tx_id}.")


@cli.command()
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
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


@cli.command()
@click.option("--codex-home", type=click.Path(path_type=Path), default=None)
@mapping_options
@rewrite_text_option
@click.option("--thread", "threads", multiple=True, metavar="ID", help="Only this thread.")
@click.option("--all", "all_projects", is_flag=True, help="Every project, not only missing ones.")
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
    with progress_bar("Reading sessions") as progress:
        catalog = build_catalog(home, progress)
    plan = build_rebind_plan(
        catalog,
        mapper,
        thread_ids=list(threads),
        all_projects=all_projects,
        rewrite_text=rewrite_text,
    )
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
    with progress_bar("Rewriting sessions") as progress:
        report = apply_rebind(plan, progress)
    if as_json:
        emit_json({"dry_run": False, "plan": plan.to_dict(), "report": report.to_dict()})
        return
    click.secho(
        f"Done in {report.seconds:.1f} s: {report.files} files rewritten, {report.rows} DB rows "
        f"written, {report.dropped} dropped, {report.offsets_translated} history offsets "
        f"translated.",
        fg="green",
    )
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


def main() -> None:
    cli(args=command_line(sys.argv[1:]), prog_name="codex-migrate")
