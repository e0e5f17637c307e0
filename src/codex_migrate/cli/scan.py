"""``scan`` and ``demo``: read a home and show its sessions by project; write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codex_migrate.catalog import Catalog, cwd_exists
from codex_migrate.cli import collector
from codex_migrate.cli.common import PlainItems, emit_json, json_option, progress_bar, shorten
from codex_migrate.cli.options import _absolute_rules, _mapper, mapping_options, print_mapping
from codex_migrate.service import HomeScan, home_catalog, listed_catalog, scan_home
from codex_migrate.service.checks import NOTE, PROBLEM
from codex_migrate.source import open_source

if TYPE_CHECKING:
    from codex_migrate.pathmap import MappingPlan

#: Threads and files listed per finding code before pointing at --json.
MAX_PER_CODE = 10


@click.command()
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

    Problems and notes are doctor's findings, with the same codes and counts: each names its
    thread and file (relative to the home) and its fix; --json lists them under "findings".
    """
    mapper = _mapper(_absolute_rules(maps), history_only, wsl) if maps or history_only else None
    ctx = click.get_current_context()
    ctx.with_resource(collector.paused())  # see collector.paused
    home = ctx.with_resource(open_source(source))
    with progress_bar("Reading sessions") as progress:
        catalog = listed_catalog(home, progress)
    mapping = None
    if mapper is not None:
        mapping = mapper.plan([p.cwd for p in catalog.projects if p.cwd], exists=cwd_exists)
    found = scan_home(catalog)
    if as_json:
        emit_json(_scan_json(catalog, found, mapping))
        return
    print_catalog(catalog, found, show_threads=show_threads)
    if mapping is not None:
        click.echo("")
        print_mapping(mapping)


def _scan_json(catalog: Catalog, found: HomeScan, mapping: MappingPlan | None) -> dict[str, Any]:
    """``scan --json``'s document, written as encoded, thread by thread (see emit_json):
    memory stays flat."""
    data = catalog.to_dict(lazy=True)
    data.update(found.to_dict(lazy=True))
    problems: dict[str, list[str]] = {}
    for f in found.findings:
        if f.thread is not None and f.severity == PROBLEM:
            problems.setdefault(f.thread, []).append(f.message)
    data["threads"] = PlainItems(_with_problems(data["threads"], problems))
    data["findings"] = PlainItems(data["findings"])
    if mapping is not None:
        data["mapping"] = mapping.to_dict()
    return data


def _with_problems(
    threads: Iterator[dict[str, Any]], problems: dict[str, list[str]]
) -> Iterator[dict[str, Any]]:
    """Each thread's problems as the doctor words them (the key keeps its place)."""
    for t in threads:
        t["problems"] = problems.get(t["id"], [])
        yield t


def print_catalog(catalog: Catalog, found: HomeScan, *, show_threads: bool = False) -> None:
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
            label = shorten(p.cwd or "(no cwd)", width)
            folder = "exists" if p.exists else click.style("missing", fg="yellow")
            click.echo(f"{label:<{width}}  {len(p.thread_ids):>7}  {p.archived:>8}  {folder}")
            if show_threads:
                for tid in p.thread_ids:
                    t = by_id[tid]
                    flag = " [archived]" if t.archived else ""
                    name = t.name or t.title or "(untitled)"
                    click.echo(f"    {t.id}  {shorten(name, 60)}{flag}")
    archived = sum(1 for t in catalog.threads if t.archived)
    missing = sum(1 for p in catalog.projects if not p.exists)
    click.echo("")
    click.echo(
        f"{len(catalog.threads)} threads in {len(catalog.projects)} projects; "
        f"{archived} archived; {missing} project folders missing on this machine."
    )
    print_findings(found)


def print_findings(found: HomeScan) -> None:
    """The home's findings grouped by code, problems first: what each means, its fix, and the
    threads and files it was found in (the same findings and counts as ``doctor``)."""
    for severity, label, colour in ((PROBLEM, "Problems found", "yellow"), (NOTE, "Notes", None)):
        groups = {c: g for c, g in found.by_code.items() if g["severity"] == severity}
        if not groups:
            continue
        total = sum(g["count"] for g in groups.values())
        click.echo("")
        click.secho(f"{label} ({total}):", fg=colour, bold=True)
        for code, g in groups.items():
            click.echo(f"  {code} × {g['count']}: {g['summary']}")
            items = [f for f in found.findings if f.code == code]
            shown_fix = None
            for f in items[:MAX_PER_CODE]:
                file = f.file if f.file and f.file not in f.message else None
                names_it = file and f.thread and f.thread in file
                where = file if names_it else "  ".join(x for x in (f.thread, file) if x)
                click.echo(f"    {where}: {f.message}" if where else f"    {f.message}")
                if f.fix != shown_fix:
                    click.echo(f"      fix: {f.fix}")
                    shown_fix = f.fix
            if len(items) > MAX_PER_CODE:
                click.echo(f"    … and {len(items) - MAX_PER_CODE} more (see --json)")


@click.command()
@click.option(
    "--path",
    "target",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to build the demo home (default: a folder in the system temp dir).",
)
@click.option("--dry-run", is_flag=True, help="Say where the demo would be built; write nothing.")
@json_option
def demo(target: Path | None, dry_run: bool, as_json: bool) -> None:
    """Build a demo Codex home with sessions from a Mac, and scan it.

    Safe to run anywhere: it only writes the demo folder (replacing an earlier demo there,
    never any other folder). --json prints the scan's JSON with "demo_home" first.
    """
    from codex_migrate.demo import (
        build_demo_home,
        default_demo_dir,
        demo_home_in,
        holds_earlier_demo,
    )

    root = target or default_demo_dir()
    if dry_run:
        replaces = holds_earlier_demo(root)  # refuses a folder that is not a demo's
        if as_json:
            emit_json({"dry_run": True, "demo_home": str(demo_home_in(root)), "replaces": replaces})
            return
        again = " (replacing the earlier demo there)" if replaces else ""
        click.echo(f"Would build a demo Codex home at {demo_home_in(root)}{again}.")
        click.echo("Dry run: nothing was written.")
        return
    home_path = build_demo_home(root)
    catalog = home_catalog(home_path)
    if as_json:
        emit_json({"demo_home": str(home_path), **_scan_json(catalog, scan_home(catalog), None)})
        return
    click.secho(f"Built a demo Codex home at {home_path}", bold=True)
    click.echo("It holds sessions recorded on a Mac under /Users/alex/Projects/…\n")
    print_catalog(catalog, scan_home(catalog), show_threads=True)
    click.echo("")
    click.secho("Try next:", bold=True)
    click.echo(f"  codex-migrate scan {home_path} --json")
    click.echo(f"  codex-migrate scan {home_path} --threads")
